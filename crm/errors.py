"""Domain errors raised by CRM services; the edges turn them into 4xx answers."""

from __future__ import annotations


class CRMError(Exception):
    """Base of every error a CRM service raises on purpose."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFailed(CRMError):
    """One or more fields are invalid; ``errors`` maps field name to message."""

    status_code = 422

    def __init__(self, errors: dict[str, str]) -> None:
        fields = ", ".join(sorted(errors))
        super().__init__(f"Please correct: {fields}.")
        self.errors = errors


class NotFound(CRMError):
    """The record does not exist (or the user may not know it exists)."""

    status_code = 404


class DuplicateEmail(CRMError):
    """Another contact already has this email address."""

    status_code = 409

    def __init__(self, email: str, existing_id: int, deleted: bool = False) -> None:
        if deleted:
            msg = (
                f"A deleted contact (#{existing_id}) has the email {email}. "
                "Restore it instead of creating a second record."
            )
        else:
            msg = f"Contact #{existing_id} already has the email {email}."
        super().__init__(msg)
        self.existing_id = existing_id
        self.deleted = deleted


class ConsentError(CRMError):
    """A status change would break a consent rule (such as re-subscribing an opt-out)."""

    status_code = 409


class InvalidCursor(CRMError):
    """A pagination cursor that was not issued by us."""

    status_code = 400


class AuthError(CRMError):
    """Bad credentials, a bad token or a forbidden account change."""

    status_code = 401

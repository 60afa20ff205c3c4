"""A contact CRM for unions and progressive organizations, as a Flask extension."""

from __future__ import annotations

from .errors import CRMError
from .extension import CRM, CRMState, SetupError
from .migrations_path import MIGRATIONS_DIR
from .models import Base

__all__ = ["CRM", "MIGRATIONS_DIR", "Base", "CRMError", "CRMState", "SetupError"]

"""Rate limits for the public response pages (flask-limiter), one limiter per app.

Each app gets its own ``Limiter`` with its own storage, so two apps in one process (tests
build many) never count each other's requests. The limit is read from the config on every
request, so an app can lower it or turn it off (an empty ``CRM_RESPONSE_RATE_LIMIT``) after
it was built. Requests are counted per client address: behind a proxy, the host must apply
``ProxyFix`` so that address is the visitor's, not the proxy's.
"""

from __future__ import annotations

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

EXTENSION_KEY = "campaigns_limiter"
DEFAULT_LIMIT = "30 per minute"
DEFAULT_STORAGE = "memory://"


def _limit_value() -> str:
    return str(current_app.config.get("CRM_RESPONSE_RATE_LIMIT") or DEFAULT_LIMIT)


def _limits_off() -> bool:
    return not current_app.config.get("CRM_RESPONSE_RATE_LIMIT", DEFAULT_LIMIT)


def install(app: Flask) -> Limiter:
    """Give the app its limiter and limit the public response pages with it (once per app)."""
    existing: Limiter | None = app.extensions.get(EXTENSION_KEY)
    if existing is not None:
        return existing  # a second limit on the blueprint would count every request twice
    from .respond_views import respond_bp

    # An explicit storage keeps flask-limiter from using the host's own RATELIMIT_STORAGE_URI,
    # and memory:// is a fresh store for this app alone.
    limiter = Limiter(key_func=get_remote_address, headers_enabled=False,
                      storage_uri=str(app.config.get("CRM_RATELIMIT_STORAGE_URI")
                                      or DEFAULT_STORAGE),
                      key_prefix="crm-responses")
    limiter.init_app(app)
    limiter.limit(_limit_value, exempt_when=_limits_off)(respond_bp)
    app.extensions[EXTENSION_KEY] = limiter
    return limiter


def limiter_of(app: Flask) -> Limiter | None:
    """Return the app's response-page limiter, if installed."""
    return app.extensions.get(EXTENSION_KEY)

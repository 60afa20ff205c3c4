"""Settings of the standalone app, read from the environment (and a .env file)."""

from __future__ import annotations

import os
from pathlib import Path

from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent
load_dotenv(BASE_DIR / ".env")


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


class Config:
    """Standalone settings; every value can be set by an environment variable of the same name."""

    SECRET_KEY = os.environ.get("SECRET_KEY")  # unset: a random key kept in instance/
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{BASE_DIR / 'instance' / 'crm.sqlite'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, object] = {"pool_pre_ping": True}
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session; staff keep tabs open
    CRM_URL_PREFIX = os.environ.get("CRM_URL_PREFIX", "/crm")
    CRM_ORG_NAME = os.environ.get("CRM_ORG_NAME", "Badger State Progress")
    CRM_PHONE_REGION = os.environ.get("CRM_PHONE_REGION", "US")
    CRM_TIMEZONE = os.environ.get("CRM_TIMEZONE", "America/Chicago")
    CRM_PAGE_SIZE = int(os.environ.get("CRM_PAGE_SIZE", "50"))
    CRM_CELERY_BROKER_URL = os.environ.get("CRM_CELERY_BROKER_URL") or None
    CRM_CELERY_RESULT_BACKEND = os.environ.get("CRM_CELERY_RESULT_BACKEND") or None
    CRM_JOB_HEARTBEAT_SECONDS = float(os.environ.get("CRM_JOB_HEARTBEAT_SECONDS", "10"))
    # Unset: a job is stale after three missed heartbeats (30 s by default).
    CRM_JOB_STALE_SECONDS = int(os.environ.get("CRM_JOB_STALE_SECONDS") or 0) or None
    CRM_MAILCHIMP_API_KEY = os.environ.get("CRM_MAILCHIMP_API_KEY") or None
    CRM_MAILCHIMP_SERVER = os.environ.get("CRM_MAILCHIMP_SERVER") or None
    CRM_MAILCHIMP_AUDIENCE_ID = os.environ.get("CRM_MAILCHIMP_AUDIENCE_ID") or None
    CRM_MAILCHIMP_TIMEOUT = float(os.environ.get("CRM_MAILCHIMP_TIMEOUT", "30"))
    CRM_MAILCHIMP_MAX_CONNECTIONS = int(os.environ.get("CRM_MAILCHIMP_MAX_CONNECTIONS", "10"))
    CRM_MAILCHIMP_BATCH_SIZE = int(os.environ.get("CRM_MAILCHIMP_BATCH_SIZE", "500"))
    CRM_APPROVAL_DRIFT = float(os.environ.get("CRM_APPROVAL_DRIFT", "0.10"))
    CRM_MAILCHIMP_WEBHOOK_SECRET = os.environ.get("CRM_MAILCHIMP_WEBHOOK_SECRET") or None
    CRM_MAILCHIMP_RECONCILE_MINUTES = int(os.environ.get("CRM_MAILCHIMP_RECONCILE_MINUTES", "60"))
    CRM_MAILCHIMP_SANDBOX_URL = os.environ.get("CRM_MAILCHIMP_SANDBOX_URL") or None
    # Every campaign's footer shows the postal address (CAN-SPAM); unset, none can be sent.
    CRM_ORG_POSTAL_ADDRESS = os.environ.get("CRM_ORG_POSTAL_ADDRESS", "")
    CRM_PUBLIC_URL = os.environ.get("CRM_PUBLIC_URL", "http://127.0.0.1:5000")
    CRM_DONATE_URL = os.environ.get("CRM_DONATE_URL", "")
    CRM_CAMPAIGN_FROM_NAME = os.environ.get("CRM_CAMPAIGN_FROM_NAME") or None
    CRM_CAMPAIGN_REPLY_TO = os.environ.get("CRM_CAMPAIGN_REPLY_TO", "")
    CRM_RATELIMIT_STORAGE_URI = os.environ.get("CRM_RATELIMIT_STORAGE_URI", "memory://")

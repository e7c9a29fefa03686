"""Default settings. Every value can be overridden from the environment."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Config:
    # "production": secrets required, Secure cookies, no demo data (load_config picks the class by it).
    HOSTDECK_ENV = ""
    SECRET_KEY = "dev-only-not-secret"  # noqa: S105 (production refuses to start without its own)
    # SQLite in instance/ unless DATABASE_URL says otherwise.
    DATABASE_URL = f"sqlite:///{ROOT / 'instance' / 'hostdeck.sqlite3'}"
    # Empty: jobs run in the web process right after commit (the demo).
    REDIS_URL = ""
    RQ_QUEUE = "hostdeck-apply"
    # Private key the workers use to reach managed servers.
    SSH_KEY_PATH = str(Path.home() / ".ssh" / "id_ed25519")
    SSH_CONNECT_TIMEOUT = 10.0
    # Workers keep one SSH connection per server across jobs.
    SSH_REUSE_CONNECTIONS = True
    # Default script time limit; a server's `exec_timeout` setting overrides it.
    JOB_TIMEOUT = 300
    # RQ's own limit for a whole job (lock wait + script + bookkeeping). exec_timeout stays below it.
    RQ_JOB_TIMEOUT = 3600
    # A failed operation's verifier is kept this long for a retry, then wiped (a newer password wipes it
    # at once); the object's page then asks for a new password.
    FAILED_SECRET_DAYS = 1
    # A killed worker's server lock lapses after this; its work is then redone.
    SERVER_LOCK_TTL = 30
    # Seconds between retries of ERROR and TIMEOUT; after the last, the change is failed.
    RETRY_DELAYS = "5,30,120,600,1800"
    # How often a worker sweeps for due retries, orphaned work and what Redis missed.
    SWEEP_INTERVAL = 5.0
    # Where a domain's proof record is looked up: "host" or "host:port", comma-separated. Empty: the system's resolvers.
    DNS_RESOLVERS = ""
    DNS_TIMEOUT = 5.0
    # Automatic certificates: the ACME directory (empty: off, as in the demo); production uses Let's Encrypt.
    ACME_DIRECTORY = ""
    # The CAs the zones' CAA records allow, comma-separated (empty: no CAA records).
    ACME_CAA = "letsencrypt.org"
    # The ACME account's contact address (optional).
    ACME_EMAIL = ""
    # External Account Binding, for CAs that ask for it (the key id and the base64url HMAC key they give).
    ACME_EAB_KID = ""
    ACME_EAB_HMAC = ""
    # The CA bundle that verifies the ACME server's HTTPS (a file); empty: the system's.
    ACME_CA_BUNDLE = ""
    # Seconds between attempts after a failure; it stops (and staff are told) after ACME_MAX_ATTEMPTS.
    ACME_RETRY_DELAYS = "300,1800,7200,21600,86400"
    ACME_MAX_ATTEMPTS = 6
    # Let's Encrypt's published limits: new orders per registered domain per week, failed validations per
    # name per hour. Past one, work waits until it is under again; nothing is sent to the CA.
    ACME_ORDERS_PER_DOMAIN_WEEK = 50
    ACME_FAILURES_PER_NAME_HOUR = 5
    # How often a name that does not point at the web server is looked at again (seconds).
    ACME_RECHECK_SECONDS = 900
    # Seconds between the worker's looks for a waiting domain's proof record; the last one repeats.
    PROOF_RECHECK_DELAYS = "60,300,900,3600,14400,43200,86400"
    # "Check now": at most once per domain in this many seconds, and this many per hour per login and per IP.
    PROOF_CHECK_INTERVAL = 30
    PROOF_CHECKS_PER_HOUR = 30
    # Names under .test, .example, .invalid and .localhost count as proven, so the demo can try everything.
    RESERVED_TLDS_VERIFIED = True
    # May a reseller mark its sub-accounts' domains verified by hand? Off: only DNS or staff prove a name.
    RESELLERS_VERIFY_DOMAINS = True
    # A rotated DKIM key stays published (mail signed with it still verifies) this many days, then goes.
    DKIM_RETIRE_DAYS = 7
    # Usage rounds: seconds between two on a server; how long raw samples, hourly and daily rollups stay.
    USAGE_INTERVAL = 900
    USAGE_RAW_DAYS = 7
    USAGE_HOURLY_DAYS = 60
    USAGE_DAILY_DAYS = 800
    # Without Redis (the demo): a round runs in the web process after an apply, once per USAGE_INTERVAL.
    USAGE_IN_PROCESS = False
    # Incident e-mails to staff. ALERT_EMAILS empty: every staff and admin login.
    SMTP_HOST = ""
    SMTP_PORT = 25
    SMTP_STARTTLS = False
    SMTP_USER = ""
    SMTP_PASSWORD = ""
    MAIL_FROM = "hostdeck@localhost"
    ALERT_EMAILS = ""
    # Where staff open the portal, for links in e-mails.
    PUBLIC_URL = "http://127.0.0.1:5000"
    # Failed logins allowed per minute, per account and per IP.
    LOGIN_ATTEMPTS_PER_MINUTE = 10
    # "Forgot password?" links (and the ones resellers and staff send) per hour, per e-mail and per IP.
    PASSWORD_LINKS_PER_EMAIL_HOUR = 3
    PASSWORD_LINKS_PER_IP_HOUR = 20
    # Defaults to REDIS_URL when set, else memory:// (one process only).
    RATELIMIT_STORAGE_URI = ""
    PER_PAGE = 50
    # The REST API: requests per minute per token and per client address (429 with Retry-After past them).
    API_REQUESTS_PER_MINUTE = 600
    API_REQUESTS_PER_MINUTE_PER_IP = 1200
    # How long a POST's answer is kept for a retry with the same Idempotency-Key.
    API_IDEMPOTENCY_HOURS = 24
    # Memory each web process gives to pages kept for reuse (dashboard, lists) until their data changes.
    KEPT_PAGES_MB = 32
    # How many reverse proxies (each adding X-Forwarded-For) stand in front of the portal.
    PROXY_HOPS = 0
    # A login ends after this long without a request, and after this long in any case.
    SESSION_IDLE_MINUTES = 60
    SESSION_MAX_HOURS = 12
    # Impersonation ends after this; staff must have typed an authenticator code this recently to start.
    IMPERSONATION_MINUTES = 60
    STEP_UP_MINUTES = 5
    # Encrypts TOTP seeds in the database. Empty: derived from SECRET_KEY (rotating it resets 2FA).
    TOTP_KEY = ""
    TOTP_ISSUER = "Hostdeck"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    BOOTSTRAP_SERVE_LOCAL = True
    # Static URLs carry their file's version (?v=), so browsers may keep them a year.
    SEND_FILE_MAX_AGE_DEFAULT = 31536000
    # Pages, styles and scripts go compressed (zstd, brotli or gzip, as the browser takes them), whole:
    # the streaming path of Flask-Compress leaves files open.
    COMPRESS_STREAMS = False
    COMPRESS_MIMETYPES = (
        "text/html",
        "text/css",
        "text/javascript",
        "application/javascript",
        "application/json",
        "image/svg+xml",
    )
    # CSRF tokens hold as long as the login (None), or this many seconds.
    WTF_CSRF_TIME_LIMIT = None
    LOG_LEVEL = "INFO"
    # "text": a line per record for people; "json": one JSON object per line for a log collector.
    LOG_FORMAT = "text"
    # /metrics answers only with this bearer token and/or from these addresses (comma-separated CIDRs);
    # with neither set it answers 404.
    METRICS_TOKEN = ""
    METRICS_ALLOW = ""


class ProductionConfig(Config):
    SECRET_KEY = ""
    DATABASE_URL = ""
    SESSION_COOKIE_SECURE = True
    RESERVED_TLDS_VERIFIED = False
    ACME_DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory"
    REQUIRED = ("SECRET_KEY", "DATABASE_URL")


def _coerce(default: object, raw: str) -> object:
    if default is None:  # unset unless given, then a number (WTF_CSRF_TIME_LIMIT: seconds)
        return int(raw) if raw.strip() else None
    if isinstance(default, tuple):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw


def load_config(env: dict[str, str] | None = None) -> dict[str, object]:
    """Settings as a dict: class defaults, then the environment on top."""
    env = dict(os.environ if env is None else env)
    base = ProductionConfig if env.get("HOSTDECK_ENV") == "production" else Config
    settings: dict[str, object] = {}
    for name in dir(base):
        if name.isupper():
            default = getattr(base, name)
            settings[name] = _coerce(default, env[name]) if name in env else default
    missing = [name for name in getattr(base, "REQUIRED", ()) if not settings.get(name)]
    if missing:
        raise RuntimeError(f"Production needs these settings in the environment: {', '.join(missing)}")
    return settings

"""Settings, read from environment variables.

Every setting an operator may change is an environment variable (see README,
"Configuration"). Defaults run the demo on one machine: an SQLite file and Celery's
filesystem broker under ./var, so nothing else needs to be running.
"""

import secrets
from pathlib import Path

import environ
from celery.schedules import crontab
from csp import constants as csp_constants

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()


def _secret_key() -> str:
    """The key from SECRET_KEY, else one kept in var/ so demo sessions survive restarts."""
    if env.str("SECRET_KEY", default=""):
        return env.str("SECRET_KEY")
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
# The secret ID numbers are encrypted and looked up under (cases.crypto). Set it in
# production and keep it: data encrypted under one key cannot be read under another.
# Without it the key is derived from SECRET_KEY (check --deploy warns, cases.W002).
PERSONAL_DATA_KEY = env.str("PERSONAL_DATA_KEY", default="")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_fsm",
    "simple_history",
    "axes",
    "csp",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_api_key",
    "drf_spectacular",
    "cases",
    "intake",
    "dispatch",
    "feedback",
    "oversight",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Above WhiteNoise, so that static files carry the headers too.
    "csp.middleware.CSPMiddleware",
    "cases.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before anything reads the input: NUL, lone surrogates, deep JSON are refused here.
    "cases.middleware.EdgeInputMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "cases.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "cases.middleware.CalendarOncePerRequestMiddleware",
    "cases.middleware.CaseErrorMiddleware",
    "django_ratelimit.middleware.RatelimitMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, so that it sees the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "cases.context_processors.navigation",
                "oversight.context_processors.navigation",
            ],
        },
    },
]

# Database: DATABASE_URL, e.g. postgres://user:pass@host:5432/petitions
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo runs a web server and a Celery worker on one file: wait for the lock
    # instead of failing, and let readers work while one writes.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Nothing waits for ever: a lock held too long, a runaway query, a transaction left
    # open by a stuck process all end with an error (shown as "try again", 409) instead of
    # stalling every worker behind them. Milliseconds; 0 turns one off.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = " ".join([
        f"-c lock_timeout={env.int('DB_LOCK_TIMEOUT_MS', default=10_000)}",
        f"-c statement_timeout={env.int('DB_STATEMENT_TIMEOUT_MS', default=300_000)}",
        "-c idle_in_transaction_session_timeout="
        f"{env.int('DB_IDLE_IN_TRANSACTION_TIMEOUT_MS', default=60_000)}",
    ])

# A read replica (DATABASE_REPLICA_URL, a streaming standby of the same database): the
# dashboards, drill-downs, reports, exports, hot topics, complaints and access-log pages
# read the office's tables there (cases.replica); every write, and every read inside a
# transaction, stays on the primary. Empty: everything on the primary.
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = {**DATABASES["default"], **env.db("DATABASE_REPLICA_URL"),
                            "TEST": {"MIRROR": "default"}}
    DATABASE_ROUTERS = ["cases.replica.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: CACHE_URL, e.g. redis://127.0.0.1:6379/1 (shared by every web process).
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Failed-login throttling (django-axes): after AXES_FAILURE_LIMIT failures for one
# user name from one address, that pair is locked out for AXES_COOLOFF_MINUTES.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_MINUTES", default=15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_IPWARE_PROXY_COUNT = env.int("PROXY_COUNT", default=0)

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_STORAGE",
            default="whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}

# E-mail: EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.org:587
# (default: printed on the console of the process that sends).
globals().update(env.email("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="信访办 <noreply@localhost>")
# Every SMTP connection gives up after this many seconds (a hung server delays only its
# own messages, which are retried).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# The delivery outbox: rows per batch, how long a worker holds a batch before another may
# take it (longer than a batch can take), attempts before a message is marked failed, and
# how often the beat sweeps for rows whose publish was lost.
DELIVERY_BATCH_SIZE = env.int("DELIVERY_BATCH_SIZE", default=50)
DELIVERY_LEASE_SECONDS = env.int("DELIVERY_LEASE_SECONDS", default=600)
DELIVERY_MAX_ATTEMPTS = env.int("DELIVERY_MAX_ATTEMPTS", default=8)
DELIVERY_SWEEP_SECONDS = env.int("DELIVERY_SWEEP_SECONDS", default=30)
# The first retry waits this long, each next one twice as long (at most an hour).
DELIVERY_RETRY_SECONDS = env.int("DELIVERY_RETRY_SECONDS", default=30)
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)

# E-mail intake (intake.mail): the office's mailbox, polled over IMAP, each new message a
# received case (or a note on the case it answers). INTAKE_IMAP_URL, e.g.
# imap+ssl://user:password@imap.example.org:993/INBOX (imap+starttls://… on 143; plain
# imap://… only to a server on loopback); empty: no e-mail intake. Polled every
# INTAKE_IMAP_EVERY_SECONDS, at most INTAKE_IMAP_BATCH messages a run, every network step
# giving up after INTAKE_IMAP_TIMEOUT seconds. Taken messages are marked seen and, when
# INTAKE_IMAP_DONE_FOLDER names a folder, moved there.
INTAKE_IMAP_URL = env.str("INTAKE_IMAP_URL", default="")
INTAKE_IMAP_EVERY_SECONDS = env.int("INTAKE_IMAP_EVERY_SECONDS", default=60)
INTAKE_IMAP_BATCH = env.int("INTAKE_IMAP_BATCH", default=50)
INTAKE_IMAP_TIMEOUT = env.int("INTAKE_IMAP_TIMEOUT", default=30)
INTAKE_IMAP_DONE_FOLDER = env.str("INTAKE_IMAP_DONE_FOLDER", default="")
# Platform callbacks (intake.callbacks): each POST gives up after this many seconds; a
# row is retried with the outbox's backoff (at most an hour apart) this many times,
# about a day, before it is marked failed and the supervisors are told.
PLATFORM_CALLBACK_TIMEOUT = env.int("PLATFORM_CALLBACK_TIMEOUT", default=10)
PLATFORM_CALLBACK_MAX_ATTEMPTS = env.int("PLATFORM_CALLBACK_MAX_ATTEMPTS", default=30)
# A sender's run ends after this many seconds (inside the task's 240 s soft limit), and a
# row of a platform without a callback address waits this long between looks.
PLATFORM_CALLBACK_RUN_SECONDS = env.int("PLATFORM_CALLBACK_RUN_SECONDS", default=180)
PLATFORM_HOLD_SECONDS = env.int("PLATFORM_HOLD_SECONDS", default=600)

# HTTPS: behind TLS (directly or through a proxy that sets X-Forwarded-Proto), set
# HTTPS=true; cookies become secure, HTTP is redirected and HSTS is sent.
HTTPS = env.bool("HTTPS", default=False)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS)
# Preloading puts the domain in the browsers' built-in HTTPS-only lists, for months and
# for every subdomain: an operator's decision (hstspreload.org), never a default. Until it
# is taken, the deploy check's reminder of it (security.W021) is silenced.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
if env.bool("BEHIND_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)  # one working day
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp) on every response: scripts, styles, images, fonts
# and fetches from this site only (Chart.js is served from static/vendor); an inline
# <script> runs only with the request's nonce (`nonce="{{ request.csp_nonce }}"`); no
# inline event handlers, no style attributes (but one, below), no plugins, no frames,
# forms post here only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'none'"],
        "script-src": ["'self'", csp_constants.NONCE],
        # and the one style attribute of django-simple-history's admin history page
        # (`border-top: 0`), by its hash.
        "style-src": ["'self'", "'unsafe-hashes'",
                      "'sha256-XMXSevYjgSjXgRafBFDvtjwX+yyWLrxfso9DcNZ9UXM='"],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "object-src": ["'none'"],
    },
}
# Browser features no page uses, switched off (Permissions-Policy, cases.middleware).
PERMISSIONS_POLICY = {"camera": [], "microphone": [], "geolocation": [], "payment": []}

# Celery: CELERY_BROKER_URL, e.g. redis://127.0.0.1:6379/0. The default is a broker
# made of folders under var/, good for the demo only (a task is lost if a worker dies).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "celery-broker"
    for _sub in ("out", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "data_folder_processed": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),  # not ./control
    }
CELERY_TASK_ACKS_LATE = True
# Every task ends: a soft limit raises inside it, the hard limit kills the child.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=600)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=660)
# A worker that starts while Redis is down waits for it instead of exiting.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
if CELERY_BROKER_URL.startswith("redis"):
    # An unacknowledged task is given to another worker after this long: longer than the
    # longest task's hard limit, so a slow task is never run twice at once.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 600}
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One queue per kind of work, so that a slow mail server cannot starve the deadline sweep
# (nor a long report the e-mails): in production each queue gets its own worker
# (`celery worker -Q mail`, see the README); one worker may also take them all.
TASK_QUEUES = ("default", "sweep", "mail", "callbacks", "figures", "exports")
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "oversight.tasks.sweep_deadlines": {"queue": "sweep"},
    "cases.tasks.send_deliveries": {"queue": "mail"},
    # Platforms' callbacks: a receiver that hangs delays neither e-mail nor the sweep.
    "intake.tasks.send_callbacks": {"queue": "callbacks"},
    "oversight.tasks.send_daily_digests": {"queue": "mail"},
    "oversight.tasks.refresh_figures": {"queue": "figures"},
    "oversight.tasks.rebuild_figures": {"queue": "figures"},
    "oversight.tasks.make_monthly_report": {"queue": "exports"},
    # Excel and CSV files too big to make in the request (EXPORT_INLINE_ROWS).
    "oversight.tasks.make_export": {"queue": "exports"},
    "oversight.tasks.keep_exports": {"queue": "exports"},
    "cases.tasks.sync_holiday_calendar": {"queue": "default"},
    # Builds an index on the case table (CONCURRENTLY) when a quarter's is missing.
    "intake.tasks.keep_search_indexes": {"queue": "exports"},
    "feedback.tasks.anonymise_due": {"queue": "default"},
    "cases.tasks.archive_rows": {"queue": "default"},
    # A minute or two of CPU at night: with the long jobs, not before the deadline sweep.
    "intake.tasks.retrain_triage": {"queue": "exports"},
    # Talks to the mail server, like the outbox: a slow one holds up only the mail queue.
    "intake.tasks.poll_mailbox": {"queue": "mail"},
}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "sweep-deadlines": {
        "task": "oversight.tasks.sweep_deadlines",
        "schedule": env.int("SWEEP_EVERY_SECONDS", default=60),
    },
    # The summary tables of the dashboard, moved by the cases that changed since.
    "refresh-figures": {
        "task": "oversight.tasks.refresh_figures",
        "schedule": env.int("FIGURES_EVERY_SECONDS", default=30),
    },
    # The monthly report of the month before, on the first (retried daily until made).
    "monthly-report": {
        "task": "oversight.tasks.make_monthly_report",
        "schedule": crontab(minute=30, hour=1),
    },
    # Runs every quarter hour; each department's digest goes once a day from DIGEST_HOUR.
    "daily-digests": {
        "task": "oversight.tasks.send_daily_digests",
        "schedule": 15 * 60,
    },
    # The outbox: anything due and not leased (a lost publish, a dead worker, a retry).
    "send-deliveries": {
        "task": "cases.tasks.send_deliveries",
        "schedule": DELIVERY_SWEEP_SECONDS,
    },
    # E-mail intake: new messages in the office's mailbox (nothing when INTAKE_IMAP_URL is
    # empty; two runs at once take each message once).
    "poll-mailbox": {
        "task": "intake.tasks.poll_mailbox",
        "schedule": INTAKE_IMAP_EVERY_SECONDS,
    },
    # Platforms' callbacks: anything due and not leased (as for the outbox's e-mail).
    "send-callbacks": {
        "task": "intake.tasks.send_callbacks",
        "schedule": DELIVERY_SWEEP_SECONDS,
    },
    # The search by words' index of each quarter, made before the quarter begins.
    "keep-search-indexes": {
        "task": "intake.tasks.keep_search_indexes",
        "schedule": crontab(minute=10, hour=3),
    },
    "sync-holiday-calendar": {
        "task": "cases.tasks.sync_holiday_calendar",
        "schedule": 6 * 3600,
    },
    # Retention: archived cases past their period are anonymised (once each, whenever the
    # run happens: a missed night is caught up by the next).
    "anonymise-due": {
        "task": "feedback.tasks.anonymise_due",
        "schedule": crontab(minute=15, hour=2),
    },
    # Growth (cases.archive): old notifications and outbox rows deleted, old case history
    # exported then deleted, in runs of ARCHIVE_RUN_SECONDS through the quiet hours.
    "archive-rows": {
        "task": "cases.tasks.archive_rows",
        "schedule": crontab(minute="*/10", hour="1-5"),
    },
    # Exports: a job whose task was lost is sent again; old files are removed.
    # Counter scans kept across a failed submit and never sent again (STAGED_UPLOAD_HOURS).
    "discard-staged-uploads": {
        "task": "intake.tasks.discard_staged_uploads",
        "schedule": 60 * 60,
    },
    "keep-exports": {
        "task": "oversight.tasks.keep_exports",
        "schedule": 10 * 60,
    },
    # The triage model learns the day's closed cases (kept only if not worse: issue 14).
    "retrain-triage": {
        "task": "intake.tasks.retrain_triage",
        "schedule": crontab(minute=45, hour=2),
    },
}

# Retention (PIPL Art. 19): a petitioner's personal data is kept this many years after
# the case is archived, then anonymised (feedback.retention); categories may differ
# (admin: 个人信息保存期限). Cases claimed per transaction by the nightly run.
RETENTION_YEARS = env.int("RETENTION_YEARS", default=5)
RETENTION_BATCH_SIZE = env.int("RETENTION_BATCH_SIZE", default=200)

# The longest a figures rebuild may run as a Celery task (oversight.tasks.rebuild_figures):
# at a city's scale it counts for hours.
FIGURES_REBUILD_TIME_LIMIT = env.int("FIGURES_REBUILD_TIME_LIMIT", default=6 * 3600)

# Growth and archiving (cases.archive, manage.py archive_rows): a read notification is
# kept this many days after it was read, any notification this many days; sent and failed
# outbox rows this many days (a case's own once it is archived that long); the history
# versions of a case archived this many days are exported (HISTORY_EXPORT) to
# ARCHIVE_DIR, then deleted. Rows per batch and the seconds a run may take.
NOTIFICATION_READ_KEEP_DAYS = env.int("NOTIFICATION_READ_KEEP_DAYS", default=90)
NOTIFICATION_KEEP_DAYS = env.int("NOTIFICATION_KEEP_DAYS", default=365)
DELIVERY_KEEP_DAYS = env.int("DELIVERY_KEEP_DAYS", default=90)
HISTORY_KEEP_DAYS = env.int("HISTORY_KEEP_DAYS", default=180)
HISTORY_EXPORT = env.bool("HISTORY_EXPORT", default=True)
ARCHIVE_DIR = Path(env.str("ARCHIVE_DIR", default=str(VAR_DIR / "archive")))
ARCHIVE_BATCH_SIZE = env.int("ARCHIVE_BATCH_SIZE", default=2000)
ARCHIVE_RUN_SECONDS = env.int("ARCHIVE_RUN_SECONDS", default=420)

# Triage: a case arriving without a category gets the suggested one when the system is at
# least this sure (0-1); below, it waits unclassified for the dispatcher.
TRIAGE_APPLY_MIN_CONFIDENCE = env.float("TRIAGE_APPLY_MIN_CONFIDENCE", default=0.4)

# The learned triage model (intake.learning): below this many closed cases of its own the
# office's model also learns from the shipped corpus; features kept (size of the model);
# CPU cores a training may use; how long a process trusts the active model's id it read.
TRIAGE_MIN_OWN_CASES = env.int("TRIAGE_MIN_OWN_CASES", default=300)
TRIAGE_MAX_FEATURES = env.int("TRIAGE_MAX_FEATURES", default=60000)
TRIAGE_JOBS = env.int("TRIAGE_JOBS", default=2)
TRIAGE_RELOAD_SECONDS = env.int("TRIAGE_RELOAD_SECONDS", default=5)
# Web and worker processes load scikit-learn and the model when they start (1-2 s),
# not on the first registration they serve.
TRIAGE_WARM_AT_START = env.bool("TRIAGE_WARM_AT_START", default=True)
# Reference tables (categories, departments, tiers, safety phrases, the responsibility
# list) held per process: a change is seen at once through the cache, and at the latest
# after this many seconds.
REFERENCE_SECONDS = env.int("REFERENCE_SECONDS", default=300)
# The "history" source of triage: which departments led a category's cases in these
# days, counted again at most every TRIAGE_HISTORY_SECONDS.
TRIAGE_HISTORY_DAYS = env.int("TRIAGE_HISTORY_DAYS", default=365)
TRIAGE_HISTORY_SECONDS = env.int("TRIAGE_HISTORY_SECONDS", default=300)
# Every trained model's figures are kept; its fitted bytes (a few MB) only for the active
# one and this many newest, which the administrator may make active again.
TRIAGE_KEEP_FITTED = env.int("TRIAGE_KEEP_FITTED", default=30)

# The longest content a registration may hold (characters).
CASE_CONTENT_MAX_CHARS = env.int("CASE_CONTENT_MAX_CHARS", default=5000)

# Uploads: scanned letters and photos, PDF/JPEG/PNG only (checked by content, and the
# name's extension must agree). Per file and per upload; per case, whatever the door;
# and the anonymous portal's smaller limits (files per submission, MB per file).
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_MB", default=10) * 1024 * 1024
ATTACHMENT_MAX_FILES = env.int("ATTACHMENT_MAX_FILES", default=10)
ATTACHMENT_CASE_MAX_FILES = env.int("ATTACHMENT_CASE_MAX_FILES", default=20)
ATTACHMENT_CASE_MAX_MB = env.int("ATTACHMENT_CASE_MAX_MB", default=50)
PUBLIC_ATTACHMENT_MAX_FILES = env.int("PUBLIC_ATTACHMENT_MAX_FILES", default=3)
PUBLIC_ATTACHMENT_MAX_MB = env.int("PUBLIC_ATTACHMENT_MAX_MB", default=5)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# The edge (cases.middleware.EdgeInputMiddleware): a JSON body nested deeper than this is
# refused before it is parsed; dates typed into forms must fall within these years (a
# deadline computed from 9999-12-31 does not exist).
JSON_MAX_DEPTH = env.int("JSON_MAX_DEPTH", default=64)
DATE_MIN_YEAR = env.int("DATE_MIN_YEAR", default=2000)
DATE_MAX_YEAR = env.int("DATE_MAX_YEAR", default=2100)

# Repeat detection at the counter: how far back, how many recent cases are compared,
# and the least similarity (0-100) worth showing.
REPEAT_WINDOW_DAYS = env.int("REPEAT_WINDOW_DAYS", default=90)
REPEAT_CANDIDATES = env.int("REPEAT_CANDIDATES", default=20000)
REPEAT_MIN_SIMILARITY = env.int("REPEAT_MIN_SIMILARITY", default=35)
# Searching cases by words looks this far back (numbers and phones search everything).
SEARCH_TEXT_DAYS = env.int("SEARCH_TEXT_DAYS", default=365)

# The public portal: how often one address may submit and look up cases
# (django-ratelimit; with several web processes, CACHE_URL must be a shared Redis).
PUBLIC_SUBMIT_RATE = env.str("PUBLIC_SUBMIT_RATE", default="10/h")
PUBLIC_TRACK_RATE = env.str("PUBLIC_TRACK_RATE", default="30/10m")
# Wrong number + query code pairs allowed per case number in the window, whatever the
# address (a code cannot be guessed from many addresses either).
PUBLIC_TRACK_FAILURES_PER_CASE = env.int("PUBLIC_TRACK_FAILURES_PER_CASE", default=10)
PUBLIC_TRACK_FAILURE_WINDOW = env.int("PUBLIC_TRACK_FAILURE_WINDOW", default=3600)  # seconds
# 查询码: its length (letters from an alphabet without look-alikes).
QUERY_CODE_LENGTH = env.int("QUERY_CODE_LENGTH", default=8)
# The signed rating link sent with a reply: how long it stays valid.
RATING_LINK_MAX_AGE_DAYS = env.int("RATING_LINK_MAX_AGE_DAYS", default=30)
# The portal's address as the petitioner reaches it, for links in e-mails.
PUBLIC_SITE_URL = env.str("PUBLIC_SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
RATELIMIT_VIEW = "intake.public.ratelimited"
RATELIMIT_IP_META_KEY = env.str("RATELIMIT_IP_META_KEY", default="REMOTE_ADDR")

# The JSON API: platforms call with their keys ("Authorization: Api-Key <key>", hashed at
# rest, expiring, revocable; intake.platforms), staff with their tokens (issued in the
# admin); JSON only, every error one JSON shape (cases.api).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "intake.platforms.PlatformKeyAuthentication",
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["intake.platforms.PlatformKeyThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "cases.api.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
# Requests per key of a platform (DRF's "<n>/<sec|min|hour|day>"); more answer 429.
PLATFORM_RATE = env.str("PLATFORM_RATE", default="600/min")

SPECTACULAR_SETTINGS = {
    "TITLE": "信访事项办理系统 API · Petition office API",
    "DESCRIPTION": (
        "登记、查询和办理信访事项的 JSON 接口。Register, look up and act on cases.\n"
        "Authentication: a platform sends `Authorization: Api-Key <key>` (keys in the admin, "
        "对接平台); staff send `Authorization: Token <token>`.\n"
        "Every error answers JSON: {\"detail\": \"...\", \"errors\": {\"field\": [\"...\"]}}; "
        "nested fields are dotted (petitioner.phone); unknown fields are refused."),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Each choice set of tiers named once: with their names (TierEnum) and as bare codes.
    "ENUM_NAME_OVERRIDES": {"TierEnum": "cases.models.Tier.choices",
                            "TierCodeEnum": [(code, code) for code in ("T1", "T2", "T3", "T4")]},
}

# The department inbox marks cases due within this many hours as due soon.
INBOX_DUE_SOON_HOURS = env.int("INBOX_DUE_SOON_HOURS", default=24)

# The most cases one bulk act (批量交办, 批量分派承办人) may take at once.
BULK_ACT_MAX_CASES = env.int("BULK_ACT_MAX_CASES", default=100)

# The office's working hours on a working day, local time: a working-day clock (T3, T4,
# the web's acceptance, the return visit) counts only these, so its time left is told in
# working time and its warning falls inside them. Comma-separated HH:MM-HH:MM ranges.
OFFICE_HOURS = env.str("OFFICE_HOURS", default="09:00-12:00,13:30-17:30")

# An extension may ask for at most this many days beyond the current deadline. (How many
# extensions a round may have is the tier's: 响应级别 → 可延期次数.)
EXTENSION_MAX_DAYS = env.int("EXTENSION_MAX_DAYS", default=90)

# Return visits: after this many attempts that did not reach the petitioner, a replied
# case may be archived unvisited (noted in its history).
VISIT_MAX_ATTEMPTS = env.int("VISIT_MAX_ATTEMPTS", default=3)

# The deadline sweep: cases claimed per transaction. (How long a department has to answer
# a supervision order is set per tier in the admin.) The heads' daily digest of what is
# due today and overdue goes from this local hour on.
SWEEP_BATCH_SIZE = env.int("SWEEP_BATCH_SIZE", default=1000)
DIGEST_HOUR = env.int("DIGEST_HOUR", default=8)

# Hot topics (未诉先办): how long the page's figures are cached, and who counts as a
# repeat petitioner (at least this many valid cases in this many days).
HOT_TOPICS_CACHE_SECONDS = env.int("HOT_TOPICS_CACHE_SECONDS", default=600)
HOT_REPEAT_DAYS = env.int("HOT_REPEAT_DAYS", default=90)
HOT_REPEAT_MIN_CASES = env.int("HOT_REPEAT_MIN_CASES", default=3)

# Excel and CSV exports (oversight.export_jobs): up to EXPORT_INLINE_ROWS rows the file is
# made in the request; a bigger one is an export job made by the worker (exports queue),
# shown with its progress and fetched from 我的导出. An export holds at most
# EXPORT_MAX_ROWS rows; a job's file is kept EXPORT_KEEP_DAYS days after it is made; a job
# is given up after EXPORT_MAX_ATTEMPTS attempts (workers that died under it).
EXPORT_INLINE_ROWS = env.int("EXPORT_INLINE_ROWS", default=2000)
EXPORT_MAX_ROWS = env.int("EXPORT_MAX_ROWS", default=50_000)
EXPORT_KEEP_DAYS = env.int("EXPORT_KEEP_DAYS", default=7)
EXPORT_MAX_ATTEMPTS = env.int("EXPORT_MAX_ATTEMPTS", default=3)
# The archive number's 全宗号 (feedback.filing; the case number prefix when empty) and the
# tiers whose cases are kept permanently.
DOSSIER_FONDS = env.str("DOSSIER_FONDS", default="")
# A counter scan kept across a failed submit is removed after this many hours unsent.
STAGED_UPLOAD_HOURS = env.int("STAGED_UPLOAD_HOURS", default=12)
DOSSIER_PERMANENT_TIERS = env.list("DOSSIER_PERMANENT_TIERS", default=["T1"])

# The office.
OFFICE_NAME = env.str("OFFICE_NAME", default="信访办公室")
CASE_NUMBER_PREFIX = env.str("CASE_NUMBER_PREFIX", default="XF")
# How far ahead a deadline may reach: years inside this window with no holiday
# calendar entered are reported by the system check and the administrators' banner.
CALENDAR_LOOKAHEAD_DAYS = env.int("CALENDAR_LOOKAHEAD_DAYS", default=60)

# No phone, ID number or e-mail in a log line: the code never logs them, and every
# handler masks what a library or an error message carries (cases.log_redaction); the
# development server's request lines lose their query strings. (gunicorn's access log is
# set by its own --access-logformat: scripts/run and the README.)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "cases.log_redaction.RedactPersonalData"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Django's default handlers for these would bypass the filter: they go to the root's.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": [], "level": "INFO", "propagate": True},
    },
}


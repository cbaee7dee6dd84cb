# Embedded default: no environment variable needed. SQLite in instance/, files in instance/storage,
# jobs run inline, mail written to instance/mail/ as .eml files (and logged).
# Every value can be overridden by the environment variable of the same name.
DEBUG = False
DEVELOPMENT = True
SQLALCHEMY_DATABASE_URI = None  # -> sqlite:///<instance>/ptce_aap.sqlite3
REDIS_URL = None  # no Redis: jobs run inline, rate limits in memory
STORAGE_BACKEND = None  # "local" unless S3_BUCKET is set
MAIL_SERVER = None  # no SMTP: messages saved under instance/mail/
PUBLIC_BASE_URL = "http://127.0.0.1:5000"

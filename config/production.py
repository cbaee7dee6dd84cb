# Production: PostgreSQL, S3-compatible storage, Redis + RQ workers, SMTP.
# Read from the environment (see README, "Configuration"); the app refuses to start without
# SECRET_KEY, DATABASE_URL, REDIS_URL, S3_BUCKET, MAIL_SERVER and PUBLIC_BASE_URL.
DEBUG = False
DEVELOPMENT = False
SESSION_COOKIE_SECURE = True
REMEMBER_COOKIE_SECURE = True
PREFERRED_URL_SCHEME = "https"
PUBLIC_BASE_URL = None  # must come from the environment
REQUIRED_SETTINGS = ["SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "REDIS_URL", "S3_BUCKET", "MAIL_SERVER",
                     "PUBLIC_BASE_URL"]

# Tests: the fixtures in tests/conftest.py point DATABASE_URL, REDIS_URL, S3_* and MAIL_* at the real
# services they start (throw-away PostgreSQL database, Redis, moto S3 server, aiosmtpd).
TESTING = True
DEVELOPMENT = True
SECRET_KEY = "tests-only-secret-key-not-for-production"
PASSWORD_HASH_PROFILE = "cheapest"
RATELIMIT_STORAGE_URI = "memory://"
PUBLIC_BASE_URL = "http://localhost"
SERVER_NAME = None

"""The app as gunicorn serves it in production (``PTCE_ENV=production``), with the few changes a benchmark on
plain-HTTP loopback needs (each named here, nothing else differs):

- session cookies not ``Secure``: locust speaks HTTP to 127.0.0.1 (in production TLS ends at the proxy);
- the per-user autosave, per-token API and per-address login limits raised far above the load: they are
  policies, not costs — the limiter still counts every request in Redis (``RATELIMIT_STORAGE_URI``), so its
  cost is measured; the deadline rush itself keeps a person's pace (≤ 1 autosave a second).
"""

from ptce_aap import create_app

app = create_app({"SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False,
                  "AUTOSAVE_RATE_LIMIT": "100000 per minute", "API_RATE_LIMIT": "100000 per minute",
                  "LOGIN_RATE_LIMIT": "100000 per minute"})

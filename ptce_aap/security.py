"""Security headers (CSP that lets DSFR work), applied to every response."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from flask import current_app


def content_security_policy() -> str:
    cfg = current_app.config
    return _policy(cfg.get("STORAGE_BACKEND"), cfg.get("S3_ENDPOINT_URL"))


@lru_cache(maxsize=8)
def _policy(storage_backend: str | None, s3_endpoint_url: str | None) -> str:
    """The policy for these settings, written once (every response carries it)."""
    connect = ["'self'"]
    form_action = ["'self'"]
    if storage_backend == "s3" and s3_endpoint_url:
        parts = urlsplit(s3_endpoint_url)
        origin = f"{parts.scheme}://{parts.netloc}"
        connect.append(origin)
        form_action.append(origin)
    elif storage_backend == "s3":
        connect.append("https://*.amazonaws.com")
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": connect,
        "form-action": form_action,
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
    return "; ".join(f"{k} {' '.join(v)}" for k, v in directives.items())


def init_app(app) -> None:
    @app.after_request
    def _headers(response):
        h = response.headers
        h.setdefault("Content-Security-Policy", content_security_policy())
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config.get("SESSION_COOKIE_SECURE"):
            h.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
        if response.mimetype == "text/html":
            h.setdefault("Cache-Control", "no-store")
        return response

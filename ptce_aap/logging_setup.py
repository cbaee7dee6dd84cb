"""Structured (JSON lines) logs, each carrying the request id."""

from __future__ import annotations

import json
import logging
import sys
import uuid

from flask import g, has_request_context, request


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key in ("method", "path", "status", "duration_ms", "job", "outbox_id"):
            if hasattr(record, key):
                data[key] = getattr(record, key)
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def init_app(app) -> None:
    logger = logging.getLogger("ptce_aap")
    if not any(getattr(h, "_ptce", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler._ptce = True
        handler.setFormatter(JsonFormatter())
        handler.addFilter(RequestIdFilter())
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(app.config.get("LOG_LEVEL", "INFO"))

    @app.before_request
    def _assign_request_id():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming[:40] if incoming.isascii() and incoming.strip() else uuid.uuid4().hex

    @app.after_request
    def _log_request(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if not request.path.startswith(("/static/", "/dsfr/")):
            # The route pattern, not the path: paths of mailed links carry secret tokens.
            path = request.url_rule.rule if request.url_rule else "-"
            logger.info("request", extra={"method": request.method, "path": path,
                                          "status": response.status_code})
        return response

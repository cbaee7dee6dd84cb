"""Mail: render a French email from ``templates/emails/`` and send it by SMTP (or save it as .eml).

Each email ``<name>`` has three templates:

- ``emails/<name>.subject.txt`` — one line (newlines are folded);
- ``emails/<name>.txt`` — the plain-text part, extends ``emails/_base.txt``;
- ``emails/<name>.html`` — the HTML part, extends ``emails/_base.html`` (inline styles, tables).

They are rendered with the given context plus ``public_base_url``, ``recipient`` and
``attachment_names``; a missing variable is an error (StrictUndefined), not an empty string. A
``link`` given as a path (``/compte/…``) is made absolute with ``PUBLIC_BASE_URL``.

Sending: with ``MAIL_SERVER`` set, through SMTP (``MAIL_PORT``, STARTTLS when ``MAIL_USE_TLS``,
implicit TLS when ``MAIL_USE_SSL``, login when ``MAIL_USERNAME``, ``MAIL_TIMEOUT`` seconds). Without
it (the embedded default) the message is written to ``MAIL_OUTBOX_DIR`` as a ``.eml`` file and its
path, subject and link are logged, so that a newcomer can open the verification links.
"""

from __future__ import annotations

import importlib
import logging
import re
import smtplib
import ssl
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app
from jinja2 import StrictUndefined

from ptce_aap import storage as file_storage

logger = logging.getLogger("ptce_aap.mail")

DEFAULT_TIMEOUT = 30  # seconds, for connecting and for each SMTP command


# --- Rendering ----------------------------------------------------------------------------------

def _jinja_env():
    state = current_app.extensions.setdefault("ptce_mail", {})
    if "env" not in state:
        state["env"] = current_app.jinja_env.overlay(undefined=StrictUndefined)
    return state["env"]


def public_url(path: str) -> str:
    """``/compte/verifier/…`` -> ``https://ptce.example.gouv.fr/compte/verifier/…``."""
    if path.startswith("/"):
        return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path
    return path


def render_email(template: str, context: dict, *, recipient: str = "",
                 attachment_names: list[str] | None = None) -> tuple[str, str, str]:
    """Render ``(subject, text, html)`` of ``templates/emails/<template>.*``."""
    if not re.fullmatch(r"[a-z0-9_]+", template):
        raise ValueError(f"invalid email template name {template!r}")
    ctx = dict(context)
    if isinstance(ctx.get("link"), str):
        ctx["link"] = public_url(ctx["link"])
    ctx.setdefault("public_base_url", current_app.config["PUBLIC_BASE_URL"].rstrip("/"))
    ctx.setdefault("recipient", recipient)
    ctx.setdefault("attachment_names", attachment_names or [])
    env = _jinja_env()
    subject = env.get_template(f"emails/{template}.subject.txt").render(ctx)
    subject = re.sub(r"[^\S\u00a0\u202f]+", " ", subject).strip()  # one line; keeps no-break spaces
    text = env.get_template(f"emails/{template}.txt").render(ctx)
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    html = env.get_template(f"emails/{template}.html").render(ctx)
    return subject, text, html


# --- Building -----------------------------------------------------------------------------------

def _sender_domain() -> str:
    address = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])[1]
    if "@" in address:
        return address.rsplit("@", 1)[1]
    return urlsplit(current_app.config["PUBLIC_BASE_URL"]).hostname or "ptce.localhost"


def make_message_id(key: str | None = None) -> str:
    """``<…@domain>``; with a ``key`` (e.g. the notification's), the same id on every retry, so that a
    mail sent twice (worker killed after sending) can be recognised as one by mail clients."""
    if key is None:
        return make_msgid(domain=_sender_domain())
    safe = re.sub(r"[^A-Za-z0-9.\-]+", ".", key).strip(".")[:120]
    return f"<{safe}@{_sender_domain()}>"


def load_attachment(spec: dict) -> bytes:
    """The bytes of one attachment spec.

    ``{"filename", "mime", "storage_key"}`` reads the file from storage (from the backend named by an
    optional ``"storage_backend"``, as stored on the file row, else the configured one);
    ``{"filename", "mime", "generator": "package.module.function", "kwargs": {...}}`` calls a function
    returning bytes (e.g. a PDF rendered when the mail is sent).
    """
    if spec.get("storage_key"):
        storage = (file_storage.storage_for(spec["storage_backend"]) if spec.get("storage_backend")
                   else file_storage.get_storage())
        return b"".join(storage.iter_chunks(spec["storage_key"]))
    if spec.get("generator"):
        module_name, _, func_name = spec["generator"].rpartition(".")
        if not module_name.startswith("ptce_aap."):
            raise ValueError(f"attachment generator outside ptce_aap: {spec['generator']!r}")
        func = getattr(importlib.import_module(module_name), func_name)
        data = func(**spec.get("kwargs", {}))
        if not isinstance(data, bytes | bytearray):
            raise TypeError(f"{spec['generator']} returned {type(data).__name__}, not bytes")
        return bytes(data)
    raise ValueError(f"attachment without storage_key nor generator: {spec!r}")


def header_text(text: str) -> str:
    """A header value that survives folding: Python's folder drops the space next to a no-break space
    between two encoded words (« Pôle\u00a0Lauréat » arrived as "PôleLauréat"), so no-break spaces become
    plain spaces in headers (the body keeps French typography)."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def build_message(recipient: str, template: str, context: dict, *, attachments: list[dict] | None = None,
                  message_id: str | None = None) -> EmailMessage:
    """A ready-to-send message: multipart/alternative (text + HTML), UTF-8, with attachments
    (then multipart/mixed around the alternative)."""
    attachments = attachments or []
    subject, text, html = render_email(template, context, recipient=recipient,
                                       attachment_names=[a["filename"] for a in attachments])
    msg = EmailMessage()
    msg["Subject"] = header_text(subject)
    msg["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    msg["To"] = recipient
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = message_id or make_message_id()
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this message
    msg["X-PTCE-Template"] = template
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    for spec in attachments:
        maintype, _, subtype = (spec.get("mime") or "application/octet-stream").partition("/")
        msg.add_attachment(load_attachment(spec), maintype=maintype, subtype=subtype or "octet-stream",
                           filename=spec["filename"])
    return msg


# --- Sending ------------------------------------------------------------------------------------

def send_message(msg: EmailMessage) -> Path | None:
    """Send through SMTP, or write an .eml file when ``MAIL_SERVER`` is unset (returns its path).

    SMTP errors (``OSError``, ``smtplib.SMTPException``) propagate: the caller records and retries.
    """
    cfg = current_app.config
    if not cfg.get("MAIL_SERVER"):
        return _write_eml(msg)
    host, port = cfg["MAIL_SERVER"], int(cfg.get("MAIL_PORT") or 25)
    timeout = cfg.get("MAIL_TIMEOUT") or DEFAULT_TIMEOUT
    if cfg.get("MAIL_USE_SSL"):
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    with smtp:
        if cfg.get("MAIL_USE_TLS") and not cfg.get("MAIL_USE_SSL"):
            smtp.starttls(context=ssl.create_default_context())
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
        smtp.send_message(msg)
    return None


def _write_eml(msg: EmailMessage) -> Path:
    folder = Path(current_app.config["MAIL_OUTBOX_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    template = re.sub(r"[^a-z0-9_]+", "", str(msg.get("X-PTCE-Template", "mail")))[:40] or "mail"
    path = folder / f"{stamp}-{template}-{uuid.uuid4().hex[:8]}.eml"
    path.write_bytes(msg.as_bytes())
    link = _first_link(msg)
    logger.info("courriel enregistré (pas de serveur SMTP) : %s — à %s — « %s »%s", path, msg["To"],
                msg["Subject"], f" — lien : {link}" if link else "")
    return path


def _first_link(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    found = re.search(r"https?://\S+", part.get_content()) if part is not None else None
    return found.group(0) if found else ""


def send_email(recipient: str, template: str, context: dict, *, attachments: list[dict] | None = None
               ) -> EmailMessage:
    """Build and send at once (no outbox, no retry): for the CLI and tests. Code that sends on a user's
    action uses ``services.notifications.notify`` instead."""
    msg = build_message(recipient, template, context, attachments=attachments)
    send_message(msg)
    return msg


def text_bytes(text: str) -> bytes:
    """Attachment generator for a small text file: ``{"generator": "ptce_aap.mail.text_bytes",
    "kwargs": {"text": "…"}}``."""
    return text.encode("utf-8")

"""URLs that leave a page: where to go after a form (``safe_next``), links sent by mail (``external_url``)."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from flask import current_app


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site (``/…``), else ``None``: no open redirects."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return None
    return target


def external_url(endpoint: str, **values) -> str:
    """The absolute URL of ``endpoint`` at ``PUBLIC_BASE_URL``, the address people reach the app at:
    ``external_url("applicants.dossier", dossier_id=12)`` → ``https://ptce.example.gouv.fr/porteur/dossiers/12``.

    For links that leave the app (mails): the same in a request, a background job or the CLI, whatever
    host the request came through. It is ``url_for(endpoint, **values, _external=True)`` with the scheme,
    host, port and path prefix of ``PUBLIC_BASE_URL`` (``https://example.org:8443/ptce`` →
    ``https://example.org:8443/ptce/porteur/…``); ``_anchor`` is supported, ``endpoint`` is a full name.
    """
    app = current_app
    base = urlsplit(app.config["PUBLIC_BASE_URL"])
    if base.scheme not in ("http", "https") or not base.netloc:
        raise RuntimeError(f"PUBLIC_BASE_URL is not an absolute http(s) URL: {app.config['PUBLIC_BASE_URL']!r}")
    adapter = app.url_map.bind(base.netloc, script_name=base.path.rstrip("/") or "/", url_scheme=base.scheme)
    anchor = values.pop("_anchor", None)
    app.inject_url_defaults(endpoint, values)
    url = adapter.build(endpoint, values, force_external=True)
    if anchor is not None:
        url += "#" + quote(anchor, safe="%!#$&'()*+,/:;=?@")
    return url

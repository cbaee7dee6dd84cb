"""Markdown written by the secretariat (call descriptions…), rendered to HTML then sanitised.

The Markdown converter lets raw HTML through, so its output is always cleaned with ``nh3`` against
a short allow-list before being marked safe for the templates.
"""

from __future__ import annotations

import markdown as _markdown
import nh3
from markupsafe import Markup

ALLOWED_TAGS = frozenset({"p", "br", "strong", "em", "ul", "ol", "li", "a", "h2", "h3", "h4",
                          "blockquote", "code"})
ALLOWED_ATTRIBUTES = {"a": {"href"}}
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Removed together with their content (the other disallowed tags keep their text).
REMOVED_WITH_CONTENT = frozenset({"script", "style"})


def render_markdown(text: str | None) -> Markup:
    """Markdown → sanitised HTML: only ``ALLOWED_TAGS``; links keep ``href`` (http, https, mailto or
    relative) and get ``rel="noopener noreferrer"``; scripts, styles and event attributes go."""
    if not text:
        return Markup("")
    html = _markdown.markdown(text, output_format="html")
    cleaned = nh3.clean(html, tags=set(ALLOWED_TAGS), clean_content_tags=set(REMOVED_WITH_CONTENT),
                        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
                        url_schemes=set(ALLOWED_URL_SCHEMES), link_rel="noopener noreferrer")
    return Markup(cleaned)  # noqa: S704 — sanitised by nh3 just above

"""The crawl shared by the CSRF and the English-completeness tests: every page reachable by links from seeds."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

# Not HTML pages, or files stored elsewhere: not crawled.
NOT_CRAWLED = re.compile(r"^/(dsfr|static|stockage)/|/telecharger$|/recepisse$|/lettre\.pdf$|/lettre-de-decision$"
                         r"|\.json$|/pieces/etat$|^/healthz$")


def link_path(href: str) -> str | None:
    """The app path (with its query) an ``href`` leads to, or None for another site or a file not crawled."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return None if NOT_CRAWLED.search(parts.path) else path


def crawl(client, seeds: list[str], visit: Callable[[str, object], Iterable[str]], *, role: str, max_pages: int,
          skip: Callable[[str], bool] = lambda path: False) -> set[str]:
    """GET every page reachable from ``seeds``; ``visit(path, response)`` reads each HTML page and returns its
    links (hrefs). Redirects inside the app are followed (one out of it, a file's presigned URL, is not a page).
    A linked page is visited with one query string only (the sort and filter links of a list lead to the same
    page); seeds are always visited. Returns the paths visited."""
    queue, seen, queried = deque(seeds), set(), set()
    while queue:
        path = queue.popleft()
        if path in seen or skip(path):
            continue
        base, _sep, query = path.partition("?")
        if query and path not in seeds:
            if base in queried:
                continue
            queried.add(base)
        seen.add(path)
        assert len(seen) <= max_pages, f"more than {max_pages} pages reachable as {role}: links grow without end?"
        response = client.get(path)
        if response.status_code in (301, 302, 303):
            if target := link_path(response.headers["Location"]):
                queue.append(target)
            continue
        if response.mimetype != "text/html":
            continue
        queue.extend(p for link in visit(path, response) if (p := link_path(link)) and not skip(p))
    return seen

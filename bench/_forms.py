"""The fields of an HTML form as a browser sends them (the load benchmarks read the app's forms)."""

from __future__ import annotations

from html.parser import HTMLParser


class FormFields(HTMLParser):
    """The fields of the first ``<form>`` with an attribute named ``marker`` or whose value contains it — as the
    browser would send them."""

    def __init__(self, marker: str, check_boxes: bool = False):
        super().__init__()
        self.marker, self.check_boxes = marker, check_boxes
        self.inside = self.done = False
        self.fields: list[tuple[str, str]] = []
        self._textarea = self._select = None
        self._selected = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and not self.done and any(self.marker == k or self.marker in (v or "") for k, v in attrs):
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a and not self.check_boxes:
                return
            self.fields.append((a["name"], a.get("value", "y" if a.get("type") == "checkbox" else "")))
        elif tag == "textarea" and a.get("name"):
            self._textarea = [a["name"], ""]
        elif tag == "select" and a.get("name"):
            self._select, self._selected = a["name"], None
        elif tag == "option" and self._select and "selected" in a:
            self._selected = a.get("value", "")

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if not self.inside:
            return
        if tag == "textarea" and self._textarea is not None:
            self.fields.append(tuple(self._textarea))
            self._textarea = None
        elif tag == "select" and self._select:
            self.fields.append((self._select, self._selected or ""))
            self._select = None
        elif tag == "form":
            self.inside, self.done = False, True


def form_fields(html: str, marker: str, **kw) -> list[tuple[str, str]]:
    parser = FormFields(marker, **kw)
    parser.feed(html)
    return parser.fields

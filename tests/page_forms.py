"""Read a rendered page as a browser does: its forms, what each one offers, its links.

Tests submit only what the page holds (a field the page never renders cannot be sent),
and follow only the links it shows.
"""

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class PageForm:
    action: str
    method: str
    # Controls as the page fills them in: hidden inputs, checked boxes, selected options.
    values: list[tuple[str, str]] = field(default_factory=list)
    # Every value a radio, checkbox or select offers, by control name.
    offered: dict[str, list[str]] = field(default_factory=dict)
    # Submit buttons: (visible text, name, value).
    buttons: list[tuple[str, str, str]] = field(default_factory=list)

    def submission(self, button: str, typed: dict | None = None, **choices) -> dict:
        """What pressing `button` sends, after typing `typed` into the page's text boxes
        and choosing `choices` among the values offered (a list ticks several boxes, None
        unticks; an unoffered choice fails the test: nobody using the page could send it)."""
        matches = [b for b in self.buttons if b[0] == button]
        assert matches, f"no button {button!r} in this form: {self.buttons}"
        data: dict[str, list[str]] = {}
        for name, value in self.values:
            data.setdefault(name, []).append(value)
        for name, value in (typed or {}).items():
            assert name in data and name not in self.offered, f"no text box {name!r}"
            data[name] = [str(value)]
        for name, chosen in choices.items():
            if chosen is None:
                assert name in self.offered, f"no box {name!r} to untick"
                data.pop(name, None)
                continue
            chosen = [str(v) for v in chosen] if isinstance(chosen, list | tuple) else [str(chosen)]
            for value in chosen:
                assert value in self.offered.get(name, []), f"{name}={value} is not offered"
            data[name] = chosen
        _, name, value = matches[0]
        if name:
            data[name] = [value]
        return data


class _PageParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[PageForm] = []
        self.links: list[tuple[str, str]] = []
        self._form: PageForm | None = None
        self._select: str | None = None
        self._button: tuple[str, str] | None = None
        self._link: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name") or ""
        if tag == "form":
            self._form = PageForm(attrs.get("action") or "", (attrs.get("method") or "get").lower())
            self.forms.append(self._form)
        elif tag == "a" and "href" in attrs:
            self._link, self._text = attrs["href"], []
        elif self._form is None:
            return
        elif tag == "input":
            kind = attrs.get("type", "text")
            if kind == "submit":
                self._form.buttons.append((attrs.get("value", ""), name, attrs.get("value", "")))
            elif kind in ("radio", "checkbox"):
                value = attrs.get("value", "on")
                self._form.offered.setdefault(name, []).append(value)
                if "checked" in attrs:
                    self._form.values.append((name, value))
            elif name and kind not in ("button", "file", "reset"):
                self._form.values.append((name, attrs.get("value", "")))
        elif tag == "button" and attrs.get("type", "submit") == "submit":
            self._button, self._text = (name, attrs.get("value", "")), []
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select is not None:
            self._form.offered.setdefault(self._select, []).append(attrs.get("value", ""))
            if "selected" in attrs:
                self._form.values.append((self._select, attrs.get("value", "")))

    def handle_endtag(self, tag):
        text = " ".join("".join(self._text).split())
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "a" and self._link is not None:
            self.links.append((text, self._link))
            self._link = None
        elif tag == "button" and self._button is not None and self._form is not None:
            self._form.buttons.append((text, *self._button))
            self._button = None

    def handle_data(self, data):
        if self._link is not None or self._button is not None:
            self._text.append(data)


def _parse(html: str) -> _PageParser:
    parser = _PageParser()
    parser.feed(html)
    return parser


def form_with_button(html: str, button: str) -> PageForm:
    """The one form on the page with a submit button reading `button`."""
    forms = [f for f in _parse(html).forms if any(b[0] == button for b in f.buttons)]
    assert len(forms) == 1, f"{len(forms)} forms with a {button!r} button"
    return forms[0]


def buttons(html: str) -> list[str]:
    return [b[0] for f in _parse(html).forms for b in f.buttons]


def link_to(html: str, text: str) -> str:
    """The address of the link reading `text` (the first, if several)."""
    hrefs = [href for label, href in _parse(html).links if label == text]
    assert hrefs, f"no link {text!r} on the page"
    return hrefs[0]

"""Turning an article's Markdown into safe HTML, plain text and a table of contents.

Staff write Markdown (raw HTML allowed by the Markdown library); everything it produces
goes through the nh3 allow-list sanitizer, so scripts, event handlers, inline styles,
iframes and `javascript:`/`data:` URLs never reach a page. Images may only point at
this site's own static files, written `![alt](static:education/diagrams/x.svg)`.

The stored HTML names such an image by its plain static path, with the width and height
read from the file (so the page does not shift when it loads); `with_hashed_images` swaps
in the hashed, long-cached URL when a page is shown, because the hash belongs to the
deployed files, not to the article.
"""

import html
import re
import xml.etree.ElementTree as etree
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser

import markdown
import nh3
from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.files.storage import default_storage
from django.templatetags.static import static
from markdown.extensions import Extension
from markdown.extensions.toc import slugify
from markdown.treeprocessors import Treeprocessor

STATIC_PREFIX = "static:"
IMAGE_PREFIX = "image:"  # an uploaded ArticleImage, by its key

ALLOWED_TAGS = {
    "a", "abbr", "blockquote", "br", "code", "em", "figcaption", "figure", "h2", "h3", "h4",
    "hr", "img", "li", "ol", "p", "picture", "pre", "source", "strong", "sub", "sup", "table",
    "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "h2": {"id"},
    "h3": {"id"},
    "h4": {"id"},
    "img": {"src", "srcset", "sizes", "alt", "width", "height", "loading", "decoding"},
    "source": {"type", "srcset", "sizes"},
    "td": {"align"},
    "th": {"align"},
}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto", "tel"}

# Glossary links are never put inside these (a link in a link, or in a heading, is wrong).
NO_LINK_ANCESTORS = {"a", "h1", "h2", "h3", "h4", "h5", "h6", "code", "pre"}
BLOCK_TAGS = {"p", "li", "h2", "h3", "h4", "blockquote", "pre", "td", "th", "tr"}
HEADING_TAGS = {"h2", "h3", "h4"}
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # not \r: forms send CRLF
# The ids the article page's own frame uses (skip link target, section headings): an id in
# the body that repeats one breaks the skip link or a heading's label.
PAGE_IDS = frozenset(
    {
        "main", "search-q", "site-search-q", "search-help", "booking-call-heading",
        "footer-contact", "footer-disclaimer", "footer-site", "article-toc", "article-takeaways",
        "article-related", "article-regulatory", "article-references", "article-faq",
        "after-title", "error-summary-title", "own-dates-hint", "path-planner",
        "support-state",
    }
)  # fmt: skip
# A path on this site: one slash, then no second slash or backslash (browsers read `/\`
# as `//`, another host) and no whitespace or control character (which browsers drop).
SAME_ORIGIN_PATH = re.compile(r"/(?![/\\])[^\\\s\x00-\x1f\x7f]*")
URL_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
WORDS = re.compile(r"[A-Za-z0-9]+(?:['’-][A-Za-z0-9]+)*")
SIZES = "(min-width: 34rem) 32rem, 100vw"  # an article image's width (site.css)
SVG_ROOT = re.compile(rb"<svg\b[^>]*>", re.IGNORECASE)
SVG_ATTRIBUTE = re.compile(rb'\b(width|height|viewBox)\s*=\s*["\']([^"\']*)["\']')
STORED_STATIC_IMAGE = re.compile(r'(<img\b[^>]*?\bsrc=")([^"]+)(")')


@dataclass
class RenderedBody:
    html: str
    toc: list[dict] = field(default_factory=list)
    # `static:` images that name no file of the site (the admin refuses to save them).
    missing_images: list[str] = field(default_factory=list)
    # `image:` references to no uploaded image (refused likewise).
    unknown_uploads: list[str] = field(default_factory=list)
    # What the sanitizer took out, in words for the editor (the admin refuses to save it).
    removed: list[str] = field(default_factory=list)


class _SiteImagesAndHeadings(Treeprocessor):
    """Resolve `static:` image sources to hashed static URLs; demote h1 to h2.

    The page supplies the only h1 (the title), so a body `# Heading` becomes an h2.
    """

    def run(self, root):
        parents = {child: parent for parent in root.iter() for child in parent}
        for element in list(root.iter()):
            if element.tag == "h1":
                element.tag = "h2"
            if element.tag == "img" and element.get("src", "").startswith(IMAGE_PREFIX):
                self._uploaded(element, parents[element])
            elif element.tag == "img":
                src = element.get("src", "")
                if src.startswith(STATIC_PREFIX):
                    name = src[len(STATIC_PREFIX) :].lstrip("/")
                    if finders.find(name) is None and not _collected(name):
                        self.md.missing_images.append(src)
                        element.set("src", "")
                        continue
                    element.set("src", settings.STATIC_URL.rstrip("/") + "/" + name)
                    if size := svg_size(name):
                        element.set("width", str(size[0]))
                        element.set("height", str(size[1]))
                # Diagrams sit below the first screen: fetch them only when scrolled to.
                element.set("loading", "lazy")
                element.set("decoding", "async")

    def _uploaded(self, element, parent) -> None:
        """`![](image:key)` becomes a <picture> of the uploaded image's WebP and JPEG
        renditions; alone in its paragraph, a <figure> with the caption and credit."""
        from education.models import ArticleImage  # noqa: PLC0415 - models import this module

        src = element.get("src")
        image = ArticleImage.objects.filter(key=src[len(IMAGE_PREFIX) :]).first()
        if image is None:
            self.md.unknown_uploads.append(src)
            element.set("src", "")
            return

        def srcset(extension: str) -> str:
            return ", ".join(
                f"{default_storage.url(image.rendition_name(w, extension))} {w}w"
                for w in image.widths
            )

        picture = etree.Element("picture")
        etree.SubElement(
            picture, "source", {"type": "image/webp", "srcset": srcset("webp"), "sizes": SIZES}
        )
        img = etree.SubElement(picture, "img")
        for name, value in [
            ("src", default_storage.url(image.rendition_name(image.widths[-1], "jpg"))),
            ("srcset", srcset("jpg")),
            ("sizes", SIZES),
            ("alt", "" if image.decorative else image.alt_text),
            ("width", str(image.width)),
            ("height", str(image.height)),
            ("loading", "lazy"),
            ("decoding", "async"),
        ]:
            img.set(name, value)
        picture.tail = element.tail
        parent[list(parent).index(element)] = picture
        text = (parent.text or "") + (picture.tail or "")
        if parent.tag == "p" and len(parent) == 1 and not text.strip():
            parent.tag = "figure"
            credit = f"Credit: {image.credit}" if image.credit else ""
            words = " ".join(filter(None, [image.caption, credit]))
            if words:
                etree.SubElement(parent, "figcaption").text = words


class _SiteExtension(Extension):
    def extendMarkdown(self, md):  # noqa: N802 - the Markdown library's hook name
        # After inline processing (which creates <img>, priority 20), before toc (5).
        md.treeprocessors.register(_SiteImagesAndHeadings(md), "clinic_site", 15)


def svg_size(name: str) -> tuple[int, int] | None:
    """The intrinsic (width, height) of a static SVG, from its width/height or viewBox."""
    path = finders.find(name) if name.endswith(".svg") else None
    if not path:
        return None
    with open(path, "rb") as file:
        root = SVG_ROOT.search(file.read(4096))
    attributes = dict(SVG_ATTRIBUTE.findall(root.group(0))) if root else {}
    try:
        if b"width" in attributes and b"height" in attributes:
            size = [float(attributes[key].rstrip(b"px")) for key in (b"width", b"height")]
        else:
            size = [float(n) for n in attributes[b"viewBox"].replace(b",", b" ").split()[2:]]
    except (KeyError, ValueError):
        return None
    return (round(size[0]), round(size[1])) if len(size) == 2 and min(size) > 0 else None


def with_hashed_images(body_html: str) -> str:
    """Point stored `/static/...` image sources at the deployed, hashed static URL."""
    prefix = settings.STATIC_URL.rstrip("/") + "/"

    def hashed(match: re.Match) -> str:
        src = html.unescape(match.group(2))
        if not src.startswith(prefix):
            return match.group(0)
        try:
            url = static(src[len(prefix) :])
        except ValueError:  # not in the manifest: keep the plain path rather than fail
            return match.group(0)
        return f"{match.group(1)}{html.escape(url)}{match.group(3)}"

    return STORED_STATIC_IMAGE.sub(hashed, body_html)


def _collected(name: str) -> bool:
    try:
        return staticfiles_storage.exists(name)
    except Exception:  # noqa: BLE001 - no collected files at all (development)
        return False


def _body_id(value: str, separator: str) -> str:
    """A heading's id from its text, never one the page frame uses."""
    slug = slugify(value, separator)
    return f"{slug}{separator}section" if slug in PAGE_IDS else slug


def _same_origin_srcset(value: str) -> bool:
    candidates = [c.strip().split()[0] for c in value.split(",") if c.strip()]
    return bool(candidates) and all(SAME_ORIGIN_PATH.fullmatch(c) for c in candidates)


def _same_origin_images_only(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return value if SAME_ORIGIN_PATH.fullmatch(value) else None
    if attribute == "srcset":
        return value if _same_origin_srcset(value) else None
    if attribute == "id" and value in PAGE_IDS:
        return None
    return value


def sanitize(unsafe_html: str) -> str:
    return nh3.clean(
        unsafe_html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        attribute_filter=_same_origin_images_only,
        link_rel="noopener noreferrer",
    )


class _Removals(HTMLParser):
    """Names, for the editor, what `sanitize` will drop from this HTML: elements and
    attributes outside the allow-list, images from other sites, links with other schemes
    and ids the page frame uses."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def _note(self, what: str) -> None:
        if what not in self.found:
            self.found.append(what)

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            self._note(f"a <{tag}> element")
            return
        allowed = ALLOWED_ATTRIBUTES.get(tag, set())
        for name, value in attrs:
            value = value or ""
            if name not in allowed and not (tag == "a" and name == "rel"):
                self._note(f"the {name} attribute of <{tag}>")
            elif tag == "img" and name == "src" and value and not SAME_ORIGIN_PATH.fullmatch(value):
                self._note(f"an image from another site ({value})")
            elif name == "srcset" and not _same_origin_srcset(value):
                self._note(f"an image from another site ({value})")
            elif tag == "a" and name == "href" and (scheme := URL_SCHEME.match(value.strip())):
                if scheme.group(1).lower() not in ALLOWED_URL_SCHEMES:
                    self._note(f"a link to {scheme.group(1).lower()}:")
            elif name == "id" and value in PAGE_IDS:
                self._note(f"the id “{value}”, which the page itself uses")

    handle_startendtag = handle_starttag


def removed_by_sanitizer(unsafe_html: str) -> list[str]:
    parser = _Removals()
    parser.feed(unsafe_html)
    parser.close()
    return parser.found


def render_markdown(text: str) -> RenderedBody:
    """Markdown to sanitized HTML, with stable heading ids and the list of h2 sections."""
    md = markdown.Markdown(
        extensions=["toc", "tables", "sane_lists", "smarty", _SiteExtension()],
        extension_configs={
            "toc": {"toc_depth": "2-4", "slugify": _body_id},
            # align="…", which the allow-list keeps (a style attribute it would drop).
            "tables": {"use_align_attribute": True},
        },
        output_format="html",
    )
    md.missing_images = []
    md.unknown_uploads = []
    unsafe_html = md.convert(text)
    toc = [{"id": token["id"], "title": token["name"]} for token in md.toc_tokens]
    # toc_tokens nest h3s under h2s; the page lists the top-level sections.
    return RenderedBody(
        html=sanitize(unsafe_html),
        toc=toc,
        missing_images=md.missing_images,
        unknown_uploads=md.unknown_uploads,
        removed=removed_by_sanitizer(unsafe_html),
    )


class _TextCollector(HTMLParser):
    def __init__(self, *, sentence_blocks: bool):
        super().__init__(convert_charrefs=True)
        self.sentence_blocks = sentence_blocks
        self.blocks: list[list[str]] = [[]]

    def handle_starttag(self, tag, attrs):
        if tag in BLOCK_TAGS or tag == "br":
            self.blocks.append([])

    def handle_endtag(self, tag):
        if tag in BLOCK_TAGS:
            self.blocks.append([])

    def handle_data(self, data):
        # Control characters have no place in text (and search uses two as markers).
        self.blocks[-1].append(CONTROL_CHARACTERS.sub("", data))

    def text(self) -> str:
        lines = []
        for parts in self.blocks:
            line = " ".join("".join(parts).split())
            if not line:
                continue
            if self.sentence_blocks and line[-1] not in ".!?:;":
                # A heading or list item is its own sentence for readability formulas.
                line += "."
            lines.append(line)
        return "\n".join(lines)


def plain_text(body_html: str, *, sentence_blocks: bool = False) -> str:
    """The visible text of rendered HTML, one block per line (image alt text excluded)."""
    collector = _TextCollector(sentence_blocks=sentence_blocks)
    collector.feed(body_html)
    collector.close()
    return collector.text()


def count_words(text: str) -> int:
    return len(WORDS.findall(text))


def reading_grade(text: str) -> float:
    """Flesch-Kincaid grade of plain text, by the textstat library."""
    # textstat pulls in a large dependency tree; import it only when a grade is needed.
    import textstat

    return round(float(textstat.flesch_kincaid_grade(text)), 1)


class _GlossaryLinker(HTMLParser):
    """Re-emit sanitized HTML, linking the first use of each term in ordinary text."""

    def __init__(self, terms: Iterable[tuple[str, str]]):
        super().__init__(convert_charrefs=True)
        # Longest first, so "AMPA receptor" wins over a shorter term inside it.
        self.pending = {term.lower(): url for term, url in terms}
        self.out: list[str] = []
        self.open_tags: list[str] = []
        self._pattern = self._compile()

    def _compile(self):
        if not self.pending:
            return None
        alternatives = sorted(self.pending, key=len, reverse=True)
        body = "|".join(re.escape(term) for term in alternatives)
        # A plural "s"/"es" still counts as a use of the term.
        return re.compile(rf"\b({body})(?:e?s)?\b", re.IGNORECASE)

    def handle_starttag(self, tag, attrs):
        self.out.append(self.get_starttag_text())
        if tag not in {"br", "hr", "img"}:
            self.open_tags.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.out.append(self.get_starttag_text())

    def handle_endtag(self, tag):
        self.out.append(f"</{tag}>")
        if tag in self.open_tags:
            while self.open_tags and self.open_tags.pop() != tag:
                pass

    def handle_data(self, data):
        if self._pattern is None or NO_LINK_ANCESTORS.intersection(self.open_tags):
            self.out.append(html.escape(data, quote=False))
            return
        position = 0
        while self._pattern is not None:
            match = self._pattern.search(data, position)
            if match is None:
                break
            key = match.group(1).lower()
            url = self.pending.pop(key)
            self.out.append(html.escape(data[position : match.start()], quote=False))
            self.out.append(
                f'<a class="glossary-link" href="{html.escape(url)}">'
                f"{html.escape(match.group(0), quote=False)}</a>"
            )
            position = match.end()
            self._pattern = self._compile()
        self.out.append(html.escape(data[position:], quote=False))


def link_glossary_terms(body_html: str, terms: Iterable[tuple[str, str]]) -> str:
    """Link the first use of each (term, url) in the text of `body_html`.

    Works on text nodes of already-sanitized HTML, so it never edits inside a tag,
    a link, a heading or code.
    """
    linker = _GlossaryLinker(terms)
    linker.feed(body_html)
    linker.close()
    return "".join(linker.out)

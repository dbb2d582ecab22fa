"""Public pages that any cache may keep, and everything that keeps them fresh.

One module for the whole rule: the content version (a one-row table), the receivers that
raise it (each app names the models its public pages show, in its `AppConfig.ready`),
the per-process store of rendered pages (the `pages` cache alias, local memory), and
`public_page`, the view wrapper. It also keeps values other public content needs per
process, such as the clinic details (`kept_value`).

`public_page` wraps the views anyone may read (home, articles, topics, glossary, search
results, feed, sitemap). For a visitor without a session or messages cookie it:

- keeps the rendered page in this process, keyed by scheme, host and full path, and
  serves that copy while the content version (`content_version`, a single-row query
  each worker repeats at most once a second) is unchanged and the copy is under a
  minute old. Every save in the admin raises the version, so every worker re-renders
  within a second; the minute covers what changes with the clock alone (a scheduled
  article's time);
- keeps at most 256 pages (the alias's MAX_ENTRIES), dropping the least recently used
  first, so a run of searches for new words cannot push out the pages most people read;
- while the database is unreachable (stale-if-error), serves the copy it kept, however
  old (up to STALE_SECONDS), to every visitor, marked `no-store` with an `Age` header and
  the short notice header `Clinic-Notice`, rather than an error; a page with no copy
  meets the outage page (clinic/outage.py);
- sends `Cache-Control: public` and an ETag that is a hash of the kept page, answers a
  matching `If-None-Match` with 304, and never sets a cookie or varies on Cookie;
- keeps the page gzip-compressed, made once, and sends it so to browsers that accept gzip
  (all do): about a quarter of the bytes for a patient on a slow phone, and less work per
  request than sending the page whole. Only the compressed page is kept (a client that
  does not accept gzip gets it uncompressed as it is sent): a worker's 256 copies take a
  quarter of the memory. These pages hold no secret (no session, no CSRF
  token), so compressing them next to a search query gives BREACH nothing to find.
  Every page starts with the same head up to the end of its inline stylesheet (base.html
  puts that first), most of its bytes: that head is compressed once per process, so
  each new page compresses only what follows (`_gzipped`);
- refuses to let the view or its template read or write the session or the signed-in
  user (`PublicPageUsedSession`): that would make the page vary by visitor, so no copy
  could be shared.

A visitor with a session (staff, or someone mid-booking) or a pending message gets the
page rendered for them and marked private. Responses that are not a plain 200, that set
a cookie or vary on Cookie, or whose view already chose its own Cache-Control (a staff
preview) are passed on untouched and never kept.
"""

import hashlib
import re
import struct
import time
import zlib
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import caches
from django.db import DatabaseError, InterfaceError, OperationalError, connection, models
from django.db.models import F
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers

STORE = "pages"  # the cache alias holding this process's copies (clinic/settings.py)
PUBLIC_MAX_AGE = 60  # seconds a browser or proxy may reuse a page without asking
COPY_SECONDS = 60  # seconds a worker reuses its copy while the version is unchanged
STALE_SECONDS = 24 * 3600  # seconds a copy stays, to be served while the database is down
STALE_NOTICE = "kept copy; the site's database is briefly unreachable"
GZIP_MIN_BYTES = 200  # smaller pages are sent as they are (as GZipMiddleware does)
GZIP_LEVEL = 6  # as GZipMiddleware's compress_string
_PREFIX_END = b"</style>"
_ACCEPTS_GZIP = re.compile(r"\bgzip\b")
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip stream, as browsers take it


# -- the content version ----------------------------------------------------------------


class ContentVersionManager(models.Manager):
    def bump(self) -> None:
        """Mark every cached copy of every public page, in every process, as out of date."""
        if not self.filter(pk=1).update(value=F("value") + 1):
            self.get_or_create(pk=1, defaults={"value": 1})
        content_version_forget()


class ContentVersion(models.Model):
    """One row (pk 1) whose number goes up whenever public content changes.

    Each gunicorn worker keeps its own copy of rendered public pages; reading this one
    row (at most once a second per worker) tells every worker that its copies are out
    of date.
    """

    value = models.PositiveBigIntegerField(default=0)

    objects = ContentVersionManager()

    class Meta:
        app_label = "clinic"
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="single_version")]

    def __str__(self) -> str:
        return str(self.value)


# (version, when it was read): shared by the threads of this process.
_remembered: tuple[int, float] | None = None
# Plain SQL: this runs on every public request, so it skips the ORM's query building.
_VERSION_SQL = f'SELECT value FROM "{ContentVersion._meta.db_table}" WHERE id = 1'


def content_version() -> int | None:
    """The current content version (None if the database is unreachable).

    Each process reads it from the database at most once every
    CLINIC_CONTENT_VERSION_SECONDS, and at once after a save of its own: a change made
    through one worker shows on every other worker within that time.
    """
    global _remembered
    remembered, now = _remembered, time.time()
    if remembered is not None and now - remembered[1] < settings.CLINIC_CONTENT_VERSION_SECONDS:
        return remembered[0]
    try:
        with connection.cursor() as cursor:
            cursor.execute(_VERSION_SQL)
            row = cursor.fetchone()
    except DatabaseError:
        return None
    version = row[0] if row else 0
    _remembered = (version, now)
    return version


def content_version_forget() -> None:
    """Make the next `content_version()` in this process read the database."""
    global _remembered
    _remembered = None


def _content_saved(sender, **kwargs) -> None:
    ContentVersion.objects.bump()


def _content_linked(sender, action, **kwargs) -> None:
    if action.startswith("post_"):
        ContentVersion.objects.bump()


def bump_on_change(*content_models: type[models.Model]) -> None:
    """Raise the content version whenever one of these models is saved or deleted, or one
    of their many-to-many links changes. Each app calls it from `ready()` with the models
    its public pages show."""
    for model in content_models:
        uid = f"page_cache:{model._meta.label}"
        post_save.connect(_content_saved, sender=model, dispatch_uid=uid)
        post_delete.connect(_content_saved, sender=model, dispatch_uid=uid)
        for field in model._meta.local_many_to_many:
            through = field.remote_field.through
            m2m_changed.connect(
                _content_linked, sender=through, dispatch_uid=f"page_cache:{through._meta.label}"
            )


# -- what each process keeps ------------------------------------------------------------

_kept_values: dict[str, tuple[int, object, float]] = {}


def kept_value(name: str, load, *, seconds: float | None = None):
    """`load()`'s result, kept in this process until the content version changes, and for
    at most `seconds` if given (for a value that also changes with the clock alone, such
    as which scheduled articles are out: as long as pages are kept, COPY_SECONDS). While
    the database is unreachable, the kept value however old, or `load()`'s fallback if
    none was kept."""
    version = content_version()
    kept = _kept_values.get(name)
    if version is None and kept is not None:
        return kept[1]
    now = time.time()
    if kept is not None and kept[0] == version and (seconds is None or now - kept[2] < seconds):
        return kept[1]
    value = load()
    if version is not None:
        _kept_values[name] = (version, value, now)
    return value


def kept_value_if_any(name: str):
    """The value kept under `name` in this process, however old, or None: never loads."""
    kept = _kept_values.get(name)
    return None if kept is None else kept[1]


@dataclass(frozen=True)
class _Copy:
    version: int
    body: bytes  # the page, gzip-compressed if `gzipped`
    gzipped: bool  # False for a tiny page, kept as it is
    headers: dict[str, str]  # the view's own, plus ETag, Cache-Control and Vary
    etag: str
    made_at: float  # time.time() when it was rendered
    sent_headers: dict[str, str]  # as `body` is sent (its encoding, weak ETag and length)

    @property
    def content(self) -> bytes:
        return zlib.decompress(self.body, _GZIP_WBITS) if self.gzipped else self.body

    def fresh(self, version: int | None) -> bool:
        return self.version == version and time.time() - self.made_at < COPY_SECONDS


def clear(*, kept_values: bool = True) -> None:
    """Forget every kept page (and value) and the content version in this process (tests)."""
    caches[STORE].clear()
    if kept_values:
        _kept_values.clear()
    content_version_forget()


def _has_visitor_cookie(request) -> bool:
    cookies = request.COOKIES
    return settings.SESSION_COOKIE_NAME in cookies or CookieStorage.cookie_name in cookies


def _keepable(response) -> bool:
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and not response.has_header("Cache-Control")
        and "cookie" not in response.get("Vary", "").lower()
    )


def _copy_of(response, version: int) -> _Copy:
    if hasattr(response, "render") and not response.is_rendered:
        response.render()
    content = response.content
    gzipped = len(content) >= GZIP_MIN_BYTES
    if not gzipped:
        body = content
    elif parts := getattr(response, "gzip_parts", None):  # compressed in part (kept_frame)
        body = gzip_joined(parts)
    else:
        body = _gzipped(content)
    # A hash of the bytes kept, which stand for the page (it decompresses to them alone)
    # and are a quarter of its size to hash.
    etag = f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'
    response["ETag"] = etag
    patch_cache_control(response, public=True, max_age=PUBLIC_MAX_AGE)
    patch_vary_headers(response, ["Accept-Encoding"])
    headers = dict(response.items())
    sent_headers = {**headers, "Content-Length": str(len(body))}
    if gzipped:
        # Weak: the bytes differ from the plain page's (as GZipMiddleware marks it).
        sent_headers |= {"Content-Encoding": "gzip", "ETag": f"W/{etag}"}
    return _Copy(
        version=version,
        body=body,
        gzipped=gzipped,
        headers=headers,
        etag=etag,
        made_at=time.time(),
        sent_headers=sent_headers,
    )


# -- gzip made of parts compressed apart ------------------------------------------------
# A gzip stream (RFC 1952) is a header, deflate blocks, and the CRC-32 and length of what
# they hold. Blocks compressed apart, each set ending on a byte boundary (a sync flush)
# and pointing back to nothing before it, join into one valid stream: so a part every
# page shares is compressed once and only the rest of each page afresh. A part cannot
# point back into the parts before it, which costs about 1% of the bytes; copying a
# compressor left primed with the shared head instead cost three times the CPU (its
# 270 KB state, copied cold).
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"  # deflate, no name or time, Unix
_LAST_BLOCK = b"\x03\x00"  # an empty final block


@dataclass(frozen=True)
class Deflated:
    """A part of a page compressed once (`deflated`), to be joined by `gzip_joined`."""

    data: bytes
    blocks: bytes
    crc: int  # zlib.crc32(data): the stream's CRC when this part comes first


def _deflate(data: bytes) -> bytes:
    # Window and hash table just large enough for `data` (the sample pages compress to
    # the same bytes as with the defaults): a search page's part touches a fifth of the
    # memory the defaults take.
    window = min(zlib.MAX_WBITS, max(9, (len(data) - 1).bit_length()))
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -window, max(1, window - 7))
    return compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)


def deflated(data: bytes) -> Deflated:
    return Deflated(data=data, blocks=_deflate(data), crc=zlib.crc32(data))


def gzip_joined(parts) -> bytes:
    """One gzip stream of `parts` joined, each bytes (compressed now) or `Deflated`."""
    chunks, crc, size = [_GZIP_HEADER], 0, 0
    for part in parts:
        if isinstance(part, Deflated):
            chunks.append(part.blocks)
            crc = part.crc if size == 0 else zlib.crc32(part.data, crc)
            size += len(part.data)
        else:
            chunks.append(_deflate(part))
            crc = zlib.crc32(part, crc)
            size += len(part)
    chunks += (_LAST_BLOCK, struct.pack("<II", crc, size & 0xFFFFFFFF))
    return b"".join(chunks)


# The last head seen in this process (up to the end of its inline stylesheet), deflated.
_head: Deflated | None = None


def _gzipped(content: bytes) -> bytes:
    """`content` as one gzip stream, its head (about 37 of a search page's 43 KB) compressed
    once per process. Any page is compressed correctly: one that does not start with the
    kept head makes a new one."""
    global _head
    head = _head
    if head is None or not content.startswith(head.data):
        end = content.find(_PREFIX_END) + len(_PREFIX_END)
        head = deflated(content[:end])
        if end >= len(_PREFIX_END):
            _head = head
    return gzip_joined((head, content[len(head.data) :]))


def _serve(request, copy: _Copy):
    if not copy.gzipped or _ACCEPTS_GZIP.search(request.META.get("HTTP_ACCEPT_ENCODING", "")):
        response = HttpResponse(copy.body, headers=copy.sent_headers)
    else:
        content = copy.content
        response = HttpResponse(content, headers=copy.headers)
        response["Content-Length"] = str(len(content))
    if "HTTP_IF_NONE_MATCH" in request.META or "HTTP_IF_MODIFIED_SINCE" in request.META:
        return get_conditional_response(request, etag=copy.etag, response=response)
    return response


def _serve_stale(request, copy: _Copy):
    """The kept copy while the database is unreachable: marked as such, and kept by no
    browser or proxy, so the fresh page replaces it as soon as the database is back."""
    response = _serve(request, copy)
    response["Cache-Control"] = "no-store"
    response["Age"] = str(max(0, int(time.time() - copy.made_at)))
    response["Clinic-Notice"] = STALE_NOTICE
    response.database_unreachable = True  # the session is left alone (clinic/outage.py)
    return response


def database_unreachable(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached (rather than a fault in a query,
    which must stay a 500 and be fixed)."""
    return isinstance(error, (OperationalError, InterfaceError))


class PublicPageUsedSession(RuntimeError):
    """A public page read or wrote the session or the signed-in user (see the docstring)."""


class _NoSession:
    """Stands in for `request.session` while a public page is made for everyone."""

    def __init__(self, view):
        self._view = getattr(view, "__qualname__", repr(view))

    def _refuse(self, *args, **kwargs):
        raise PublicPageUsedSession(
            f"{self._view} is a public page shared by every visitor: it must not use "
            "request.session or request.user (clinic/page_cache.py)."
        )

    def __getattr__(self, name):
        self._refuse()

    __getitem__ = __setitem__ = __delitem__ = __contains__ = __iter__ = __len__ = _refuse


def _render_for_everyone(view, request, args, kwargs, version):
    """The view's response, and the copy to keep of it (None if it must not be kept)."""
    session = request.__dict__.get("session")
    request.session = _NoSession(view)
    try:
        response = view(request, *args, **kwargs)
        if version is None or not _keepable(response):
            return response, None
        return response, _copy_of(response, version)
    finally:
        if session is None:
            del request.session
        else:
            request.session = session


def _key(request) -> str:
    where = f"{request.scheme}|{request.get_host()}|{request.get_full_path()}"
    return hashlib.blake2b(where.encode(), digest_size=16).hexdigest()


def public_page(view):
    """Make `view` a public, cacheable page (see the module docstring)."""

    @wraps(view)
    def public_view(request, *args, **kwargs):
        safe = request.method in ("GET", "HEAD")
        store, key = caches[STORE], _key(request)
        if not safe or _has_visitor_cookie(request):
            try:
                response = view(request, *args, **kwargs)
            except DatabaseError as error:
                copy = store.get(key) if safe and database_unreachable(error) else None
                if copy is None:
                    raise
                return _serve_stale(request, copy)
            if not response.has_header("Cache-Control"):
                patch_cache_control(response, private=True, no_cache=True)
            return response

        # Read the version before rendering: a change that lands mid-render then shows as
        # a new version on the next request, never as a stale copy under the new one.
        version = content_version()
        copy = store.get(key)
        if copy is not None and version is None:
            return _serve_stale(request, copy)  # the database is unreachable
        if copy is None or not copy.fresh(version):
            try:
                response, fresh = _render_for_everyone(view, request, args, kwargs, version)
            except DatabaseError as error:
                if copy is None or not database_unreachable(error):
                    raise
                return _serve_stale(request, copy)  # it went away since the version read
            if fresh is None:
                return response
            copy = fresh
            if settings.CLINIC_PAGE_CACHE:
                store.set(key, copy, STALE_SECONDS)
        return _serve(request, copy)

    return public_view

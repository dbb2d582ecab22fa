"""Public pages that any cache may keep, served from a copy each worker process holds.

`public_page` wraps the views anyone may read (home, articles, topics, glossary, search
results, feed, sitemap). For a visitor without a session or messages cookie it:

- keeps the rendered page in this process, keyed by scheme, host and full path, and
  serves that copy while the content version (`clinic.models.content_version`, a
  single-row query each worker repeats at most once a second) is unchanged and the copy
  is under a minute old. Every save in the admin raises the version, so every worker
  re-renders within a second;
  the minute covers what changes with the clock alone (a scheduled article's time);
- keeps at most MAX_COPIES pages, dropping the least recently used first, so a run of
  searches for new words cannot push out the pages most people read;
- sends `Cache-Control: public` and an ETag that is a hash of the page, answers a
  matching `If-None-Match` with 304, and never sets a cookie or varies on Cookie;
- keeps a gzip-compressed copy too, made once, and sends it to browsers that accept gzip
  (all do): about a third of the bytes for a patient on a slow phone, and less work per
  request than sending the page whole. These pages hold no secret (no session, no CSRF
  token), so compressing them next to a search query gives BREACH nothing to find.

A visitor with a session (staff, or someone mid-booking) or a pending message gets the
page rendered for them and marked private. Responses that are not a plain 200, that set
a cookie or vary on Cookie, or whose view already chose its own Cache-Control (a staff
preview) are passed on untouched and never kept.
"""

import hashlib
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.text import compress_string

from clinic.models import content_version, content_version_forget

PUBLIC_MAX_AGE = 60  # seconds a browser or proxy may reuse a page without asking
COPY_SECONDS = 60  # seconds a worker reuses its copy while the version is unchanged
MAX_COPIES = 256  # pages kept per process (query strings make the set open-ended)
GZIP_MIN_BYTES = 200  # smaller pages are sent as they are (as GZipMiddleware does)
_ACCEPTS_GZIP = re.compile(r"\bgzip\b")

_copies: OrderedDict[tuple, "_Copy"] = OrderedDict()
_copies_lock = threading.Lock()


@dataclass(frozen=True)
class _Copy:
    version: int
    expires: float
    content: bytes
    headers: dict[str, str]  # the view's own, plus ETag, Cache-Control and Vary
    etag: str
    gzipped: bytes | None  # the same page compressed, unless it is tiny


def clear() -> None:
    """Forget every kept page and the content version in this process (for tests)."""
    with _copies_lock:
        _copies.clear()
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
    etag = f'"{hashlib.blake2b(content, digest_size=16).hexdigest()}"'
    response["ETag"] = etag
    patch_cache_control(response, public=True, max_age=PUBLIC_MAX_AGE)
    patch_vary_headers(response, ["Accept-Encoding"])
    return _Copy(
        version=version,
        expires=time.time() + COPY_SECONDS,
        content=content,
        headers=dict(response.items()),
        etag=etag,
        gzipped=compress_string(content) if len(content) >= GZIP_MIN_BYTES else None,
    )


def _serve(request, copy: _Copy):
    if copy.gzipped is not None and _ACCEPTS_GZIP.search(
        request.META.get("HTTP_ACCEPT_ENCODING", "")
    ):
        response = HttpResponse(copy.gzipped, headers=copy.headers)
        response["Content-Encoding"] = "gzip"
        # Weak: the bytes differ from the plain copy's (as GZipMiddleware marks it).
        response["ETag"] = f"W/{copy.etag}"
    else:
        response = HttpResponse(copy.content, headers=copy.headers)
    response["Content-Length"] = str(len(response.content))
    if "HTTP_IF_NONE_MATCH" in request.META or "HTTP_IF_MODIFIED_SINCE" in request.META:
        return get_conditional_response(request, etag=copy.etag, response=response)
    return response


def public_page(view):
    """Make `view` a public, cacheable page (see the module docstring)."""

    @wraps(view)
    def public_view(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD") or _has_visitor_cookie(request):
            response = view(request, *args, **kwargs)
            if not response.has_header("Cache-Control"):
                patch_cache_control(response, private=True, no_cache=True)
            return response

        # Read the version before rendering: a change that lands mid-render then shows as
        # a new version on the next request, never as a stale copy under the new one.
        version = content_version()
        key = (request.scheme, request.get_host(), request.get_full_path())
        with _copies_lock:
            copy = _copies.get(key)
            if copy is not None:
                _copies.move_to_end(key)  # least recently used goes first when full
        if copy is None or copy.version != version or copy.expires < time.time():
            response = view(request, *args, **kwargs)
            if version is None or not _keepable(response):
                return response
            copy = _copy_of(response, version)
            if settings.CLINIC_PAGE_CACHE:
                with _copies_lock:
                    _copies[key] = copy
                    while len(_copies) > MAX_COPIES:
                        _copies.popitem(last=False)
        return _serve(request, copy)

    return public_view

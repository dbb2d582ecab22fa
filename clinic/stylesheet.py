"""The site's CSS, inlined into the head of every public page, and its CSP hash.

A linked stylesheet holds the first paint back by a round trip, which on a phone's slow
connection is most of the wait. The site's rules are small (the Bootstrap rules the
templates use, cut by `make css`, plus css/site.css: about 8 KB compressed), so every page
carries them in one <style> element. The Content Security Policy allows exactly that
element by its SHA-256 hash, never by 'unsafe-inline'. `url()` references (the fonts) are
rewritten to their hashed static URLs, which are cached for good.
"""

import base64
import functools
import hashlib
import posixpath
import re
from dataclasses import dataclass

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware, PolicyParts
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.templatetags.static import static

SOURCES = ("vendor/bootstrap/bootstrap.purged.css", "css/site.css")
URL = re.compile(r"""url\((?P<quote>["']?)(?P<url>.*?)(?P=quote)\)""")
COMMENT = re.compile(r"/\*(?!!).*?\*/", re.S)  # keeps /*! licence */ comments
SPACE_AROUND = re.compile(r"\s*([{};,>])\s*")


@dataclass(frozen=True)
class InlineStylesheet:
    css: str
    csp_source: str  # "'sha256-...'", for style-src


def _minify(css: str) -> str:
    css = " ".join(COMMENT.sub("", css).split())
    return SPACE_AROUND.sub(r"\1", css).replace(";}", "}")


def _resolve_urls(css: str, source: str) -> str:
    def hashed(match: re.Match) -> str:
        url = match.group("url")
        if url.startswith(("data:", "/", "#")) or "//" in url:
            return match.group(0)
        name = posixpath.normpath(posixpath.join(posixpath.dirname(source), url))
        return f'url("{static(name)}")'

    return URL.sub(hashed, css)


def _build() -> InlineStylesheet:
    parts = []
    for source in SOURCES:
        with open(finders.find(source), encoding="utf-8") as file:
            parts.append(_resolve_urls(_minify(file.read()), source))
    css = "\n".join(parts)
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    return InlineStylesheet(css=css, csp_source=f"'sha256-{digest}'")


@functools.cache
def _built_once() -> InlineStylesheet:
    return _build()


def inline_stylesheet() -> InlineStylesheet:
    """The inlined CSS and its hash: built once per process, or on every call while
    debugging, so an edit to site.css shows on the next page load."""
    return _build() if settings.DEBUG else _built_once()


@receiver(setting_changed)
def _forget_on_static_settings_change(*, setting, **kwargs):
    # The font URLs depend on the static files storage (tests switch it).
    if setting in {"STORAGES", "STATIC_URL", "STATIC_ROOT", "STATICFILES_DIRS"}:
        _built_once.cache_clear()
        _unchanged_policy_headers.cache_clear()
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _unchanged_policy_headers.cache_clear()


# What a view or a nonce can change a response's policy with (csp.decorators, csp_nonce).
_PER_RESPONSE = tuple(
    f"_csp_{part}{suffix}"
    for part in ("config", "update", "replace", "exempt")
    for suffix in ("", "_ro")
)


class InlineStylesheetCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, with the inline stylesheet's hash added to style-src.

    Almost every response carries the same policy, and django-csp builds it afresh for
    each one (two dataclass copies and a string join: about a tenth of what a kept page
    costs). A response that no view decorator or nonce changed gets the policy built once
    per process; any other goes through django-csp as before.
    """

    def get_policy_parts(self, request, response, report_only=False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        update = dict(parts.update or {})
        update["style-src"] = [*update.get("style-src", []), inline_stylesheet().csp_source]
        parts.update = update
        return parts

    def process_response(self, request, response):
        headers = None if settings.DEBUG else _unchanged_policy_headers()
        changed = getattr(request, "_csp_nonce", None) is not None or any(
            getattr(response, name, None) for name in _PER_RESPONSE
        )
        if headers is None or changed:
            return super().process_response(request, response)
        for header, value in headers:
            if header not in response:
                response[header] = value
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response


@functools.cache
def _unchanged_policy_headers() -> tuple[tuple[str, str], ...] | None:
    """The policy headers of a response nothing changed, as django-csp builds them; None
    where a policy excludes URL prefixes (then each response goes through django-csp)."""
    names = ("CONTENT_SECURITY_POLICY", "CONTENT_SECURITY_POLICY_REPORT_ONLY")
    if any((getattr(settings, name, None) or {}).get("EXCLUDE_URL_PREFIXES") for name in names):
        return None
    probe = CSPMiddleware.process_response(
        InlineStylesheetCSPMiddleware(HttpResponse), HttpRequest(), HttpResponse()
    )
    return tuple(
        (header, probe[header]) for header in (HEADER, HEADER_REPORT_ONLY) if header in probe
    )

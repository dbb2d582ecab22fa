"""A page whose frame is rendered once per process and content version, and whose own
blocks are rendered for each request: the search results page, which no kept copy answers
when its words are new (clinic/page_cache.py).

Most of a page is its frame: the head with the inline stylesheet, the crisis notice, the
header and the footer (templates/base.html). For a search, only the title and the
content block depend on the words searched. `render_in_kept_frame` renders the page's
template once with those blocks left as markers, keeps the pieces between them, and for
each request renders just those blocks into the pieces. The bytes are those a full render
makes (tests/clinic/test_kept_frame.py). Rendering the frame was about half the work of
rendering an uncached search results page. The pieces are kept gzip-compressed too, so
only the blocks are compressed for each page kept (`gzip_joined`).

The frame sees only `frame_context` (never the request's own values, such as the words
searched), so nothing one visitor asked for can show in the page another is sent. It is
kept per template and address (scheme, host, script prefix) until the content version
changes, as `kept_value` keeps values (the hosts are those ALLOWED_HOSTS lets through).
While debugging, every page is rendered in full, so template edits show at once.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.shortcuts import render
from django.template import engines
from django.template.base import Template
from django.template.context import make_context
from django.template.loader import get_template
from django.template.loader_tags import BlockNode
from django.urls import get_script_prefix

from clinic.page_cache import Deflated, deflated, kept_value

# Where each block goes in the frame: a character no template or content holds.
_MARK = "\x00"


@dataclass(frozen=True)
class _Frame:
    template: Template
    blocks: tuple[BlockNode, ...]  # in the order they appear in the page
    pieces: tuple[Deflated, ...]  # the page around them (one more), encoded and deflated


def render_in_kept_frame(
    request,
    template_name: str,
    context: dict,
    *,
    blocks: tuple[str, ...],
    frame_context: Callable[[], dict],
) -> HttpResponse:
    """`render(request, template_name, {**frame_context(), **context})`, where only
    `blocks` (named in the order the page shows them, each defined in `template_name`
    itself and not using `block.super`) are rendered with `context`; the rest is the kept
    frame, rendered with `frame_context()` alone."""
    if settings.DEBUG:
        return render(request, template_name, {**frame_context(), **context})
    # The address is part of the name: the frame's links and canonical URL hold it.
    address = f"{request.scheme}://{request.get_host()}{get_script_prefix()}"
    name = f"kept_frame:{template_name}:{','.join(blocks)}:{address}"
    frame = kept_value(name, lambda: _frame(request, template_name, blocks, frame_context()))
    request_context = make_context(context, request)
    with (
        request_context.render_context.push_state(frame.template),
        request_context.bind_template(frame.template),
    ):
        parts = [block.render(request_context) for block in frame.blocks]
    page = [frame.pieces[0]]
    for part, piece in zip(parts, frame.pieces[1:], strict=True):
        page += (part.encode(), piece)
    response = HttpResponse(b"".join(p.data if isinstance(p, Deflated) else p for p in page))
    response.gzip_parts = page  # the frame is compressed once too (clinic/page_cache.py)
    return response


def _frame(request, template_name: str, blocks: tuple[str, ...], context: dict) -> _Frame:
    template = get_template(template_name).template
    defined = {node.name: node for node in template.nodelist.get_nodes_by_type(BlockNode)}
    marked = "".join(f"{{% block {name} %}}{_MARK}{{% endblock %}}" for name in blocks)
    source = f'{{% extends "{template_name}" %}}{marked}'
    pieces = engines["django"].from_string(source).render(context, request).split(_MARK)
    if len(pieces) != len(blocks) + 1:
        raise ImproperlyConfigured(f"{template_name} must show each of {blocks} once")
    return _Frame(
        template=template,
        blocks=tuple(defined[name] for name in blocks),
        pieces=tuple(deflated(piece.encode()) for piece in pieces),
    )

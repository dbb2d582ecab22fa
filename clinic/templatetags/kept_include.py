"""`{% kept_include "includes/footer.html" %}`: a part of every page that shows nothing but
the clinic's details, rendered once per process and content version.

The footer and the crisis notice stay the same on every page until the details change,
which raises the content version (clinic/page_cache.py); rendering them afresh was about a
fifth of rendering a page no kept copy answers (an uncached search). The part sees only
`clinic`, while debugging too, so a part that came to use the request or the page would
show it at once rather than share one visitor's version with everyone.
"""

from django import template
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import get_script_prefix

from clinic.page_cache import kept_value

register = template.Library()


@register.simple_tag(takes_context=True)
def kept_include(context, name: str) -> str:
    clinic = context.get("clinic")

    def render() -> str:
        return render_to_string(name, {"clinic": clinic})

    if settings.DEBUG:
        return render()  # template edits show at once
    # The script prefix is part of the name: the part's links start with it.
    return kept_value(f"kept_include:{name}:{get_script_prefix()}", render)

"""`{% inline_stylesheet %}`: the site's CSS as one <style> element (clinic/stylesheet.py)."""

from django import template
from django.utils.safestring import mark_safe

from clinic.stylesheet import inline_stylesheet as built

register = template.Library()


@register.simple_tag
def inline_stylesheet():
    # The CSS is the project's own files, never user input; its bytes must stay exactly
    # as hashed for the Content Security Policy.
    return mark_safe(f"<style>{built().css}</style>")  # noqa: S308

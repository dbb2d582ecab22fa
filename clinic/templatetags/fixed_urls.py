"""`{% fixed_url 'name' %}`: the address of a page that takes no arguments, looked up once
per process.

Django's `{% url %}` works an address out afresh every time (about 25 µs). The frame every
public page has (header, footer, search form, feed link) holds sixteen of them: about half
the rendering of a search results page that no kept copy answers (clinic/page_cache.py).
Addresses with arguments use `{% url %}`.
"""

import functools

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import get_script_prefix, get_urlconf, reverse

register = template.Library()


@register.simple_tag
def fixed_url(name: str) -> str:
    return _reversed(name, get_script_prefix(), get_urlconf())


@functools.cache
def _reversed(name: str, script_prefix: str, urlconf: str | None) -> str:
    # The script prefix is part of the key: reverse() puts it in front of the path.
    return reverse(name, urlconf=urlconf)


@receiver(setting_changed)
def _forget_on_urlconf_change(*, setting, **kwargs):
    if setting == "ROOT_URLCONF":  # tests that swap the URLs
        _reversed.cache_clear()

"""Addresses looked up once per process: `kept_reverse(name, *args)` is `reverse(name,
args=args)`, remembered.

Django's `reverse()` works an address out afresh every time (about 25 µs). The frame every
public page has (header, footer, search form, feed link) holds sixteen addresses, and a
search results page one per article found, rendered for every search whose words are new
(clinic/page_cache.py). An address depends only on its name, its arguments, the script
prefix and the URLconf, all part of the key; the most recently used 4,096 are kept.
"""

import functools

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import get_script_prefix, get_urlconf, reverse


def kept_reverse(name: str, *args) -> str:
    return _reversed(name, args, get_script_prefix(), get_urlconf())


@functools.lru_cache(maxsize=4096)
def _reversed(name: str, args: tuple, script_prefix: str, urlconf: str | None) -> str:
    # The script prefix is part of the key: reverse() puts it in front of the path.
    return reverse(name, args=args, urlconf=urlconf)


@receiver(setting_changed)
def _forget_on_urlconf_change(*, setting, **kwargs):
    if setting == "ROOT_URLCONF":  # tests that swap the URLs
        _reversed.cache_clear()

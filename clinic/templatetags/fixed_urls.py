"""`{% fixed_url 'name' %}`: the address of a page that takes no arguments, looked up once
per process (clinic/kept_urls.py). Addresses with arguments use `{% url %}`, or the
object's `get_absolute_url`.
"""

from django import template

from clinic.kept_urls import kept_reverse

register = template.Library()


@register.simple_tag
def fixed_url(name: str) -> str:
    return kept_reverse(name)

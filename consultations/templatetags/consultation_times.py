"""Template filters that show times in the clinic's zone with the zone named."""

from django import template

from consultations.formatting import format_clinic_time

register = template.Library()


@register.filter
def clinic_time(value):
    return format_clinic_time(value) if value else ""

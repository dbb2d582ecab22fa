"""Which client address a request comes from, for sign-in lockouts, rate limits and the
audit trail alike.

`X-Forwarded-For` is whatever the sender chose to write, so it is read only when the
direct peer (`REMOTE_ADDR`) is one of the proxies listed in DJANGO_TRUSTED_PROXIES.
Each proxy appends the address it received the request from, so the header is read from
the right: past every listed proxy, the first address is the client. Anything that is
not an IP address stops the walk at the last proxy that can be believed.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(value: str) -> Address | None:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    return getattr(address, "ipv4_mapped", None) or address


def _is_trusted_proxy(address: Address) -> bool:
    return any(
        address in ipaddress.ip_network(network, strict=False)
        for network in settings.CLINIC_TRUSTED_PROXIES
    )


def client_ip(request: HttpRequest) -> str:
    """The client's address, seen past the trusted proxies in front of the app."""
    peer = _address(request.META.get("REMOTE_ADDR", ""))
    if peer is None:
        return ""
    if not _is_trusted_proxy(peer):
        return str(peer)
    for part in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        address = _address(part)
        if address is None:
            break
        peer = address
        if not _is_trusted_proxy(address):
            break
    return str(peer)

"""Sign-in protection, seen over HTTP: lockout, passwords, session expiry, two-factor."""

import logging
from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.test import RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.security import client_ip
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

WRONG = "Wrong-Guess-Sekret-4711"


def sign_in(client, username, password, **extra):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": reverse("admin:index")},
        **extra,
    )


def is_signed_in(client):
    return client.get(reverse("admin:index")).status_code == 200


# Lockout ------------------------------------------------------------------------------


def test_five_failures_lock_the_account_from_that_address(client):
    UserFactory(username="nurse")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "nurse", WRONG).status_code == 200  # the form, with an error
    locked = sign_in(client, "nurse", WRONG)
    assert locked.status_code == 429

    # Even the right password is refused while locked, with a friendly page.
    response = sign_in(client, "nurse", PASSWORD)
    html = response.content.decode()
    assert response.status_code == 429
    assert "Sign-in paused" in html and "30 minutes" in html and "call the clinic" in html
    assert "988" in html  # the site frame, crisis notice included
    assert not is_signed_in(client)


def test_lockout_ends_after_the_cool_off(client):
    UserFactory(username="nurse")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "nurse", WRONG)
    assert sign_in(client, "nurse", PASSWORD).status_code == 429
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        assert sign_in(client, "nurse", PASSWORD).status_code == 302
        assert is_signed_in(client)


def test_lockout_is_per_account_and_address(client):
    """A guesser elsewhere cannot lock a colleague out of their own desk."""
    UserFactory(username="nurse")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "nurse", WRONG, REMOTE_ADDR="203.0.113.9")
    assert sign_in(client, "nurse", PASSWORD, REMOTE_ADDR="198.51.100.7").status_code == 302


def test_attempted_password_is_never_recorded_or_logged(client, caplog):
    UserFactory(username="nurse")
    with caplog.at_level(logging.DEBUG):
        sign_in(client, "nurse", WRONG)
    attempt = AccessAttempt.objects.get()
    assert WRONG not in attempt.post_data and WRONG not in attempt.get_data
    assert WRONG not in caplog.text


# Passwords ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("new_password", "complaint"),
    [
        ("Sh0rt-pass", "too short"),
        ("password12345", "too common"),
        ("583920174650", "entirely numeric"),
        ("nurse.jackson", "too similar"),
    ],
)
def test_admin_password_change_refuses_weak_passwords(client, new_password, complaint):
    user = UserFactory(username="nurse.jackson")
    client.force_login(user)
    response = client.post(
        reverse("admin:password_change"),
        {"old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password},
    )
    assert response.status_code == 200
    assert complaint in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_admin_password_change_accepts_a_strong_password(client):
    user = UserFactory(username="nurse")
    client.force_login(user)
    strong = "lantern-orchard-velvet-42"
    response = client.post(
        reverse("admin:password_change"),
        {"old_password": PASSWORD, "new_password1": strong, "new_password2": strong},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(strong)


# Sessions -----------------------------------------------------------------------------


def test_anonymous_public_page_sets_no_cookie(client):
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert dict(response.cookies) == {}


def test_staff_session_expires_after_idle_time_and_slides(client):
    assert settings.SESSION_COOKIE_AGE == 1800  # DJANGO_SESSION_IDLE_SECONDS default
    client.force_login(UserFactory())
    response = client.get(reverse("admin:index"))
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == 1800  # re-sent on every request: idle time, not total
    with time_machine.travel(timezone.now() + timedelta(seconds=1801)):
        assert client.get(reverse("admin:index")).status_code == 302


# Two-factor ---------------------------------------------------------------------------


def confirmed_device(user):
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


@override_settings(CLINIC_REQUIRE_2FA=True)
def test_required_2fa_refuses_password_without_code(client):
    confirmed_device(UserFactory(username="nurse"))
    login_page = client.get(reverse("admin:login")).content.decode()
    assert 'name="otp_token"' in login_page
    response = sign_in(client, "nurse", PASSWORD)
    assert response.status_code == 200
    assert not is_signed_in(client)


@override_settings(CLINIC_REQUIRE_2FA=True)
def test_required_2fa_accepts_password_with_current_code(client):
    device = confirmed_device(UserFactory(username="nurse"))
    response = client.post(
        reverse("admin:login"),
        {
            "username": "nurse",
            "password": PASSWORD,
            "otp_device": device.persistent_id,
            "otp_token": f"{totp(device.bin_key):06d}",
            "next": reverse("admin:index"),
        },
    )
    assert response.status_code == 302
    assert is_signed_in(client)


@override_settings(CLINIC_REQUIRE_2FA=True)
def test_required_2fa_shuts_out_unverified_sessions_and_users_without_device(client):
    user = UserFactory(username="nurse")
    client.force_login(user)  # a password-only session, e.g. from before the switch
    assert client.get(reverse("admin:index")).status_code == 302
    client.logout()
    response = client.post(
        reverse("admin:login"),
        {"username": "nurse", "password": PASSWORD, "otp_token": "123456"},
    )
    assert response.status_code == 200
    assert not is_signed_in(client)


def test_optional_2fa_signs_in_with_password_only(client):
    UserFactory(username="nurse")
    assert 'name="otp_token"' not in client.get(reverse("admin:login")).content.decode()
    assert sign_in(client, "nurse", PASSWORD).status_code == 302


def test_staff_member_sets_up_own_device_with_qr_code(client):
    user = UserFactory(username="nurse")
    client.force_login(user)
    add_url = reverse("admin:otp_totp_totpdevice_add")
    assert client.get(add_url).status_code == 200
    response = client.post(add_url, {"name": "My phone"})
    device = TOTPDevice.objects.get(user=user)
    change_url = reverse("admin:otp_totp_totpdevice_change", args=[device.pk])
    assert response.status_code == 302 and response["Location"] == change_url
    assert not device.confirmed

    html = client.get(change_url).content.decode()
    assert 'src="data:image/svg+xml;base64,' in html

    wrong = client.post(change_url, {"name": "My phone", "token": "000000"})
    assert wrong.status_code == 200 and "did not match" in wrong.content.decode()
    device.refresh_from_db()
    assert not device.confirmed

    device.throttle_reset()
    client.post(change_url, {"name": "My phone", "token": f"{totp(device.bin_key):06d}"})
    device.refresh_from_db()
    assert device.confirmed
    assert "data:image" not in client.get(change_url).content.decode()  # secret hidden now


def test_staff_cannot_see_colleagues_devices(client):
    other = confirmed_device(UserFactory(username="colleague"))
    client.force_login(UserFactory(username="nurse"))
    changelist = client.get(reverse("admin:otp_totp_totpdevice_changelist"))
    assert changelist.status_code == 200
    assert "colleague" not in changelist.content.decode()
    change = client.get(reverse("admin:otp_totp_totpdevice_change", args=[other.pk]))
    assert change.status_code == 302  # "does not exist" redirect back to the index


def test_superuser_sets_up_a_device_for_a_colleague(admin_client):
    colleague = UserFactory(username="colleague")
    response = admin_client.post(
        reverse("admin:otp_totp_totpdevice_add"), {"user": colleague.pk, "name": "Work phone"}
    )
    assert response.status_code == 302
    device = TOTPDevice.objects.get()
    assert device.user == colleague
    listing = admin_client.get(reverse("admin:otp_totp_totpdevice_changelist"))
    assert "Work phone" in listing.content.decode()


# Client address behind proxies --------------------------------------------------------


PROXY = "10.0.0.2"


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("198.51.100.1", "203.0.113.5", "198.51.100.1"),  # not a listed proxy: header ignored
        (PROXY, "", PROXY),
        (PROXY, "198.51.100.1, 203.0.113.5", "203.0.113.5"),  # the left part is spoofable
        (PROXY, "198.51.100.1, 203.0.113.5, 10.0.0.9", "203.0.113.5"),  # two listed proxies
        (PROXY, "not-an-ip", PROXY),  # garbage stops at the proxy that handed it on
        (PROXY, "203.0.113.5, not-an-ip", PROXY),
        (PROXY, " 2001:db8::7 ", "2001:db8::7"),
        ("::ffff:10.0.0.2", "203.0.113.5", "203.0.113.5"),  # IPv4 peer seen over IPv6
        (PROXY, "10.0.0.9", "10.0.0.9"),  # only proxies: the furthest one
    ],
)
def test_client_ip_reads_the_header_only_from_listed_proxies(settings, peer, forwarded, expected):
    settings.CLINIC_TRUSTED_PROXIES = ["10.0.0.0/24"]
    request = RequestFactory().get("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_no_listed_proxy_means_the_header_is_never_read(settings):
    settings.CLINIC_TRUSTED_PROXIES = []
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert client_ip(request) == PROXY


@override_settings(CLINIC_TRUSTED_PROXIES=[PROXY])
def test_a_fresh_forged_header_per_attempt_does_not_escape_the_lockout(client):
    UserFactory(username="nurse")
    for attempt in range(8):
        sign_in(client, "nurse", WRONG, HTTP_X_FORWARDED_FOR=f"203.0.113.{attempt}")
    response = sign_in(client, "nurse", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.99")
    assert response.status_code == 429
    assert not is_signed_in(client)


@override_settings(CLINIC_TRUSTED_PROXIES=[PROXY])
def test_not_an_ip_from_the_proxy_is_no_error(client):
    UserFactory(username="nurse")
    response = sign_in(client, "nurse", WRONG, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="not-an-ip")
    assert response.status_code == 200
    assert AccessAttempt.objects.get().ip_address == PROXY
    response = sign_in(
        client, "nurse", PASSWORD, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="not-an-ip"
    )
    assert response.status_code == 302


# Password spraying ---------------------------------------------------------------------


@override_settings(CLINIC_SIGN_IN_ADDRESS_FAILURE_LIMIT=20)
def test_spraying_many_usernames_from_one_address_is_paused(client):
    UserFactory(username="nurse")
    usernames = [f"user{n}" for n in range(10)]
    responses = [sign_in(client, usernames[n % 10], WRONG) for n in range(30)]
    paused = ["sign-in is paused here" in r.content.decode() for r in responses]
    assert paused == [False] * 20 + [True] * 10
    # Even a right password is not checked from that address now...
    assert "sign-in is paused here" in sign_in(client, "nurse", PASSWORD).content.decode()
    assert not is_signed_in(client)
    # ...while another address signs in as usual.
    assert sign_in(client, "nurse", PASSWORD, REMOTE_ADDR="198.51.100.7").status_code == 302


@override_settings(CLINIC_SIGN_IN_ADDRESS_FAILURE_LIMIT=3)
def test_the_pause_ends_after_the_cool_off(client):
    UserFactory(username="nurse")
    for n in range(3):
        sign_in(client, f"user{n}", WRONG)
    assert "sign-in is paused here" in sign_in(client, "nurse", PASSWORD).content.decode()
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        assert sign_in(client, "nurse", PASSWORD).status_code == 302

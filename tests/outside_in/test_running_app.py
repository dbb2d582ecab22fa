"""Attacks from outside on the app as production runs it (see conftest.py), over HTTP.

One module, in order: bookings (forged headers against the rate limit, a served form
replayed from fresh sessions, the same form sent twice at once), the patient's
emailed manage link, the staff bulk-action race against the patient's cancel, sign-in
(forged headers against the lockout, spraying, not-an-ip), every anonymous URL with NUL
and 100 kB values, and last the scan of every log line the server and worker wrote.
"""

import itertools
import re
import threading
import time

import psycopg
import pytest

from tests.consultations.conftest import VALID_ANSWERS
from tests.outside_in.conftest import MIN_SECONDS, PROXY, STAFF_PASSWORD, STAFF_USER, hidden_fields

pytestmark = pytest.mark.outside_in
ADMIN = "/admin/"
LOGIN = "/admin/login/"


def booking_forms(app, count, source=PROXY, forwarded=None):
    """Open `count` booking forms, each in its own browser; wait out the time trap."""
    opened = []
    for n in range(count):
        browser = app.browser(source)
        headers = {"X-Forwarded-For": forwarded(n)} if forwarded else {}
        # The times the patient's state may book (video and phone need a clinician
        # licensed there), as the page offers them once the state is chosen.
        page = browser.get(f"/book/?state={VALID_ANSWERS['state']}", headers=headers)
        assert page.status == 200
        slots = re.findall(r'name="slot" value="(\d+)"', page.text)
        opened.append((browser, headers, hidden_fields(page.text), slots))
    time.sleep(MIN_SECONDS + 0.2)
    return opened


PATIENT_NUMBERS = itertools.count()


def send(opened, slot=None):
    browser, headers, hidden, slots = opened
    data = {**VALID_ANSWERS, **hidden, "slot": slot or "none", "preferred_times": "Mornings"}
    # Each a different patient: an email address has its own ceiling, tested on its own.
    data["email"] = f"patient-{next(PATIENT_NUMBERS)}@example.com"
    return browser.post("/book/", data, headers=headers)


def sign_in(browser, username, password, forwarded=None):
    page = browser.get(LOGIN)
    data = {**hidden_fields(page.text), "username": username, "password": password}
    data["next"] = ADMIN
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return browser.post(LOGIN, data, headers=headers)


def test_a_fresh_forged_header_per_booking_does_not_escape_the_rate_limit(running_app):
    opened = booking_forms(
        running_app, 12, source="127.0.0.1", forwarded=lambda n: f"203.0.113.{n}"
    )
    statuses = [send(form).status for form in opened]
    assert statuses.count(302) == 5 and statuses.count(429) == 7, statuses


def test_behind_the_proxy_each_patient_has_their_own_limit(running_app):
    opened = booking_forms(running_app, 7, forwarded=lambda n: f"198.51.100.{n}")
    assert [send(form).status for form in opened] == [302] * 7


def test_one_served_form_replayed_from_fresh_sessions_books_nothing(running_app):
    ((browser, headers, hidden, _),) = booking_forms(
        running_app, 1, forwarded=lambda n: "198.18.0.1"
    )
    for n in range(5):
        other = running_app.browser(PROXY)
        other_headers = {"X-Forwarded-For": f"198.18.1.{n}"}
        page = other.get("/book/", headers=other_headers)
        assert page.status == 200
        # The replayer's own CSRF token (that check is not what is tested), the form's rest.
        own = {"csrfmiddlewaretoken": hidden_fields(page.text)["csrfmiddlewaretoken"]}
        data = {**VALID_ANSWERS, **hidden, **own, "slot": "none", "preferred_times": "Mornings"}
        replay = other.post("/book/", data, headers=other_headers)
        assert replay.status == 200 and "This form had expired" in replay.text
    assert send((browser, headers, hidden, [])).status == 302


def test_the_same_form_sent_twice_at_once_books_once_and_names_it(running_app):
    ((browser, headers, hidden, slots),) = booking_forms(
        running_app, 1, forwarded=lambda n: "198.18.2.1"
    )
    barrier = threading.Barrier(2)
    answers = []

    def run():
        barrier.wait()
        answers.append(send((browser, headers, hidden, slots), slot=slots[-1]))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status for a in answers) == [200, 302], [a.status for a in answers]
    again = next(a for a in answers if a.status == 200).text
    reference = re.search(r"You already sent this request: (CR-[A-Z0-9]{6})", again).group(1)
    assert "just taken" not in again
    assert reference in browser.get("/book/requested/").text


def test_the_emailed_manage_link_answers_get_and_head(running_app):
    links = running_app.manage_links(at_least=3)
    assert len(links) >= 3
    patient = running_app.browser(PROXY)
    page = patient.get(links[0])
    assert page.status == 200 and "Cancel my request" in page.text
    assert page.headers["Referrer-Policy"] == "strict-origin"
    assert patient.request("HEAD", links[0]).status == 200
    assert patient.request("PUT", links[0]).status in (403, 405)  # CSRF comes first


def test_racing_bulk_confirm_and_patient_cancel_never_reopen(running_app):
    references = []
    for n, form in enumerate(booking_forms(running_app, 4, forwarded=lambda n: f"192.0.2.{n}")):
        # The latest times: those in the next 24 hours cannot be cancelled online.
        assert send(form, slot=form[3][-1 - n]).status == 302
        done = form[0].get("/book/requested/")
        references.append(re.search(r"CR-[A-Z0-9]{6}", done.text).group(0))
    staff = running_app.browser(PROXY)
    assert sign_in(staff, STAFF_USER, STAFF_PASSWORD, "192.0.2.200").status == 302
    for reference in references:
        link = running_app.manage_link_for(reference)
        patient = running_app.browser(PROXY)
        page = patient.get(link)
        assert "Cancel my request" in page.text
        listing = staff.get(f"{ADMIN}consultations/consultationrequest/?q={reference}")
        pk = re.search(r"consultationrequest/(\d+)/change/", listing.text).group(1)
        action = {
            **hidden_fields(listing.text),
            "action": "mark_confirmed",
            "_selected_action": pk,
        }
        # The manage page's "Cancel my request" opens the page that asks first.
        cancel_link = link + "cancel/"
        assert f'href="{cancel_link}"' in page.text
        cancel = hidden_fields(patient.get(cancel_link).text)
        barrier = threading.Barrier(2)
        results = {}

        def run(name, browser, path, data, barrier=barrier, results=results):
            barrier.wait()
            results[name] = browser.post(path, data).status

        threads = [
            threading.Thread(target=run, args=("patient", patient, cancel_link, cancel)),
            threading.Thread(
                target=run,
                args=("staff", staff, f"{ADMIN}consultations/consultationrequest/", action),
            ),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results == {"patient": 302, "staff": 302}
        after = patient.get(link).text
        assert "is cancelled" in after, reference


def test_forged_headers_neither_escape_the_lockout_nor_forge_the_audit_trail(running_app):
    direct = running_app.browser("127.0.0.1")
    for attempt in range(8):
        sign_in(direct, STAFF_USER, "wrong-" + str(attempt), forwarded=f"203.0.113.{attempt}")
    assert sign_in(direct, STAFF_USER, STAFF_PASSWORD, forwarded="203.0.113.99").status != 302
    assert direct.get(ADMIN).status == 302  # still signed out

    staff = running_app.browser(PROXY)
    assert sign_in(staff, STAFF_USER, STAFF_PASSWORD, "not-an-ip").status == 302
    listing = staff.get(f"{ADMIN}consultations/consultationrequest/")
    pk = re.search(r"consultationrequest/(\d+)/change/", listing.text).group(1)
    change = f"{ADMIN}consultations/consultationrequest/{pk}/change/"
    assert staff.get(change, headers={"X-Forwarded-For": "not-an-ip"}).status == 200
    assert staff.get(change, headers={"X-Forwarded-For": "192.0.2.77"}).status == 200
    trail = staff.get(f"{ADMIN}consultations/auditevent/").text
    assert "192.0.2.77" in trail and PROXY in trail and "203.0.113" not in trail


def test_spraying_usernames_from_one_address_is_paused(running_app):
    sprayer = running_app.browser(PROXY)
    answers = [
        sign_in(sprayer, f"user{n}", "Spring2026!", forwarded="198.51.100.250").text
        for n in range(6)
    ]
    assert ["sign-in is paused here" in text for text in answers] == [False] * 4 + [True] * 2


def test_coordinators_cannot_query_fields_the_list_does_not_offer(running_app):
    staff = running_app.browser(PROXY)
    assert sign_in(staff, STAFF_USER, STAFF_PASSWORD, "192.0.2.201").status == 302
    for query in ("email__contains=example", "manage_key__startswith=a", "full_name__gt=A"):
        assert staff.get(f"{ADMIN}consultations/consultationrequest/?{query}").status == 400


ANONYMOUS_PATHS = [
    "/",
    "/articles/",
    "/glossary/",
    "/search/",
    "/feed/",
    "/sitemap.xml",
    "/robots.txt",
    "/book/",
    "/book/requested/",
    "/book/requested/calendar.ics",
    "/book/manage/nonsense/",
    "/healthz",
    LOGIN,
]


def test_every_anonymous_url_survives_nul_and_100_kb_values(running_app):
    visitor = running_app.browser("127.0.0.1")
    huge = "x" * 100_000
    for path in ANONYMOUS_PATHS:
        for query in ("q=%00", "topic=%00", "page=%00", "q=a%00b&topic=x%00", f"q={huge}"):
            status = visitor.get(f"{path}?{query}").status
            assert status < 500, (path, query[:20], status)
        for body in ({"q": "\x00"}, {"username": huge, "password": "x"}, {"full_name": "\x00"}):
            assert visitor.post(path, body).status < 500, path
    for prefix in ("/articles/", "/topics/", "/book/manage/"):
        assert visitor.get(prefix + "%00/").status == 404


def test_pages_outlive_the_database_ending_every_connection(running_app):
    """A database restart, a failover or pg_terminate_backend ends the connections each
    worker keeps between requests. The next requests notice before their first query and
    open new ones: nobody meets the outage page or a kept copy."""
    url = running_app.env["DATABASE_URL"]
    if not url.startswith("postgres"):
        pytest.skip("PostgreSQL ends connections; SQLite has none to end")
    browser = running_app.browser()
    for _ in range(8):  # both workers hold a connection (the booking page is never kept)
        assert browser.get("/book/").status == 200
    others = """
        SELECT pid FROM pg_stat_activity WHERE datname = current_database()
        AND pid <> pg_backend_pid() AND backend_type = 'client backend'"""
    with psycopg.connect(url, autocommit=True) as database:
        ended = [pid for (pid,) in database.execute(others)]
        for pid in ended:
            database.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
        assert ended and not set(ended) & {pid for (pid,) in database.execute(others)}

    for _ in range(8):
        page = browser.get("/book/")
        assert page.status == 200 and 'name="full_name"' in page.text
        assert "Clinic-Notice" not in page.headers


def test_no_log_line_holds_a_token_or_a_traceback(running_app):
    links = running_app.manage_links(at_least=12)
    tokens = [link.split("/")[3] for link in links]
    assert tokens
    log = running_app.log()
    assert "/book/manage/[redacted]/" in log
    for token in tokens:
        assert token not in log and token.split(":")[0] not in log
    # No 500 anywhere (refused admin lookups are logged by django.security, as they
    # should be), and no raw control character from a request reached the file.
    assert "Internal Server Error" not in log and not re.search(r'" 5\d\d ', log)
    assert "\x00" not in log

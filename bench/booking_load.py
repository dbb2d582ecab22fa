"""Booking submissions for `make bench`: book every open slot, two patients per slot.

Each round GETs one booking form per patient (a new session each, so a new one-time
token and signed start time), waits out CLINIC_BOOKING_MIN_SECONDS once, then POSTs all
the forms at once: two patients race for each slot offered, so exactly one of each pair
should be booked and the other told the time was just taken. Rounds repeat until the
form offers no open slot. Then the database is checked: one request per success, no
slot over capacity, no duplicate, every place held by exactly one request.
"""

import concurrent.futures
import html
import os
import re
import statistics
import time
from dataclasses import dataclass, field
from http.client import HTTPConnection
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

PATIENTS_PER_SLOT = 2
THREADS = 16
MAX_ROUNDS = int(os.environ.get("BENCH_BOOKING_ROUNDS", "10"))
DEADLINE_SECONDS = 90
TAKEN_TEXT = "That time was just taken"


@dataclass
class Outcome:
    result: dict | None
    ok: bool
    notes: list[str] = field(default_factory=list)


class Patient:
    """One browser: its own cookies, one form fetched, one submission."""

    def __init__(self, base: str, number: int):
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.number = number
        self.cookies: dict[str, str] = {}
        self.fields: dict[str, str] = {}
        self.slots: list[str] = []

    def _request(self, method: str, path: str, body: str | None = None):
        conn = HTTPConnection(self.host, self.port, timeout=30)
        headers = {"Host": f"{self.host}:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return response.status, response.getheader("Location", ""), response.read().decode()
        finally:
            conn.close()

    def fetch_form(self) -> int:
        # The patients live in New York: the page lists the times legal there.
        status, _, page = self._request("GET", "/book/?state=NY")
        if status == 200:
            for tag in re.findall(r"<input\b[^>]*>", page):
                name = re.search(r'name="([^"]+)"', tag)
                value = re.search(r'value="([^"]*)"', tag)
                if not name:
                    continue
                if name.group(1) == "slot":
                    if value and value.group(1).isdigit():
                        self.slots.append(value.group(1))
                elif 'type="hidden"' in tag:
                    self.fields[name.group(1)] = html.unescape(value.group(1) if value else "")
        return status

    def submit(self, slot: str) -> tuple[str, float]:
        data = self.fields | {
            "slot": slot,
            "full_name": f"Bench Patient {self.number}",
            "email": f"bench-{self.number}@example.com",
            "phone": "(212) 555-0123",  # 555-01xx: fictional, yet a valid US number
            "preferred_contact": "email",
            "state": "NY",
            "is_adult": "on",
            "has_therapist": "no",
            "contact_consent": "on",
            "not_emergency_ack": "on",
            "website": "",
        }
        started = time.perf_counter()
        try:
            status, location, page = self._request("POST", "/book/", urlencode(data))
        except OSError:
            return "error", time.perf_counter() - started
        elapsed = time.perf_counter() - started
        if status == 302 and location.endswith("/book/requested/"):
            return "booked", elapsed
        if status == 200 and TAKEN_TEXT in page:
            return "taken", elapsed
        if status == 200:
            # The form came back with errors: name the first, so the run says what broke.
            summary = re.search(r'class="[^"]*error-summary.*?<li>(.*?)</li>', page, re.S)
            reason = re.sub(r"<[^>]+>", "", summary.group(1)).strip() if summary else "?"
            return f"form error: {reason}", elapsed
        return f"unexpected {status}", elapsed


def _ensure_open_slots() -> int:
    """Slots for this run when a reused database has none open: 8 weekdays, 4 a day.

    They belong to a new sample clinician licensed in New York (where the bench's patients
    live), so they never overlap an earlier run's, and start two days ahead, inside the
    booking window.
    """
    from datetime import time as clock
    from datetime import timedelta

    from django.utils import timezone

    from consultations.models import AvailabilitySlot, Clinician, Modality
    from consultations.services import availability_slot_series_create

    if AvailabilitySlot.objects.bookable(state="NY").exists():
        return 0
    clinician = Clinician.objects.create(
        display_name=f"Bench clinician {Clinician.objects.count() + 1} (sample)", is_sample=True
    )
    clinician.states.create(state="NY")
    start = timezone.localdate() + timedelta(days=2)
    made, _ = availability_slot_series_create(
        clinician=clinician,
        start_date=start,
        end_date=start + timedelta(days=11),
        weekdays=range(5),
        start_times=[clock(9, 30), clock(11), clock(14), clock(16, 30)],
        duration_minutes=30,
        modality=Modality.VIDEO,
    )
    return made


def _database_counts():
    from consultations.models import AvailabilitySlot, ConsultationRequest

    return (
        ConsultationRequest.objects.count(),
        AvailabilitySlot.objects.bookable(state="NY").count(),
    )


def _database_problems(first_id: int, booked: int) -> list[str]:
    from django.db.models import Count, F, Q

    from consultations.models import AvailabilitySlot, ConsultationRequest

    problems = []
    made = ConsultationRequest.objects.filter(pk__gt=first_id, email__startswith="bench-")
    if made.count() != booked:
        problems.append(f"{made.count()} requests stored for {booked} successful answers")
    repeated = made.values("email").annotate(n=Count("pk")).filter(n__gt=1).count()
    if repeated:
        problems.append(f"{repeated} patients stored more than once")
    if AvailabilitySlot.objects.filter(held__gt=F("capacity")).exists():
        problems.append("a slot is held beyond its capacity")
    mismatched = (
        AvailabilitySlot.objects.annotate(
            holding=Count("requests", filter=Q(requests__holds_place=True))
        )
        .exclude(held=F("holding"))
        .count()
    )
    if mismatched:
        problems.append(f"{mismatched} slots whose held count differs from their requests")
    if AvailabilitySlot.objects.bookable(state="NY").exists():
        problems.append("open slots are left after the run")
    overlapping = [
        slot.pk
        for slot in AvailabilitySlot.objects.all()
        if AvailabilitySlot.objects.overlapping(
            clinician_id=slot.clinician_id, starts_at=slot.starts_at, ends_at=slot.ends_at
        )
        .exclude(pk=slot.pk)
        .exists()
    ]
    if overlapping:
        problems.append(f"{len(overlapping)} slots overlap another of their clinician's")
    return problems


def run(base: str) -> Outcome:
    import django

    django.setup()
    from consultations.models import ConsultationRequest

    first_id = ConsultationRequest.objects.order_by("-pk").values_list("pk", flat=True).first()
    first_id = first_id or 0
    added = _ensure_open_slots()
    _, open_before = _database_counts()
    wait = float(os.environ.get("CLINIC_BOOKING_MIN_SECONDS", "3")) + 0.2
    tally: dict[str, int] = {}
    latencies: list[float] = []
    post_seconds = 0.0
    deadline = time.monotonic() + DEADLINE_SECONDS
    number = 0
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        for _round in range(MAX_ROUNDS):
            if time.monotonic() > deadline:
                break
            scout = Patient(base, 0)
            scout.fetch_form()
            if not scout.slots:
                break
            patients = []
            for slot in scout.slots:
                for _ in range(PATIENTS_PER_SLOT):
                    number += 1
                    patients.append((Patient(base, number), slot))
            statuses = list(pool.map(lambda pair: pair[0].fetch_form(), patients))
            for status in statuses:
                if status != 200:
                    tally[f"form {status}"] = tally.get(f"form {status}", 0) + 1
            time.sleep(wait)  # the minimum time a person takes to fill the form
            started = time.perf_counter()
            results = list(pool.map(lambda pair: pair[0].submit(pair[1]), patients))
            post_seconds += time.perf_counter() - started
            for outcome, elapsed in results:
                tally[outcome] = tally.get(outcome, 0) + 1
                latencies.append(elapsed)

    booked = tally.get("booked", 0)
    errors = sum(n for kind, n in tally.items() if kind not in ("booked", "taken"))
    notes = [
        f"booking: {open_before} open slots"
        + (f" ({added} added for this run)" if added else "")
        + f", {len(latencies)} submissions: "
        + ", ".join(f"{n} {kind}" for kind, n in sorted(tally.items()))
    ]
    problems = _database_problems(first_id, booked)
    if not booked:
        problems.append("nothing was booked")
    notes += [f"booking PROBLEM: {problem}" for problem in problems]
    if not problems:
        notes.append(
            "booking: database agrees: one request per success, none duplicated, "
            "no slot over capacity, no open slot left"
        )
    latencies.sort()
    result = {
        "rps": len(latencies) / post_seconds if post_seconds else 0.0,
        "p50": statistics.median(latencies) * 1000 if latencies else 0.0,
        "p99": latencies[int(len(latencies) * 0.99)] * 1000 if latencies else 0.0,
        "errors": errors,
    }
    return Outcome(result=result, ok=not problems and not errors, notes=notes)

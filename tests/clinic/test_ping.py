"""The benchmark's baseline view: a fixed answer through the whole middleware stack."""

import pytest
from django.urls import reverse


def test_ping_answers_ok_through_the_middleware_stack(client):
    response = client.get(reverse("ping"))
    assert reverse("ping") == "/ping"
    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Content-Type"].startswith("text/plain")
    # The same security middleware runs as for every page, so the baseline is fair.
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert not response.cookies


@pytest.mark.django_db
def test_ping_runs_no_query(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        client.get(reverse("ping"))

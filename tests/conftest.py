import pytest
from django.core.cache import cache

from clinic import page_cache


@pytest.fixture(autouse=True)
def _clear_cache():
    """Each test starts with empty caches, so cached details and pages never leak across."""
    cache.clear()
    page_cache.clear()
    yield
    cache.clear()
    page_cache.clear()

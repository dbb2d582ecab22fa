import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clear_cache():
    """Each test starts with an empty cache, so cached clinic details never leak across."""
    cache.clear()
    yield
    cache.clear()

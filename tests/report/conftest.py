from __future__ import annotations

import pytest

from okrbridge.store.db import Store
from tests.dashboard.seed import Seeded, seed


@pytest.fixture
def seeded(store: Store) -> Seeded:
    return seed(store)

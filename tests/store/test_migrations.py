"""Migrations create exactly the models' schema, report what they applied, and tolerate races."""

from __future__ import annotations

import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from okrbridge.store.db import Store
from okrbridge.store.migrate import (
    current_revision,
    head_revision,
    is_current,
    migrations_dir,
    upgrade,
)
from okrbridge.store.models import Base


def test_migrations_dir_is_the_checkout_alembic_folder() -> None:
    assert (migrations_dir() / "env.py").is_file()
    assert (migrations_dir() / "versions").is_dir()


def test_upgrade_builds_exactly_the_models_schema(db_url: str) -> None:
    store = Store(db_url)
    assert current_revision(store) is None
    assert not is_current(store)
    applied = upgrade(store)
    assert applied[0] == "0001"
    assert applied[-1] == head_revision()
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    assert is_current(store)
    assert upgrade(store) == []
    store.dispose()


_UPGRADE = """
import sys
from okrbridge.store.db import Store
from okrbridge.store.migrate import upgrade
print(",".join(upgrade(Store(sys.argv[1]))))
"""


def test_concurrent_upgrades_apply_once(db_url: str) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _UPGRADE, db_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], [err for _, err in outputs]
    applied = sorted(out.strip() for out, _ in outputs)
    assert applied[0] == ""  # the second process found nothing left to apply
    assert applied[1].split(",")[-1] == head_revision()
    store = Store(db_url)
    assert is_current(store)
    store.dispose()

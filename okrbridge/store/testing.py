"""Helpers for tests that need a store: isolated PostgreSQL schemas and their URLs.

Each test gets its own schema `t_<hex>` and a URL that makes every connection use it (libpq's
`options=-csearch_path=...`), so tests run in parallel without seeing each other's rows, and a
subprocess given the URL lands in the same schema.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.pool import NullPool

from okrbridge.store.db import make_engine, normalize_url

__all__ = ["PG_URL_ENV", "isolated_pg_url", "pg_url_with_schema", "test_pg_url"]

PG_URL_ENV = "OKRBRIDGE_TEST_PG_URL"


def test_pg_url() -> str | None:
    """The PostgreSQL server URL for tests, from `OKRBRIDGE_TEST_PG_URL` (None when unset)."""
    return os.environ.get(PG_URL_ENV) or None


def pg_url_with_schema(url: str, schema: str) -> str:
    """`url` with every connection's search_path set to `schema` (password kept: test use)."""
    parsed = normalize_url(url)
    return parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


@contextmanager
def isolated_pg_url(url: str) -> Iterator[str]:
    """Create a fresh schema, yield a URL bound to it, drop the schema afterwards."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = make_engine(url, poolclass=NullPool)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        yield pg_url_with_schema(url, schema)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()

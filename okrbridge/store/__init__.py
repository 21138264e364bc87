"""The store: SQLAlchemy models, engine setup, migrations and repositories."""

from okrbridge.store.db import Store, StoreError, default_store_url, make_engine, redact_url

__all__ = ["Store", "StoreError", "default_store_url", "make_engine", "redact_url"]

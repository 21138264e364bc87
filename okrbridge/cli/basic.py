"""Bodies of `init`, `config check`, `db upgrade` and `checkin`."""

from __future__ import annotations

import math
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from okrbridge.cli.common import EXIT_USAGE, fail, load, open_store, stderr, stdout

if TYPE_CHECKING:
    from okrbridge.config import LoadedConfig


def run_init(path: Path, *, force: bool) -> None:
    from okrbridge.config import render_starter_config

    if path.exists() and not force:
        fail(f"{path} exists; use --force to overwrite it", EXIT_USAGE)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_starter_config(), encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}", EXIT_USAGE)
    stdout().print(
        f"Wrote {path}. Next: [bold]okrbridge config check[/], then [bold]okrbridge sync[/] "
        "(or try [bold]okrbridge demo[/] first)."
    )


def run_config_check(path: Path | None) -> None:
    loaded = load(path)
    config = loaded.config
    krs = sum(len(o.key_results) for o in config.objectives)
    enabled = [name for name, c in config.connectors.items() if c.enabled]
    stdout().print(
        f"{loaded.path}: OK — {len(config.objectives)} objective(s), {krs} key result(s), "
        f"{len(config.initiatives)} initiative(s), connectors: "
        f"{', '.join(enabled) if enabled else 'none enabled'}"
    )
    _check_mapping(loaded)


def _check_mapping(loaded: LoadedConfig) -> None:
    """With tasks in the store from an earlier sync, name initiatives and rules matching none.

    Optional and read-only: no store yet (or an unreadable one) means nothing to say.
    """
    from okrbridge.cli.common import store_url
    from okrbridge.cli.explain import print_unmatched
    from okrbridge.store.db import Store
    from okrbridge.sync.compute import compute

    url = store_url(loaded)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return
    store = None
    try:
        store = Store(url)
        computed = compute(store, loaded.config, now=datetime.now(UTC), record=False)
    except Exception:  # no tables yet, database down: the check above stands on its own
        return
    finally:
        if store is not None:
            store.dispose()
    if computed.tasks:
        stdout().print(
            f"Mapping checked against the {len(computed.tasks)} task(s) the last sync stored.",
            markup=False,
        )
        print_unmatched(stdout(), loaded.config, computed.evaluation)


def _no_config_anywhere(path: Path | None) -> bool:
    from okrbridge.config.files import CONFIG_ENV, DEFAULT_NAME

    return path is None and not os.environ.get(CONFIG_ENV) and not Path(DEFAULT_NAME).exists()


def run_db_upgrade(path: Path | None) -> None:
    """Migrate the configured store; with no config at all, the default one (or
    $OKRBRIDGE_STORE_URL)."""
    from okrbridge.store.db import default_store_url
    from okrbridge.store.migrate import upgrade

    target: LoadedConfig | str
    if _no_config_anywhere(path):
        target = os.environ.get("OKRBRIDGE_STORE_URL") or default_store_url()
    else:
        target = load(path, check_secrets=False)
    with open_store(target, migrate=False) as store:
        applied = upgrade(store)
        if applied:
            stdout().print(f"{store.redacted_url}: applied {', '.join(applied)}", markup=False)
        else:
            stdout().print(f"{store.redacted_url}: already up to date", markup=False)


def run_checkin(
    path: Path | None, key_result: str, value: float, *, confidence: str | None, note: str
) -> None:
    from okrbridge.domain import CheckIn, KRStatus
    from okrbridge.store.repos import add_checkin, sync_definitions

    if not math.isfinite(value):
        # float() reads "nan", "inf" and "1e309" (too large: inf) as numbers; none is a value.
        fail(
            f"the value for {key_result} must be a finite number, e.g. 42 or 0.5 "
            f"(got {value!r}: nan, inf and numbers beyond 1e308 are not values)",
            EXIT_USAGE,
        )
    loaded = load(path, check_secrets=False)
    known = loaded.config.key_results()
    if key_result not in known:
        fail(
            f"unknown key result {key_result!r}; known: {', '.join(sorted(known)) or 'none'}",
            EXIT_USAGE,
        )
    level: KRStatus | None = None
    if confidence is not None:
        try:
            level = KRStatus(confidence.replace("-", "_"))
        except ValueError:
            fail(
                f"--confidence {confidence!r} is not one of {', '.join(s.value for s in KRStatus)}",
                EXIT_USAGE,
            )
    entry = CheckIn(
        key_result_id=key_result, value=value, at=datetime.now(UTC), confidence=level, note=note
    )
    with open_store(loaded) as store, store.session() as session:
        sync_definitions(session, loaded.config.objectives, loaded.config.initiatives)
        add_checkin(session, entry)
    stderr().print(f"checked in {key_result} = {value:g}", markup=False)

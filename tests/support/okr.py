"""A small OKR setup over one connector instance, shared by pipeline and contract tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from okrbridge.config.schema import Config, ConnectorSettings, PushSettings
from okrbridge.domain import Initiative, KeyResult, KeyResultLink, MatchRule, Objective

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)


def okr_config(
    instance: str,
    settings: ConnectorSettings,
    *,
    container: str = "",
    manual_kr: bool = False,
    **push: Any,
) -> Config:
    """Objective with one initiatives-fed KR; the initiative takes tasks labelled `reviews`.

    `manual_kr`: the KR's value comes from check-ins instead, so its status holds however the
    tasks move (the guest promise's "while the key results' statuses hold")."""
    rule = MatchRule(connector=instance, labels_any=["reviews"])
    if container:
        rule = MatchRule(connector=instance, container=container, labels_any=["reviews"])
    return Config(
        connectors={instance: settings},
        push=PushSettings(**push),
        objectives=[
            Objective(
                id="grow",
                title="Grow our new mobile game from launch to leader",
                start=date(2026, 10, 1),
                end=date(2026, 12, 31),
                key_results=[
                    KeyResult(
                        id="kr-reviews",
                        title=">4 stars on over 85% of App Store reviews",
                        metric="percent",
                        start=60,
                        target=85,
                        source="manual" if manual_kr else "initiatives",
                    )
                ],
            )
        ],
        initiatives=[
            Initiative(
                id="review-campaign",
                title="Multi-channel campaign for App Store reviews",
                key_results=[KeyResultLink(id="kr-reviews")],
                match=[rule],
            )
        ],
    )

"""Property tests: whatever arrives, the receiver answers with a deliberate status, never 500."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.web.conftest import Web, delivery, inbox_rows, sign

ALLOWED = {202, 400, 401, 404, 405, 413}
SAFE_TEXT = st.text(st.characters(codec="ascii", exclude_characters="\r\n\x00"), max_size=40)
PROPS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | SAFE_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(SAFE_TEXT, inner, max_size=4),
    max_leaves=12,
)


@PROPS
@given(
    body=st.binary(max_size=6000),
    signed=st.booleans(),
    method=st.sampled_from(["POST", "PUT", "PATCH", "DELETE", "GET"]),
    instance=st.sampled_from(["mem", "other", "mem%00", "m" * 300]),
    extra=st.dictionaries(
        st.sampled_from(["x-memory-signature", "content-type", "x-other"]), SAFE_TEXT, max_size=2
    ),
)
def test_arbitrary_requests_never_500(
    web: Web, body: bytes, signed: bool, method: str, instance: str, extra: dict[str, str]
) -> None:
    headers = {**extra, **(sign(body) if signed else {})}
    response = web.client.request(method, f"/webhooks/{instance}", content=body, headers=headers)
    assert response.status_code in ALLOWED, (response.status_code, response.text)


@PROPS
@given(payload=json_values)
def test_signed_json_of_any_shape_is_stored_or_refused_with_400(web: Web, payload: object) -> None:
    body = json.dumps(payload).encode()
    response = web.client.post("/webhooks/mem", content=body, headers=sign(body))
    assert response.status_code in {202, 400, 413}, response.text
    if response.status_code == 202:
        assert response.json()["status"] in {"accepted", "duplicate"}


@PROPS
@given(ids=st.lists(st.text("ABCDEFGH0123456789", min_size=1, max_size=6), max_size=12))
def test_inbox_holds_each_accepted_delivery_id_once(web: Web, ids: list[str]) -> None:
    accepted = set()
    for delivery_id in ids:
        body = delivery(f"P-{delivery_id}")
        response = web.client.post("/webhooks/mem", content=body, headers=sign(body))
        assert response.status_code == 202
        accepted.add(f"P-{delivery_id}")
    stored = [row[0] for row in inbox_rows(web.store) if row[0].startswith("P-")]
    assert len(stored) == len(set(stored))
    assert accepted <= set(stored)

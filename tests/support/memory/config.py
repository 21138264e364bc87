"""A config file for one memory-tool instance `mem` and the small OKR setup of the tests."""

from __future__ import annotations

from pathlib import Path


def write_config(
    path: Path,
    *,
    tool_url: str,
    store_url: str,
    pull: str = "2s",
    full: str = "1h",
    debounce: str = "0.3s",
    jitter: str = "0s",
) -> Path:
    """A config with one memory instance `mem` and the small OKR setup of the sync tests."""
    path.write_text(
        f"""
[store]
url = "{store_url}"

[schedule]
pull_interval = "{pull}"
full_interval = "{full}"
jitter = "{jitter}"
debounce = "{debounce}"

[web]
max_body_bytes = 65536

[connectors.mem]
type = "memory"
base_url = "{tool_url}"
token_env = "MEMORY_TOKEN"
webhook_secret_env = "MEMORY_WEBHOOK_SECRET"

[[objectives]]
id = "grow"
title = "Grow"
start = 2026-01-01
end = 2027-12-31
  [[objectives.key_results]]
  id = "kr-reviews"
  title = "Reviews"
  start = 60
  target = 85
  source = "initiatives"

[[initiatives]]
id = "review-campaign"
title = "Review campaign"
key_results = [{{ id = "kr-reviews" }}]
  [[initiatives.match]]
  labels_any = ["reviews"]
""",
        encoding="utf-8",
    )
    return path

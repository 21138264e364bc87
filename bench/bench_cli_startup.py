"""How fast `okrbridge --help` (and `--version`) answers: the CLI imports heavy modules lazily.

Prints min / median / max wall time over repeated runs of the installed console script, next
to a bare `python -c pass` for scale. Target: `okrbridge --help` under 0.3 s.

    python bench/bench_cli_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def timed(command: list[str], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    script = shutil.which("okrbridge", path=str(Path(sys.executable).parent)) or "okrbridge"
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "okrbridge --version": [script, "--version"],
        "okrbridge --help": [script, "--help"],
        "okrbridge sync --help": [script, "sync", "--help"],
    }
    print(f"{'command':<24} {'min s':>7} {'median s':>9} {'max s':>7}")
    for name, command in cases.items():
        timed(command, 1)  # warm the file cache
        samples = timed(command, args.runs)
        print(
            f"{name:<24} {min(samples):>7.3f} {statistics.median(samples):>9.3f} "
            f"{max(samples):>7.3f}"
        )


if __name__ == "__main__":
    main()

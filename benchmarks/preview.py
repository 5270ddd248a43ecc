"""POST /v1/preview's generation: in a child process of the API (as shipped) against in the
API's own process (the baseline), one run, side by side.

For each locale: the first preview (the child's start and the engine's lookup tables
included), then warm previews (p50 and p95), and the resident memory the API process gains
(VmRSS before and after). Each mode runs in a fresh interpreter, so neither inherits the
other's loaded tables.

    .venv/bin/python benchmarks/preview.py [--previews 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.users10 import FIELDS

MODES = ("child process (shipped)", "API process (baseline)")


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _spec(locale: str, seed: int) -> Any:
    from generators.spec import parse_spec

    return parse_spec(
        {"name": "users10", "rows": 1_000_000, "format": "csv", "locale": locale,
         "seed": seed, "fields": list(FIELDS)}
    )  # fmt: skip


async def _measure(mode: str, locale: str, previews: int) -> dict[str, float]:
    from api.preview import Previewer, first_rows

    before = _rss_mib()
    previewer = Previewer(seconds=600)
    times = []
    try:
        for seed in range(previews + 1):
            spec = _spec(locale, seed)
            started = time.perf_counter()
            if mode == MODES[0]:
                await previewer.first_rows(spec, 20)
            else:
                await asyncio.to_thread(first_rows, spec, 20)
            times.append(time.perf_counter() - started)
    finally:
        previewer.close()
    warm = times[1:]
    return {
        "first_s": times[0],
        "p50_ms": statistics.median(warm) * 1000,
        "p95_ms": statistics.quantiles(warm, n=20)[-1] * 1000,
        "rss_gain_mib": _rss_mib() - before,
    }


def _child(mode: str, locale: str, previews: int) -> dict[str, float]:
    """One mode and locale in a fresh interpreter; its figures."""
    code = (
        "import asyncio, json, sys; sys.path.insert(0, sys.argv[1]); "
        "from benchmarks.preview import _measure; "
        "print(json.dumps(asyncio.run(_measure(sys.argv[2], sys.argv[3], int(sys.argv[4])))))"
    )
    root = str(Path(__file__).resolve().parent.parent)
    out = subprocess.run(
        [sys.executable, "-c", code, root, mode, locale, str(previews)],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
    ).stdout
    figures: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--previews", type=int, default=20, help="warm previews per case")
    args = parser.parse_args()
    print(f"users10 spec (10 fields), 20 rows shown, {args.previews} warm previews per case\n")
    header = ("locale", "where the rows are made", "first (s)", "warm p50 (ms)",
              "warm p95 (ms)", "API RSS gain (MiB)")  # fmt: skip
    print(" | ".join(header))
    print(" | ".join("-" * len(h) for h in header))
    for locale in ("ja_JP", "en_US"):
        for mode in MODES:
            f = _child(mode, locale, args.previews)
            print(
                f"{locale} | {mode} | {f['first_s']:.2f} | {f['p50_ms']:.0f} | "
                f"{f['p95_ms']:.0f} | {f['rss_gain_mib']:.0f}"
            )


if __name__ == "__main__":
    main()

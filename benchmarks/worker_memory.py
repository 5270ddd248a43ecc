"""Peak memory and speed of the worker's streaming path, against holding the file in memory.

The spec is examples/users.json (7 ja_JP columns) at the row counts asked for. Each case runs
in a fresh child process so its peak RSS is its own:
- streamed: the worker's path, blocks from the engine into a storage writer (local disk here:
  the S3 writer holds at most one part, S3_PART_SIZE, on top of the same stream);
- in memory: the baseline a naive service would use, the whole file built in a BytesIO first.

    .venv/bin/python benchmarks/worker_memory.py [--rows 1000000 5000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPEC = json.loads((Path(__file__).parent.parent / "examples" / "users.json").read_text())


def run_case(mode: str, rows: int, folder: str) -> dict[str, float]:
    """Runs in the child: generates `rows` rows the `mode` way and reports time, size, RSS."""
    import io

    from core.settings import StorageSettings
    from generators.output import iter_encoded
    from generators.spec import parse_spec
    from storage.objects import LocalObjectStore

    spec = parse_spec(SPEC | {"rows": rows})
    started = time.perf_counter()
    if mode == "streamed":
        writer = LocalObjectStore(StorageSettings(local_dir=Path(folder))).open_writer(
            "bench/users.csv", "text/csv"
        )
        for _, data in iter_encoded(spec):
            writer.write(data)
        size = writer.commit().size_bytes
    else:
        buffer = io.BytesIO()
        for _, data in iter_encoded(spec):
            buffer.write(data)
        (Path(folder) / "users.csv").write_bytes(buffer.getvalue())
        size = buffer.tell()
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "bytes": size, "peak_rss_mib": peak_mib}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--child", nargs=2, metavar=("MODE", "ROWS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        with tempfile.TemporaryDirectory() as folder:
            print(json.dumps(run_case(args.child[0], int(args.child[1]), folder)))
        return

    print(f"{'rows':>11} {'mode':<10} {'rows/s':>11} {'MB/s':>7} {'peak RSS MiB':>13}")
    for rows in args.rows:
        for mode in ("streamed", "in memory"):
            out = subprocess.run(
                [sys.executable, __file__, "--child", mode, str(rows)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            result = json.loads(out.strip().splitlines()[-1])
            rate = rows / result["seconds"]
            mbps = result["bytes"] / result["seconds"] / 1e6
            peak = result["peak_rss_mib"]
            print(f"{rows:>11,} {mode:<10} {rate:>11,.0f} {mbps:>7.0f} {peak:>13.0f}")


if __name__ == "__main__":
    main()

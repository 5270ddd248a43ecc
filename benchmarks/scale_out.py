"""Scale-out: one big job on 1 worker process against 2, with the files' checksums compared.

The job is the users10 reference spec (benchmarks/users10.py), CSV, ja_JP, seed 42, 20 million
rows unless --rows says otherwise. Each case runs on a fresh stack (benchmarks/stack.py): the
API and N `tdbuddy worker` processes (each with Dramatiq's WORKER_THREADS threads, 2 as
shipped), the workers planning the job into shards of SHARD_TARGET_BYTES (64 MiB as shipped)
and the last one in joining them. Files go to the local storage backend in a folder on
/dev/shm (tmpfs) when it has room, on the disk otherwise: moto's S3 server (the tests' S3) is
one Python process that would itself be the bottleneck, and a disk's write-back would blur
the workers' rate. Every worker first makes small jobs until each has made one, so that its
lookup tables are built (the start-up of a worker is not the scaling asked about).

Wall time is the job's own: created_at (the submit's commit) to finished_at (the file
complete and its SHA-256 read back), from PostgreSQL's clock; it is split into pickup
(created_at to started_at), shards (started_at to finalizing_at: planning and every shard)
and finalize (joining the parts and reading the file back for its SHA-256: serial work that
more workers do not shorten). The baseline in the same run is `tdbuddy generate` writing the
same file in one process with no service (its time includes its start-up): every file's
SHA-256 must equal its file's.

    .venv/bin/python benchmarks/scale_out.py                  # 20M rows: 1 worker vs 2
    .venv/bin/python benchmarks/scale_out.py --rows 2000000   # a quick run
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.stack import bench_stack, cpu_seconds
from benchmarks.users10 import users10_spec
from tests.services import ROOT, Process, job_when, wait_until

SPEEDUP_BAR = 1.7
BYTES_PER_ROW = 180  # users10 ja_JP as CSV, rounded up: sizes the folder check only
WARM_ROUNDS = 5
WARM_JOBS_PER_WORKER = 4
FINAL_STATES = ("succeeded", "failed", "cancelled")


def files_folder(rows: int) -> Path | None:
    """The shared-memory folder when it can hold the parts and the joined file at once; None:
    the disk."""
    shm = Path("/dev/shm")  # noqa: S108 - a fresh private folder inside it, made by bench_stack
    needed = 2.2 * rows * BYTES_PER_ROW
    return shm if shm.is_dir() and shutil.disk_usage(shm).free > needed else None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def reference_case(spec: dict[str, Any], parent: Path | None) -> dict[str, Any]:
    """`tdbuddy generate` in one process: its wall time (start-up included) and SHA-256."""
    with tempfile.TemporaryDirectory(prefix="tdbuddy-bench-", dir=parent) as folder:
        spec_path, out = Path(folder) / "spec.json", Path(folder) / "users10.csv"
        spec_path.write_text(json.dumps(spec))
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "core.cli", "generate", str(spec_path), "-o", str(out)],
            cwd=ROOT,
            check=False,
            capture_output=True,
        )
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"tdbuddy generate failed:\n{done.stderr.decode()[-3000:]}")
        return {"seconds": seconds, "size": out.stat().st_size, "sha256": sha256_of(out)}


def warm_up(client: httpx.Client, workers: list[Process], locale: str) -> None:
    """Jobs of the same spec until every worker has made one (and so built its tables)."""
    for _ in range(WARM_ROUNDS):
        if all("succeeded" in worker.log_text() for worker in workers):
            return
        # Enough jobs of two blocks at once that the first worker to fetch (Dramatiq
        # prefetches twice its threads) is still busy when the others fetch theirs.
        urls = [
            client.post("/v1/jobs", json=users10_spec(locale, 2 * 65_536, "csv")).headers[
                "Location"
            ]
            for _ in range(WARM_JOBS_PER_WORKER * len(workers))
        ]
        for url in urls:
            job_when(client, url, lambda job: job["state"] in FINAL_STATES, 300)
    raise AssertionError(f"some worker made none of the jobs of {WARM_ROUNDS} warm-up rounds")


JOB_TIMES = """
SELECT extract(epoch FROM finished_at - created_at) AS wall,
       extract(epoch FROM started_at - created_at) AS pickup,
       extract(epoch FROM finalizing_at - started_at) AS shards,
       extract(epoch FROM finished_at - finalizing_at) AS finalize,
       shard_count, size_bytes, sha256, state, error
FROM jobs WHERE id = $1::uuid
"""


async def _job_times(database_url: str, job_id: str) -> dict[str, Any]:
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(JOB_TIMES, job_id)
        return dict(row)
    finally:
        await conn.close()


def service_case(
    workers: int, spec: dict[str, Any], parent: Path | None, extra_env: dict[str, str]
) -> dict[str, Any]:
    """The job on `workers` worker processes: its times, checksum and the workers' CPU time."""
    with bench_stack(storage_parent=parent, extra_env=extra_env) as stack:
        stack.start_api()
        stack.start("scheduler", "scheduler")  # relays the job to the workers
        processes = stack.start_workers(workers)
        stack.wait_ready(processes)
        with stack.client(stack.new_api_key("scale")) as client:
            warm_up(client, processes, spec["locale"])
            cpu_before = sum(cpu_seconds(p.popen.pid) for p in processes)
            answer = client.post("/v1/jobs", json=spec)
            assert answer.status_code == 202, answer.text
            # Long jobs: a poll every half second is plenty, and the times come from the row.
            wait_until(
                lambda: client.get(answer.headers["Location"]).json()["state"] in FINAL_STATES,
                3600,
                "the big job",
                interval=0.5,
            )
            cpu = sum(cpu_seconds(p.popen.pid) for p in processes) - cpu_before
        times = asyncio.run(_job_times(stack.database_url, answer.json()["id"]))
        if times["state"] != "succeeded":
            raise AssertionError(f"the job ended {times['state']}: {times['error']}")
        return {**times, "cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--locale", default="ja_JP")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="cases to run")
    parser.add_argument(
        "--no-reference", action="store_true", help="skip the `tdbuddy generate` baseline"
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment of the product's processes, e.g. WORKER_THREADS=1 (repeatable)",
    )
    args = parser.parse_args()
    extra_env = dict(item.split("=", 1) for item in args.env)
    spec = users10_spec(args.locale, args.rows, "csv")
    parent = files_folder(args.rows)
    where = "tmpfs (/dev/shm)" if parent else "the disk (temporary folder)"
    settings = ", ".join(f"{k}={v}" for k, v in extra_env.items()) or "settings as shipped"
    print(
        f"users10 {args.locale} CSV, {args.rows:,} rows, seed 42; local storage on {where};"
        f" {settings}; times in s"
    )
    print(
        f"{'case':<30} {'wall':>7} {'rows/s':>11} {'speed-up':>8} {'pickup':>7} {'shards':>7}"
        f" {'finalize':>8} {'parts':>5} {'CPU s':>6}  sha256"
    )
    checksums: dict[str, str] = {}
    if not args.no_reference:
        ref = reference_case(spec, parent)
        checksums["reference"] = ref["sha256"]
        print(
            f"{'tdbuddy generate (no service)':<30} {ref['seconds']:>7.1f}"
            f" {args.rows / ref['seconds']:>11,.0f} {'':>8} {'':>7} {'':>7} {'':>8} {'':>5}"
            f" {'':>6}  {ref['sha256'][:16]}…",
            flush=True,
        )
    first_wall = None
    for workers in args.workers:
        case = service_case(workers, spec, parent, extra_env)
        checksums[f"{workers} workers"] = case["sha256"]
        first_wall = first_wall or case["wall"]
        label = f"{workers} worker process" + ("es" if workers > 1 else "")
        # A file too small to split has no shards and no finalize step.
        shards, finalize, parts = (
            (f"{case['shards']:.1f}", f"{case['finalize']:.1f}", str(case["shard_count"]))
            if case["shard_count"]
            else ("-", "-", "1")
        )
        print(
            f"{label:<30} {case['wall']:>7.1f} {args.rows / case['wall']:>11,.0f}"
            f" {first_wall / case['wall']:>7.2f}x {case['pickup']:>7.2f} {shards:>7}"
            f" {finalize:>8} {parts:>5} {case['cpu']:>6.1f}  {case['sha256'][:16]}…",
            flush=True,
        )
    equal = len(set(checksums.values())) == 1
    print(f"checksums {'all equal' if equal else 'DIFFER: ' + json.dumps(checksums)}")
    if len(args.workers) > 1 and first_wall is not None:
        print(f"bar: speed-up >= {SPEEDUP_BAR} with 2 workers on 2 cores, equal checksums")


if __name__ == "__main__":
    main()

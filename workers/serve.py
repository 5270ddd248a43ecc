"""`tdbuddy worker`: Dramatiq's own worker command on this tier's actors."""

from __future__ import annotations

import argparse
import os
import sys

from core.metrics_dir import prepare_metrics_dir
from core.settings import Settings

# Dramatiq's idle consumer waits up to this long (ms) before it looks at the queue again;
# its default of 1000 made a small job wait 0.3 s for pickup at the median and 0.8 s at p99
# (benchmarks/api_load.py --only pickup), for 10 cheap polls a second per idle process.
IDLE_POLL_MS = "100"
SHUTDOWN_GRACE_MS = 10_000


def run_worker(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    threads = args.threads or settings.broker.worker_threads
    argv = [
        sys.executable,
        "-m",
        "dramatiq",
        "workers.app",
        "--processes",
        str(args.processes),
        "--threads",
        str(threads),
        # A job still running this long after a stop is abandoned to its lease; Dramatiq's
        # default of 10 minutes would hold every deploy that long.
        "--worker-shutdown-timeout",
        str(SHUTDOWN_GRACE_MS),
        # Each worker process logs through core/logs.py (JSON with job_id and trace_id);
        # Dramatiq's own text format would otherwise be mixed into the same stream.
        "--skip-logging",
    ]
    if args.queues:
        argv += ["--queues", *args.queues]
    if settings.metrics.worker_port is not None:
        # Every worker process writes its metrics there; one fork process serves them all.
        prepare_metrics_dir("worker", str(settings.metrics.worker_port))
        argv += ["--fork-function", "workers.metrics:serve_metrics"]
    os.environ.setdefault("dramatiq_worker_timeout", IDLE_POLL_MS)
    os.execv(sys.executable, argv)  # noqa: S606 - a fixed argv, no shell
    return 0  # not reached: exec replaces this process

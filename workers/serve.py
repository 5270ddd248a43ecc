"""`tdbuddy worker`: Dramatiq's own worker command on this tier's actors."""

from __future__ import annotations

import argparse
import os
import sys

from core.settings import Settings

# Dramatiq's idle consumer waits up to this long (ms) before it looks at the queue again;
# its default of 1000 made a small job wait 0.3 s for pickup at the median and 0.8 s at p99
# (benchmarks/api_load.py --only pickup), for 10 cheap polls a second per idle process.
IDLE_POLL_MS = "100"
SHUTDOWN_GRACE_MS = 10_000


def run_worker(args: argparse.Namespace) -> int:
    threads = args.threads or Settings.from_env().broker.worker_threads
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
    ]
    if args.queues:
        argv += ["--queues", *args.queues]
    os.environ.setdefault("dramatiq_worker_timeout", IDLE_POLL_MS)
    os.execv(sys.executable, argv)  # noqa: S606 - a fixed argv, no shell
    return 0  # not reached: exec replaces this process

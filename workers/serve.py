"""`tdbuddy worker`: Dramatiq's own worker command on this tier's actors."""

from __future__ import annotations

import argparse
import os
import sys

from core.settings import Settings


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
    ]
    os.execv(sys.executable, argv)  # noqa: S606 - a fixed argv, no shell
    return 0  # not reached: exec replaces this process

"""Where a tier's processes keep their Prometheus samples, so one scrape sees them all.

prometheus_client decides at import whether it runs in multi-process mode, from
PROMETHEUS_MULTIPROC_DIR: the parent of a tier's processes calls `prepare_metrics_dir`
before any of them imports it (this module itself imports no part of it).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_metrics_dir(tier: str, instance: str) -> Path:
    """An empty folder for the samples of this tier's processes, set in the environment.

    PROMETHEUS_MULTIPROC_DIR when set, else a folder per tier and instance (e.g. the port)
    under the temporary folder. It is emptied: samples of an earlier run would be added to
    this one's.
    """
    raw = os.environ.get(MULTIPROC_ENV)
    path = (
        Path(raw) if raw else Path(tempfile.gettempdir()) / "tdbuddy-metrics" / f"{tier}-{instance}"
    )
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(path)
    return path

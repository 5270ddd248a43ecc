"""`tdbuddy api`: the web tier under uvicorn."""

from __future__ import annotations

import argparse

import uvicorn

from core.logs import configure_logging
from core.metrics_dir import prepare_metrics_dir
from core.settings import Settings


def run_api(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    configure_logging(settings.observability)
    # Every uvicorn worker writes its metrics here, and /metrics on any of them adds them up.
    prepare_metrics_dir("api", str(settings.api.port))
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=settings.api.host,
        port=settings.api.port,
        workers=args.workers,
        log_level=settings.observability.log_level.lower(),
        # uvicorn's own lines go through core/logs.py too (create_app sets it up per process).
        log_config=None,
        access_log=False,
        # uvicorn would believe X-Forwarded-For from 127.0.0.1 by default; the app alone
        # decides whom to believe, from TRUSTED_PROXIES (api/proxies.py).
        proxy_headers=False,
    )
    return 0

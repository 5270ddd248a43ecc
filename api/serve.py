"""`tdbuddy api`: the web tier under uvicorn."""

from __future__ import annotations

import argparse

import uvicorn

from core.settings import Settings


def run_api(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=settings.api.host,
        port=settings.api.port,
        workers=args.workers,
        log_level="info",
        access_log=False,
        # uvicorn would believe X-Forwarded-For from 127.0.0.1 by default; the app alone
        # decides whom to believe, from TRUSTED_PROXIES (api/proxies.py).
        proxy_headers=False,
    )
    return 0

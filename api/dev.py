"""`tdbuddy dev`: the whole service on one laptop, with no set-up of the user's own.

Starts an embedded PostgreSQL and Redis when DATABASE_URL / REDIS_URL are not set, keeps files
on the local disk when no S3 bucket is configured, applies migrations, makes a ready API key,
then runs the API, one worker and the scheduler as child processes until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from core.settings import Settings
from storage.accounts import AccountRepository
from storage.commands import apply_migrations
from storage.database import create_pool
from storage.embedded import embedded_services


def _persistent_secret(path: Path, make: str) -> str:
    """The secret kept in `path`, written there (readable by the owner only) on first use."""
    if path.exists():
        return path.read_text().strip()
    path.write_text(make)
    path.chmod(0o600)
    return make


@contextlib.contextmanager
def _services(home: Path, env: dict[str, str]) -> Iterator[dict[str, str]]:
    if env.get("DATABASE_URL") and (env.get("BROKER_URL") or env.get("REDIS_URL")):
        yield env
        return
    with embedded_services(home) as services:
        env.setdefault("DATABASE_URL", services.database_url)
        if not (env.get("BROKER_URL") or env.get("REDIS_URL")):
            env["REDIS_URL"] = services.redis_url
        yield env


def run_dev(args: argparse.Namespace) -> int:
    home = Path(args.home or os.environ.get("TDBUDDY_HOME") or Path.home() / ".tdbuddy")
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if args.port:
        env["API_PORT"] = str(args.port)
    env.setdefault("STORAGE_DIR", str(home / "files"))
    # Notification email lands here as .eml files unless SMTP_HOST is set.
    env.setdefault("MAIL_OUTBOX_DIR", str(home / "outbox"))
    env.setdefault(
        "LINK_SIGNING_KEYS", "1:" + _persistent_secret(home / "link-key", secrets.token_urlsafe(32))
    )
    env.setdefault("RECONCILE_INTERVAL_SECONDS", "5")
    # Readable lines at a terminal, and each finished span printed on one line among them,
    # unless an OTLP endpoint is configured (a local collector or Jaeger gets them then).
    env.setdefault("LOG_FORMAT", "text")
    otlp = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if not any(env.get(name) for name in otlp):
        env.setdefault("OTEL_TRACES_EXPORTER", "console")
    with _services(home, env) as env:
        settings = Settings.from_env(env)
        assert settings.database.url is not None
        asyncio.run(apply_migrations(settings.database.url))
        key_file = home / "dev-api-key"
        kept = key_file.read_text().strip() if key_file.exists() else None
        api_key = asyncio.run(_dev_api_key(settings, kept))
        if api_key != kept:
            key_file.write_text(api_key)
            key_file.chmod(0o600)
        return _supervise(settings, env, api_key)


async def _dev_api_key(settings: Settings, kept: str | None) -> str:
    """The kept key if this database knows it (it may have been reset), else a new one."""
    pool = await create_pool(settings.database)
    try:
        accounts = AccountRepository(pool)
        if kept and await accounts.caller_for_key(kept) is not None:
            return kept
        # The one local user: no plan limit gets in the way of trying the service.
        key = await accounts.create_key(await accounts.create_user("dev", plan="enterprise"))
        return key.secret
    finally:
        await pool.close()


def _supervise(settings: Settings, env: dict[str, str], api_key: str) -> int:
    tdbuddy = [sys.executable, "-m", "core.cli"]
    # Each child leads its own process group: Ctrl-C reaches only this process, which then
    # stops each tier exactly once (a second SIGTERM makes Dramatiq's workers hang).
    children = {
        name: subprocess.Popen([*tdbuddy, *args], env=env, start_new_session=True)
        for name, args in {
            "api": ["api"],
            "worker": ["worker", "--processes", "1"],
            "scheduler": ["scheduler"],
        }.items()
    }
    url = settings.api.public_url
    try:
        ready = _wait_until_ready(url, children)
    except KeyboardInterrupt:
        ready = False
    if not ready:
        _stop(children)
        return 1
    example = '{"name":"users","rows":1000,"format":"csv","locale":"ja_JP","seed":42,"fields":[' + (
        '{"name":"id","type":"sequence"},{"name":"name","type":"full_name"},'
        '{"name":"email","type":"email"},{"name":"age","type":"integer","min":18,"max":90}]}'
    )
    print(
        f"\nTestData Buddy is ready at {url}\n"
        f"  API key:  {api_key}\n"
        f"  web page: {url}/  (paste the API key there)\n"
        f"  API docs: {url}/schema/swagger\n"
        f"  try:      curl -s -X POST {url}/v1/jobs -H 'Authorization: Bearer {api_key}' "
        f"-H 'Content-Type: application/json' -d '{example}'\n"
        f"  CLI:      TDBUDDY_URL={url} TDBUDDY_API_KEY={api_key} \\\n"
        "            tdbuddy submit examples/users.json -o .\n"
        "Press Ctrl-C to stop.\n",
        flush=True,
    )
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                print(f"{name} exited with {child.returncode}; stopping the rest", flush=True)
                exit_code, stopping = 1, True
        time.sleep(0.2)
    _stop(children)
    return exit_code


def _wait_until_ready(url: str, children: dict[str, subprocess.Popen[bytes]]) -> bool:
    """True once the API reports every dependency ready; False if a child dies or 120 s pass."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for name, child in children.items():
            if child.poll() is not None:
                print(f"{name} exited with {child.returncode} while starting", flush=True)
                return False
        try:
            with urllib.request.urlopen(f"{url}/ready", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    print(f"the API at {url} did not become ready within 120 s", flush=True)
    return False


def _stop(children: dict[str, subprocess.Popen[bytes]]) -> None:
    """Stops every tier, then makes sure nothing of theirs outlives the embedded services."""
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=15)
        # The group holds the child's own children too (Dramatiq's worker processes).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()

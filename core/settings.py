"""Every setting of every tier, read from the environment in this one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


class SettingsError(ValueError):
    """A setting in the environment cannot be used; the message names the variable."""


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None


def _str(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name)
    return raw if raw else None


@dataclass(frozen=True)
class DatabaseSettings:
    """PostgreSQL. `url` None means the embedded server of `tdbuddy dev`."""

    url: str | None = None
    pool_min: int = 1
    pool_max: int = 10
    command_timeout: float = 30.0


@dataclass(frozen=True)
class BrokerSettings:
    """The Dramatiq broker: `redis://…` (default) or `amqp://…`."""

    url: str | None = None
    queue: str = "jobs"
    min_backoff_ms: int = 1_000
    max_backoff_ms: int = 60_000
    worker_threads: int = 2


@dataclass(frozen=True)
class StorageSettings:
    """Object storage: an S3 bucket when `s3_bucket` is set, the local disk otherwise."""

    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_prefix: str = "jobs/"
    local_dir: Path = field(default_factory=lambda: Path.home() / ".tdbuddy" / "files")
    part_size: int = 8 * 1024 * 1024
    presign_seconds: int = 300


@dataclass(frozen=True)
class LinkSettings:
    """Download links: HMAC keys by version (newest signs, all verify) and link life."""

    keys: Mapping[int, bytes] = field(default_factory=dict)
    ttl_seconds: int = 24 * 3600

    @property
    def current_version(self) -> int:
        return max(self.keys)


@dataclass(frozen=True)
class JobSettings:
    """How jobs run and how lost ones are found again."""

    # Attempts of one job by any worker, counting both errors and workers that died.
    max_attempts: int = 5
    lease_seconds: float = 60.0
    requeue_after_seconds: float = 30.0
    reconcile_interval_seconds: float = 10.0
    retry_after_seconds: int = 2


@dataclass(frozen=True)
class ApiSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = "http://127.0.0.1:8000"
    page_size_max: int = 100


@dataclass(frozen=True)
class Settings:
    database: DatabaseSettings
    broker: BrokerSettings
    storage: StorageSettings
    links: LinkSettings
    jobs: JobSettings
    api: ApiSettings

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from `env` (default os.environ); SettingsError names any bad variable."""
        env = os.environ if env is None else env
        host = env.get("API_HOST", "127.0.0.1")
        port = _int(env, "API_PORT", 8000)
        return cls(
            database=DatabaseSettings(
                url=_str(env, "DATABASE_URL"),
                pool_min=_int(env, "DATABASE_POOL_MIN", 1),
                pool_max=_int(env, "DATABASE_POOL_MAX", 10),
                command_timeout=_float(env, "DATABASE_COMMAND_TIMEOUT", 30.0),
            ),
            broker=BrokerSettings(
                url=_str(env, "BROKER_URL") or _str(env, "REDIS_URL"),
                queue=env.get("BROKER_QUEUE", "jobs"),
                min_backoff_ms=_int(env, "JOB_MIN_BACKOFF_MS", 1_000),
                max_backoff_ms=_int(env, "JOB_MAX_BACKOFF_MS", 60_000),
                worker_threads=_int(env, "WORKER_THREADS", 2),
            ),
            storage=StorageSettings(
                s3_bucket=_str(env, "S3_BUCKET"),
                s3_endpoint_url=_str(env, "S3_ENDPOINT_URL"),
                s3_region=env.get("S3_REGION", "us-east-1"),
                s3_prefix=env.get("S3_PREFIX", "jobs/"),
                local_dir=Path(env.get("STORAGE_DIR") or Path.home() / ".tdbuddy" / "files"),
                part_size=_int(env, "S3_PART_SIZE", 8 * 1024 * 1024),
                presign_seconds=_int(env, "PRESIGN_SECONDS", 300),
            ),
            links=LinkSettings(
                keys=_link_keys(env.get("LINK_SIGNING_KEYS", "")),
                ttl_seconds=_int(env, "LINK_TTL_SECONDS", 24 * 3600),
            ),
            jobs=JobSettings(
                max_attempts=_int(env, "JOB_MAX_ATTEMPTS", 5),
                lease_seconds=_float(env, "JOB_LEASE_SECONDS", 60.0),
                requeue_after_seconds=_float(env, "JOB_REQUEUE_AFTER_SECONDS", 30.0),
                reconcile_interval_seconds=_float(env, "RECONCILE_INTERVAL_SECONDS", 10.0),
                retry_after_seconds=_int(env, "RETRY_AFTER_SECONDS", 2),
            ),
            api=ApiSettings(
                host=host,
                port=port,
                public_url=(env.get("PUBLIC_URL") or f"http://{host}:{port}").rstrip("/"),
                page_size_max=_int(env, "PAGE_SIZE_MAX", 100),
            ),
        ).validated()

    def validated(self) -> Settings:
        """These settings, after the checks that span more than one variable."""
        if not self.links.keys:
            raise SettingsError(
                "LINK_SIGNING_KEYS is required: 'version:secret[,version:secret…]', "
                "for example '1:' followed by 32+ random characters"
            )
        if self.storage.part_size < 5 * 1024 * 1024:
            raise SettingsError("S3_PART_SIZE must be at least 5 MiB (S3's smallest part)")
        if self.jobs.max_attempts < 1:
            raise SettingsError("JOB_MAX_ATTEMPTS must be at least 1")
        if self.storage.presign_seconds > 300:
            raise SettingsError("PRESIGN_SECONDS must be at most 300 (links are short-lived)")
        return self


def _link_keys(raw: str) -> dict[int, bytes]:
    keys: dict[int, bytes] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        version, sep, secret = item.partition(":")
        if not sep or not version.isdigit() or len(secret) < 16:
            raise SettingsError(
                "LINK_SIGNING_KEYS entries must look like '<version>:<secret of 16+ chars>'"
            )
        keys[int(version)] = secret.encode()
    return keys

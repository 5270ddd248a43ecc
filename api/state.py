"""What the API process holds for its whole life, opened in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
import dramatiq
from litestar import Request

from api.assistant import SchemaAssistant
from api.batching import Batcher
from core.settings import Settings
from storage.accounts import AccountRepository, CachedCallers
from storage.jobs import JobRecord, JobRepository, NewJob
from storage.objects import ObjectStore


@dataclass
class AppState:
    settings: Settings
    pool: asyncpg.Pool
    jobs: JobRepository
    accounts: AccountRepository
    callers: CachedCallers
    store: ObjectStore
    broker: dramatiq.Broker
    inserter: Batcher[NewJob, JobRecord]
    # None without ANTHROPIC_API_KEY: POST /v1/specs/suggest answers 503.
    assistant: SchemaAssistant | None = None

    @staticmethod
    def of(request: Request[Any, Any, Any]) -> AppState:
        state: AppState = request.app.state.resources
        return state

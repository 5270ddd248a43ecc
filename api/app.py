"""The web tier: a thin Litestar app that validates, persists, enqueues and reports."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from api.account import get_account, update_account
from api.admin import AdminController
from api.assistant import SchemaAssistant
from api.auth import provide_caller
from api.cancel import cancel_job
from api.deletion import delete_job
from api.deliveries import list_deliveries, resend_delivery
from api.downloads import download, download_head
from api.errors import JsonBodyRequest, exception_handlers
from api.field_types import field_type_examples, list_field_types
from api.health import health, live, ready
from api.inserting import job_inserter
from api.jobs import JobController
from api.keys import KeyController
from api.metrics import metrics, refreshing_gauges, request_timing
from api.openapi import add_error_responses, add_links, add_spec_schemas
from api.page import web_assets, web_page
from api.preview import preview_dataset, preview_process
from api.ratelimit import RateLimits
from api.security import cors_config, security_headers
from api.state import AppState
from api.suggest import suggest_spec
from api.tracing import traced_requests
from api.webhooks import WebhookController
from core.logs import configure_logging
from core.settings import Settings
from core.tracing import setup_tracing
from storage.accounts import AccountRepository, CachedCallers
from storage.database import create_pool
from storage.jobs import JobRepository
from storage.objects import object_store
from workers.broker import build_broker

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
DOCS_PATH = "/schema"


def create_app(settings: Settings | None = None) -> Litestar:
    """The API application; it opens its pool, store and broker when it starts serving."""
    settings = settings or Settings.from_env()
    configure_logging(settings.observability)
    # Off (no exporter configured): no tracing middleware, so no cost per request.
    tracing = setup_tracing("tdbuddy-api", settings.observability)

    @asynccontextmanager
    async def resources(app: Litestar) -> AsyncIterator[None]:
        pool = await create_pool(settings.database)
        broker = build_broker(settings.broker)
        jobs = JobRepository(pool)
        inserter = job_inserter(jobs)
        accounts = AccountRepository(pool)
        callers = CachedCallers(accounts, pool)
        assistant = SchemaAssistant(settings.assistant) if settings.assistant.api_key else None
        try:
            app.state.resources = AppState(
                settings=settings,
                pool=pool,
                jobs=jobs,
                accounts=accounts,
                callers=callers,
                store=object_store(settings.storage),
                broker=broker,
                inserter=inserter,
                assistant=assistant,
            )
            yield
        finally:
            await inserter.close()
            if assistant is not None:
                await assistant.close()
            await callers.close()
            await pool.close()

    rate_limits = RateLimits(settings.edge)
    app = Litestar(
        route_handlers=[
            JobController,
            cancel_job,
            delete_job,
            download,
            download_head,
            health,
            live,
            ready,
            metrics,
            list_field_types,
            WebhookController,
            list_deliveries,
            resend_delivery,
            get_account,
            update_account,
            KeyController,
            AdminController,
            preview_dataset,
            web_page,
            web_assets,
            suggest_spec,
        ],
        lifespan=[
            resources,
            field_type_examples,
            preview_process,
            rate_limits.connected,
            refreshing_gauges,
        ],
        dependencies={"caller": Provide(provide_caller)},
        exception_handlers=exception_handlers,
        request_class=JsonBodyRequest,
        request_max_body_size=MAX_BODY_BYTES,
        # Off (both limits 0, or no Redis): no middleware, so no cost per request.
        middleware=[
            *([traced_requests] if tracing else []),
            request_timing,
            *([rate_limits] if rate_limits.enabled else []),
        ],
        before_send=[security_headers(settings.edge, DOCS_PATH)],
        cors_config=cors_config(settings.edge),
        openapi_config=OpenAPIConfig(
            title="TestData Buddy",
            version="1",
            description="Test data generation as a service.",
            path=DOCS_PATH,
            components=Components(
                security_schemes={
                    "api_key": SecurityScheme(type="http", scheme="bearer", description="API key")
                }
            ),
            security=[{"api_key": []}],
        ),
        debug=False,
        # core/logs.py set up logging (JSON lines with job_id and trace_id); Litestar's own
        # set-up would replace it with its text format.
        logging_config=None,
    )
    app.state.settings = settings
    add_spec_schemas(app)
    add_error_responses(app)
    add_links(app)
    return app

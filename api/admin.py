"""What administrators of the service may read: its daily statistics."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.di import Provide
from litestar.params import Parameter

from api.errors import ApiError, error_responses
from api.state import AppState
from storage.accounts import Caller
from storage.statistics import DayStatistics, StatisticsTotals, statistics_between

MAX_DAYS = 366


class StatisticsReport(msgspec.Struct, kw_only=True):
    """The days asked for: each rolled-up one, and their totals."""

    first_day: dt.date = msgspec.field(name="from")
    last_day: dt.date = msgspec.field(name="to")
    # Rolled-up days, oldest first; a day is rolled up shortly after it ends (UTC).
    days: list[DayStatistics]
    # Days of the range with no roll-up yet: today, a day not yet ended, a missed one.
    days_not_rolled_up: list[dt.date]
    totals: StatisticsTotals


async def provide_admin(caller: Caller) -> Caller:
    """The caller, when an administrator; 403 for anyone else."""
    if not caller.is_admin:
        raise ApiError(403, "forbidden", "only an administrator of the service may read this")
    return caller


class AdminController(Controller):
    path = "/v1/admin"
    tags = ("admin",)

    @get(
        "/stats",
        operation_id="getServiceStatistics",
        dependencies={"admin": Provide(provide_admin)},
        responses=error_responses(403, 422),
        summary="The whole service's statistics per UTC day and in total (administrators only)",
        description=(
            "Jobs count on the UTC day they ended. Each day gives jobs by outcome, users with "
            "a job, rows and bytes generated, a breakdown by format and by field type, and "
            "the p50/p95 duration of the jobs that generated a file; the totals add the days "
            f"up (durations excepted). At most {MAX_DAYS} days at a time."
        ),
    )
    async def get_statistics(
        self,
        request: Request[Any, Any, Any],
        admin: Caller,
        first_day: Annotated[
            dt.date, Parameter(query="from", description="first UTC day, YYYY-MM-DD")
        ],
        last_day: Annotated[
            dt.date, Parameter(query="to", description="last UTC day (included), YYYY-MM-DD")
        ],
    ) -> StatisticsReport:
        if last_day < first_day:
            raise ApiError(422, "invalid_range", f"'to' ({last_day}) is before 'from'", "to")
        span = (last_day - first_day).days + 1
        if span > MAX_DAYS:
            raise ApiError(
                422,
                "invalid_range",
                f"at most {MAX_DAYS} days at a time; this range has {span}",
                "to",
            )
        days, totals = await statistics_between(AppState.of(request).pool, first_day, last_day)
        rolled_up = {day.day for day in days}
        return StatisticsReport(
            first_day=first_day,
            last_day=last_day,
            days=days,
            days_not_rolled_up=[
                day
                for day in (first_day + dt.timedelta(days=i) for i in range(span))
                if day not in rolled_up
            ],
            totals=totals,
        )

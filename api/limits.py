"""A plan's limits as users see them: the refusal of a job over one, and usage against each."""

from __future__ import annotations

import datetime as dt

import msgspec

from api.errors import ApiError, ErrorBody
from api.state import AppState
from storage.plans import LimitReached, PlanRepository, PlanUsage

# Retrying cannot help against these until the plan changes or files are deleted.
_FORBIDDEN = ("rows_per_job", "bytes_stored")


class LimitErrorBody(ErrorBody, kw_only=True):
    """A job refused by the caller's plan: which limit, its value and when it resets
    (null when it does not reset by itself)."""

    plan: str
    limit: str
    limit_value: int
    resets_at: dt.datetime | None


class Usage(msgspec.Struct):
    """One limit of the plan: its value (null: no limit), how much of it is used, and when
    the use next goes down by itself."""

    limit: int | None
    used: int | None = None
    resets_at: dt.datetime | None = None


class PlanView(msgspec.Struct):
    name: str
    rows_per_job: Usage
    jobs_per_day: Usage
    running_jobs: Usage
    bytes_stored: Usage
    link_seconds: Usage
    # Claude's tokens spent by the schema assistant (POST /v1/specs/suggest) this month.
    assistant_tokens_per_month: Usage


def next_utc_midnight(now: dt.datetime) -> dt.datetime:
    """When a daily count starts again."""
    today = now.astimezone(dt.UTC).date()
    return dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), dt.UTC)


def next_utc_month(now: dt.datetime) -> dt.datetime:
    """When a monthly count starts again: the first of next month, 00:00 UTC."""
    today = now.astimezone(dt.UTC).date()
    first = dt.date(today.year + today.month // 12, today.month % 12 + 1, 1)
    return dt.datetime.combine(first, dt.time(), dt.UTC)


def plan_view(usage: PlanUsage, now: dt.datetime) -> PlanView:
    plan = usage.plan
    return PlanView(
        name=plan.name,
        rows_per_job=Usage(plan.rows_per_job),
        jobs_per_day=Usage(plan.jobs_per_day, usage.jobs_today, next_utc_midnight(now)),
        running_jobs=Usage(plan.running_jobs, usage.jobs_running),
        bytes_stored=Usage(plan.bytes_stored, usage.bytes_used, usage.next_file_expiry),
        link_seconds=Usage(plan.link_seconds),
        assistant_tokens_per_month=Usage(
            plan.assistant_tokens_per_month, usage.assistant_tokens_used, next_utc_month(now)
        ),
    )


def _explained(
    exc: LimitReached, usage: PlanUsage, now: dt.datetime
) -> tuple[str, dt.datetime | None]:
    """What to tell the user, and when the limit lets a job through again by itself."""
    plan, value = usage.plan.name, exc.value
    match exc.limit:
        case "rows_per_job":
            return (
                f"plan '{plan}' allows at most {value:,} rows per job; this dataset has "
                f"{exc.job.rows:,}",
                None,
            )
        case "jobs_per_day":
            resets = next_utc_midnight(now)
            return (
                f"plan '{plan}' allows {value:,} jobs per day (UTC) and today's are used up; "
                f"the count starts again at {resets:%Y-%m-%d %H:%M} UTC",
                resets,
            )
        case "running_jobs":
            return (
                f"plan '{plan}' allows {value:,} jobs queued or running at once; submit again "
                "when one of yours has ended",
                None,
            )
        case _:
            expiry = usage.next_file_expiry
            when = f"; the next expires at {expiry:%Y-%m-%d %H:%M} UTC" if expiry else ""
            return (
                f"plan '{plan}' allows {value:,} bytes of stored files and yours use "
                f"{usage.bytes_used:,}; delete files you no longer need "
                f"(DELETE /v1/jobs/{{job_id}}) or wait until they expire{when}",
                expiry,
            )


async def limit_error(state: AppState, exc: LimitReached) -> ApiError:
    """The error for a job refused by its owner's plan: 403 for a limit retrying cannot pass
    (rows per job, stored bytes), else 429 with Retry-After."""
    usage = await PlanRepository(state.pool).usage(exc.job.user_id)
    now = dt.datetime.now(dt.UTC)
    detail, resets_at = _explained(exc, usage, now)
    field = "rows" if exc.limit == "rows_per_job" else None
    headers = {}
    if exc.limit not in _FORBIDDEN:
        if resets_at is not None:
            retry_after = max(1, int((resets_at - now).total_seconds()) + 1)
        else:
            retry_after = state.settings.jobs.retry_after_seconds
        headers["Retry-After"] = str(retry_after)
    error = ApiError(
        403 if exc.limit in _FORBIDDEN else 429, "plan_limit_reached", detail, field, headers
    )
    error.body = LimitErrorBody(
        error=error.body.error,
        detail=detail,
        field=field,
        plan=usage.plan.name,
        limit=exc.limit,
        limit_value=exc.value,
        resets_at=resets_at,
    )
    return error

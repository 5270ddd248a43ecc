"""POST /v1/specs/suggest: a dataset spec from a plain-language request, by Claude.

The answer is a spec that passes the same validation as POST /v1/jobs, ready to submit or
to edit. Every request is counted for its user with the tokens Claude billed, whatever its
outcome, and a plan may cap those tokens per month.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Annotated, Any

import msgspec
from litestar import Request, post

from api.assistant import AssistantFailed, SuggestionInvalid, TokenUsage
from api.errors import ApiError, error_responses
from api.limits import LimitErrorBody, next_utc_month
from api.state import AppState
from core.metrics import ASSISTANT_REQUESTS, ASSISTANT_TOKENS
from generators.errors import SpecError
from generators.locales import SUPPORTED_LOCALES
from storage.accounts import Caller
from storage.assistant import AssistantAllowance, Hold, hold_assistant_tokens, release_and_record

log = logging.getLogger(__name__)

MAX_PROMPT_CHARS = 4000
# A hold outlives its request's deadline by this much, then lapses (a request that died).
HOLD_MARGIN_SECONDS = 60.0
# When the cap is reached only with tokens held by requests in progress.
RETRY_AFTER_HELD_SECONDS = 10


class SuggestRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What the user wants, in English or Japanese; `locale` fixes the dataset's locale
    (otherwise Claude chooses it from the request)."""

    prompt: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PROMPT_CHARS)]
    locale: str | None = None


class Suggestion(msgspec.Struct):
    spec: dict[str, Any]
    usage: TokenUsage
    # 2 when Claude's first answer was not valid and it was asked once to repair it.
    rounds: int
    model: str


@post(
    "/v1/specs/suggest",
    operation_id="suggestSpec",
    summary="A dataset spec from a plain-language request (English or Japanese), by Claude",
    description=(
        "The spec passes the same validation as POST /v1/jobs. Claude's first answer is "
        "checked and, when it is not valid, sent back once with the problem; a second "
        "invalid answer is a 422 that says why. Tokens count against the plan's "
        "assistant_tokens_per_month (GET /v1/account). 503 when the service has no "
        "Anthropic API key, or Claude is overloaded or unreachable."
    ),
    status_code=200,
    responses=error_responses(422, 429, 503),
    tags=["specs"],
)
async def suggest_spec(
    request: Request[Any, Any, Any], caller: Caller, data: SuggestRequest
) -> Suggestion:
    state = AppState.of(request)
    prompt = data.prompt.strip()
    if not prompt:
        raise ApiError(422, "invalid_field", "describe the dataset you want", "prompt")
    if data.locale is not None and data.locale not in SUPPORTED_LOCALES:
        raise SpecError("locale", f"unknown locale {data.locale!r}; see GET /v1/field-types")
    if state.assistant is None:
        ASSISTANT_REQUESTS.labels("not_configured").inc()
        raise ApiError(
            503,
            "assistant_not_configured",
            "the schema assistant is off on this service (no ANTHROPIC_API_KEY is set); "
            "write the spec yourself (GET /v1/field-types lists every type) or ask the "
            "operator to turn it on",
        )
    assistant = state.assistant
    hold = await hold_assistant_tokens(
        state.pool,
        caller.user_id,
        assistant.estimate(prompt),
        state.settings.assistant.deadline_seconds + HOLD_MARGIN_SECONDS,
    )
    if isinstance(hold, AssistantAllowance):
        ASSISTANT_REQUESTS.labels("over_cap").inc()
        raise _over_cap(hold)
    outcome, usage = "cancelled", TokenUsage()
    try:
        suggested = await assistant.suggest(prompt, data.locale)
        outcome, usage = "suggested", suggested.usage
    except SuggestionInvalid as exc:
        outcome, usage = "invalid", exc.usage
        raise ApiError(
            422,
            "suggestion_invalid",
            f"Claude could not make a valid spec of this request, even after one repair: "
            f"{exc.why}. Rephrase the request, or build the spec by hand",
            "prompt",
        ) from None
    except AssistantFailed as exc:
        outcome, usage = "unavailable", exc.usage
        headers = {} if exc.retry_after is None else {"Retry-After": str(exc.retry_after)}
        raise ApiError(503, "assistant_unavailable", exc.detail, None, headers) from None
    finally:
        # Counted whatever the outcome (Claude billed it), even for a request cut short.
        await asyncio.shield(_count(state, hold, outcome, usage))
    return Suggestion(suggested.spec, suggested.usage, suggested.rounds, suggested.model)


async def _count(state: AppState, hold: Hold, outcome: str, usage: TokenUsage) -> None:
    ASSISTANT_REQUESTS.labels(outcome).inc()
    ASSISTANT_TOKENS.labels("input").inc(usage.input_tokens)
    ASSISTANT_TOKENS.labels("output").inc(usage.output_tokens)
    await release_and_record(
        state.pool,
        hold,
        usage.input_tokens,
        usage.output_tokens,
        failed=outcome != "suggested",
    )


def _over_cap(allowance: AssistantAllowance) -> ApiError:
    plan, cap = allowance.plan, allowance.cap or 0
    now = dt.datetime.now(dt.UTC)
    resets: dt.datetime | None = next_utc_month(now)
    if allowance.used >= cap and resets is not None:
        detail = (
            f"plan '{plan}' allows {cap:,} assistant tokens per month (UTC) and this month's "
            f"are used up; the count starts again at {resets:%Y-%m-%d %H:%M} UTC"
        )
        retry_after = max(1, int((resets - now).total_seconds()) + 1)
    else:
        detail = (
            f"plan '{plan}' allows {cap:,} assistant tokens per month (UTC); {allowance.used:,} "
            "are spent and your requests still being answered may spend the rest: retry when "
            "they have finished"
        )
        resets, retry_after = None, RETRY_AFTER_HELD_SECONDS
    error = ApiError(429, "plan_limit_reached", detail, None, {"Retry-After": str(retry_after)})
    error.body = LimitErrorBody(
        error="plan_limit_reached",
        detail=detail,
        field=None,
        plan=plan,
        limit="assistant_tokens_per_month",
        limit_value=cap,
        resets_at=resets,
    )
    return error

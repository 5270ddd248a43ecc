"""The schema assistant: Claude turns a plain-language request into a dataset spec.

Claude is made to answer by calling one tool, `dataset_spec`, whose input schema is the
spec's top level; the field types and their options are listed in the system prompt, read
from the same catalog that validates a spec. Its answer is checked with `parse_spec`, as a
submitted spec is. When it fails, Claude is told the first problem (its path and reason) and
asked once more; a second failure is the caller's to report.

The system prompt is the same for every request, so it is marked for prompt caching.

The SDK takes over two seconds to import (its pydantic models): it is loaded on the first
suggestion, in a thread, so no API process pays for it at start-up.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

import msgspec

from api.field_types import FieldOptionDoc, build_catalog
from core.settings import AssistantSettings
from generators.errors import SpecError
from generators.locales import SUPPORTED_LOCALES
from generators.spec import MAX_FIELDS, MAX_ROWS, MAX_TABLES, parse_spec
from generators.writers import WRITERS

if TYPE_CHECKING:
    import anthropic
    from anthropic.types import MessageParam, ToolParam

log = logging.getLogger(__name__)

TOOL_NAME = "dataset_spec"
# One automatic repair round: a first answer that fails validation is sent back once.
ROUNDS = 2


class TokenUsage(msgspec.Struct, frozen=True):
    """Tokens Claude billed for one suggestion, all its rounds together."""

    input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens
        )


class Suggested(msgspec.Struct, frozen=True):
    """A valid spec, in the form POST /v1/jobs takes it."""

    spec: dict[str, Any]
    usage: TokenUsage
    rounds: int  # 1, or 2 when the first answer needed repair
    model: str


@dataclass
class Tally:
    """What one suggestion has spent so far, kept when a deadline cuts it short."""

    usage: TokenUsage = field(default_factory=lambda: TokenUsage())


class SuggestionInvalid(Exception):
    """Claude's answer still failed validation after the repair round."""

    def __init__(self, problem: SpecError | str, usage: TokenUsage) -> None:
        if isinstance(problem, SpecError):
            why = f"{problem.field}: {problem.detail}" if problem.field else problem.detail
        else:
            why = problem
        super().__init__(why)
        self.why = why
        self.usage = usage


class AssistantFailed(Exception):
    """Claude could not be asked (overloaded, timed out, refused our key…) after the SDK's
    retries; `retry_after` is a hint in seconds, None when retrying will not help."""

    def __init__(self, detail: str, retry_after: int | None, usage: TokenUsage) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after
        self.usage = usage


class SchemaAssistant:
    """One Anthropic client for the process, and the prompt every request shares."""

    def __init__(self, settings: AssistantSettings) -> None:
        if not settings.api_key:
            raise ValueError("the schema assistant needs ANTHROPIC_API_KEY")
        self._settings = settings
        self._client: anthropic.AsyncAnthropic | None = None
        self._starting = asyncio.Lock()
        self._system = system_prompt()
        self._tool = spec_tool()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()

    async def _started(self) -> anthropic.AsyncAnthropic:
        """The client, made on first use (the SDK imported in a thread meanwhile)."""
        async with self._starting:
            if self._client is None:
                sdk = await asyncio.to_thread(_sdk)
                self._client = sdk.AsyncAnthropic(
                    api_key=self._settings.api_key,
                    base_url=self._settings.base_url,
                    timeout=self._settings.timeout_seconds,
                    max_retries=self._settings.max_retries,
                )
            return self._client

    def estimate(self, prompt: str) -> int:
        """A generous guess of the tokens a suggestion of `prompt` spends (every round at
        its longest; about three characters a token), held against the monthly cap while
        the request runs."""
        asked = (len(self._system) + len(prompt) + 2000) // 3
        return ROUNDS * (asked + self._settings.max_tokens)

    async def suggest(self, prompt: str, locale: str | None) -> Suggested:
        """A valid spec for `prompt`; SuggestionInvalid or AssistantFailed when there is none.

        All rounds and retries together end within ASSISTANT_DEADLINE_SECONDS."""
        spent = Tally()
        deadline = self._settings.deadline_seconds
        await self._started()  # the SDK's first import is not Claude's time
        try:
            async with asyncio.timeout(deadline):
                return await self._rounds(prompt, locale, spent)
        except TimeoutError:
            raise AssistantFailed(
                f"Claude did not finish within {deadline:g} s; try again", 30, spent.usage
            ) from None

    async def _rounds(self, prompt: str, locale: str | None, spent: Tally) -> Suggested:
        messages: list[MessageParam] = [{"role": "user", "content": user_message(prompt, locale)}]
        problem: SpecError | str = "no answer"
        for round_number in range(1, ROUNDS + 1):
            reply = await self._ask(messages, spent.usage)
            spent.usage += _usage(reply)
            blocks = _blocks(reply)
            calls = [b for b in blocks if b["type"] == "tool_use"]
            results = []
            for call in calls:
                if call["name"] != TOOL_NAME:
                    problem = f"Claude called {call['name']!r}, not the dataset_spec tool"
                    results.append(_tool_error(call["id"], f"there is no tool {call['name']!r}"))
                    continue
                spec = call["input"]
                if locale and isinstance(spec, dict):
                    spec = {**spec, "locale": locale}  # the user's choice, not Claude's
                try:
                    parse_spec(_as_dict(spec))
                except SpecError as exc:
                    problem = exc
                    results.append(_tool_error(call["id"], _where(exc)))
                else:
                    # As Claude wrote it: only what it chose, not every default spelled out.
                    model = getattr(reply, "model", None) or self._settings.model
                    return Suggested(spec, spent.usage, round_number, model)
            if not calls:
                problem = "Claude answered without calling the dataset_spec tool"
            log.info("suggestion round %d was invalid: %s", round_number, problem)
            repair: Any = results or (
                "Answer only by calling the dataset_spec tool with the whole spec."
            )
            messages += [
                cast("MessageParam", {"role": "assistant", "content": blocks or "(no answer)"}),
                cast("MessageParam", {"role": "user", "content": repair}),
            ]
        raise SuggestionInvalid(problem, spent.usage)

    async def _ask(
        self, messages: list[MessageParam], usage: TokenUsage
    ) -> anthropic.types.Message:
        client = await self._started()
        sdk = _sdk()
        try:
            return await client.messages.create(
                model=self._settings.model,
                max_tokens=self._settings.max_tokens,
                system=[
                    {"type": "text", "text": self._system, "cache_control": {"type": "ephemeral"}}
                ],
                tools=[self._tool],
                # One spec per answer: each tool call needs its own result in a repair.
                tool_choice={
                    "type": "tool",
                    "name": TOOL_NAME,
                    "disable_parallel_tool_use": True,
                },
                messages=messages,
            )
        except sdk.APIStatusError as exc:
            raise _failed(exc, usage) from exc
        except sdk.APITimeoutError as exc:
            raise AssistantFailed(
                f"Claude did not answer within {self._settings.timeout_seconds:g} s; try again",
                30,
                usage,
            ) from exc
        except sdk.APIResponseValidationError as exc:
            raise AssistantFailed("Claude's answer could not be read; try again", 5, usage) from exc
        except sdk.APIConnectionError as exc:
            raise AssistantFailed(
                "Claude's API cannot be reached; try again later", 30, usage
            ) from exc


def _sdk() -> ModuleType:
    """The anthropic SDK (imported once, on first use)."""
    return importlib.import_module("anthropic")


def _failed(exc: anthropic.APIStatusError, usage: TokenUsage) -> AssistantFailed:
    """What the user is told when Claude answered with an error after the SDK's retries."""
    sdk = _sdk()
    retry_after = _retry_after(exc.response.headers)
    if exc.status_code == 529 or isinstance(exc, sdk.InternalServerError):
        return AssistantFailed(
            "Claude is overloaded right now; try again shortly", retry_after or 30, usage
        )
    if isinstance(exc, sdk.RateLimitError):
        return AssistantFailed(
            "the service's Claude quota is used up for now; try again shortly",
            retry_after or 60,
            usage,
        )
    # A refused key, an unknown model, a request Claude cannot read: the operator must act.
    log.error("Claude refused the assistant's request: %s %s", exc.status_code, exc.message)
    return AssistantFailed(
        "the schema assistant is misconfigured on this service; the operator has been told",
        None,
        usage,
    )


def _retry_after(headers: Any) -> int | None:
    raw = headers.get("retry-after")
    try:
        return max(1, int(float(raw))) if raw else None
    except ValueError:
        return None


def _usage(reply: anthropic.types.Message) -> TokenUsage:
    """What Claude billed for one answer (cache writes and reads are input tokens too)."""
    usage = getattr(reply, "usage", None)
    if not isinstance(usage, _sdk().types.Usage):
        return TokenUsage()
    cached = (usage.cache_creation_input_tokens or 0) + (usage.cache_read_input_tokens or 0)
    return TokenUsage((usage.input_tokens or 0) + cached, usage.output_tokens or 0)


def _as_dict(value: object) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    raise SpecError("body", "the spec must be a JSON object")


def _blocks(reply: anthropic.types.Message) -> list[dict[str, Any]]:
    """The answer's text and tool-use blocks as the Messages API takes them back; the SDK
    does not validate what it reads, so anything garbled is left out."""
    content = getattr(reply, "content", None)
    blocks = []
    for block in content if isinstance(content, list) else []:
        data = block.to_dict() if isinstance(block, _sdk().BaseModel) else None
        if not isinstance(data, dict):
            continue
        if data.get("type") == "text" and isinstance(data.get("text"), str) and data["text"]:
            blocks.append({"type": "text", "text": data["text"]})
        elif (
            data.get("type") == "tool_use"
            and isinstance(data.get("id"), str)
            and isinstance(data.get("name"), str)
        ):
            blocks.append(
                {"type": "tool_use", "id": data["id"], "name": data["name"],
                 "input": data.get("input", {})}
            )  # fmt: skip
    return blocks


def _where(problem: SpecError) -> str:
    where = f"at {problem.field}: " if problem.field else ""
    return f"{where}{problem.detail.rstrip('.')}"


def _tool_error(tool_use_id: str, problem: str) -> dict[str, Any]:
    return {
        "type": "tool_result",
        "tool_use_id": tool_use_id,
        "is_error": True,
        "content": (
            f"The spec is not valid, {problem}. Call dataset_spec again with the whole "
            "corrected spec, keeping everything else the user asked for."
        ),
    }


def user_message(prompt: str, locale: str | None) -> str:
    wanted = (
        f"Locale: {locale} (use it for the dataset's `locale`)."
        if locale
        else "Locale: choose from the request (ja_JP for Japanese data, else en_US)."
    )
    return f"{wanted}\n\nRequest:\n{prompt}"


def system_prompt() -> str:
    """What Claude is told about the spec: its top level, the rules, and every field type
    with its options, from the catalog."""
    catalog = build_catalog({})
    lines = [
        "You design dataset specs for TestData Buddy, a service that generates test data "
        "for QA engineers. Turn the user's request (English or Japanese) into one spec and "
        "answer only by calling the dataset_spec tool.",
        "",
        "Rules:",
        "- Use only the field types listed below, with only the options listed for each.",
        "- Field names are lower snake_case ASCII (customer_id, full_name_kana), unique "
        "within their table.",
        "- rows: the number the user asks for; 1000 when they name none.",
        "- format: what the user asks for, else csv.",
        "- For Japanese data (ja_JP) prefer the types made for it (full_name_kana, "
        "prefecture, postcode…) and write choice values in Japanese unless asked otherwise.",
        "- Related data (customers and their orders) is one spec: the main table plus "
        "`tables`, whose `reference` fields point at a unique key of another table.",
        "- Give every table a primary key (sequence or uuid) first.",
        "",
        "Options every field type takes: " + _options_text(catalog.common_options),
        "",
        "Field types (name [category]: description; options):",
    ]
    for doc in catalog.types:
        options = _options_text(doc.options) if doc.options else "no options"
        lines.append(f"- {doc.name} [{doc.category}]: {doc.description} Options: {options}")
    return "\n".join(lines)


def _options_text(options: list[FieldOptionDoc]) -> str:
    parts = []
    for option in options:
        text = f"{option.name} ({option.type}{', required' if option.required else ''}"
        if option.default not in (None, [], {}):
            text += f", default {msgspec.json.encode(option.default).decode()}"
        if option.constraints:
            text += f", {msgspec.json.encode(option.constraints).decode()}"
        parts.append(text + ")")
    return "; ".join(parts)


def spec_tool() -> ToolParam:
    """The dataset_spec tool: the spec's top level as JSON schema; each field's options are
    its type's, as the system prompt lists them."""
    field = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 64},
            "type": {"type": "string", "enum": sorted(doc.name for doc in build_catalog({}).types)},
        },
        "required": ["name", "type"],
        "additionalProperties": True,
    }
    fields = {"type": "array", "items": field, "minItems": 1, "maxItems": MAX_FIELDS}
    return {
        "name": TOOL_NAME,
        "description": "Submit the dataset spec that fulfils the user's request.",
        "input_schema": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 200},
                "rows": {"type": "integer", "minimum": 1, "maximum": MAX_ROWS},
                "format": {"type": "string", "enum": sorted(WRITERS)},
                "locale": {"type": "string", "enum": sorted(SUPPORTED_LOCALES)},
                "seed": {"type": "integer", "minimum": 0},
                "edge_case_rate": {"type": "number", "minimum": 0, "maximum": 1},
                "fields": fields,
                "tables": {
                    "type": "array",
                    "maxItems": MAX_TABLES - 1,
                    "items": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                            "rows": {"type": "integer", "minimum": 1, "maximum": MAX_ROWS},
                            "fields": fields,
                        },
                        "required": ["name", "rows", "fields"],
                    },
                },
            },
            "required": ["name", "rows", "format", "locale", "fields"],
        },
    }

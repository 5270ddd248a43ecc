"""`POST /v1/preview`: the first rows of the file a spec would give, answered at once.

The rows are the real file's first rows for that spec and seed, not a look-alike: a block's
draws depend on its size (the engine's blocks are ``BLOCK_ROWS`` rows, fewer only for a
smaller dataset), so the whole first block is generated and cut, as ``tdbuddy preview``
does. That block is at most 65,536 rows whatever ``rows`` says, so a billion-row spec
previews as fast as a hundred-thousand-row one (about 0.1 s for ten typical fields; the
first preview in a process also loads the engine's lookup tables, ~2 s for ja_JP).

The web tier generates no data itself: previews are made in one child process per API
process (started on the first preview), so the engine's lookup tables (100–150 MB for
ja_JP) live there, not in the API, and one preview runs at a time. A preview that takes
longer than PREVIEW_SECONDS has its child killed (the next preview starts a new one) and is
answered 422: such a spec is for a job, not a preview.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import secrets
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
from litestar import Litestar, Request, post
from litestar.params import Parameter

from api.errors import ApiError, error_responses
from api.notifications import FIELDS as NOTIFICATION_FIELDS
from api.notifications import may_hold_notifications
from api.openapi import SubmitsDatasetSpec
from generators.dataset import Dataset, table_specs
from generators.engine import generate_block
from generators.spec import DatasetSpec, decode_body, parse_spec, with_seed
from generators.writers.text import json_text
from storage.accounts import Caller

log = logging.getLogger(__name__)

PREVIEW_ROWS = 20
# The longest a preview may take in its child process; then it is killed and refused.
PREVIEW_SECONDS = 30.0
# Bodies up to this size parse inline in well under a millisecond (as POST /v1/jobs does).
PARSE_INLINE_BYTES = 16 * 1024
# How long a preview waits for the one running before it; then 429 with Retry-After.
WAIT_FOR_TURN_SECONDS = 10.0
RETRY_AFTER_SECONDS = 2
# Integers beyond this lose digits as JavaScript numbers: sent as strings instead.
_MAX_SAFE_INTEGER = 2**53 - 1


class PreviewColumn(msgspec.Struct):
    name: str
    type: str


class Preview(msgspec.Struct):
    """The first rows of the dataset's own table, one list of cells per row, in field order."""

    name: str
    columns: list[PreviewColumn]
    rows: list[list[Any]]
    locale: str
    seed: int
    # Further tables of a several-table dataset: in the file, not in this preview.
    other_tables: list[str]


@dataclass
class PreviewsDatasetSpec(SubmitsDatasetSpec):
    """The body is what POST /v1/jobs takes; its notification options are ignored here."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.request_body is not None:
            self.request_body.description = (
                "A dataset spec as POST /v1/jobs takes it (callback_url, notify_email and "
                "notify_language are accepted and ignored)"
            )


@post(
    "/v1/preview",
    status_code=200,
    operation_id="previewDataset",
    operation_class=PreviewsDatasetSpec,
    responses=error_responses(422),
    summary="The first rows of the file a spec would give, at once",
    description=(
        "Answers with the first rows (20 unless ?rows= says fewer) of the file the spec and "
        "seed give, as JSON values: dates and times as ISO 8601 strings, decimals and "
        "integers beyond 2^53 as strings, NaN and infinities null. Without a seed one is "
        "drawn and returned; submit the spec with it to get a file that starts with these "
        "rows. A dataset of several tables previews its own table only. An invalid spec "
        "answers 422 naming the field, as POST /v1/jobs does."
    ),
    tags=["jobs"],
)
async def preview_dataset(
    request: Request[Any, Any, Any],
    caller: Caller,
    rows: Annotated[
        int, Parameter(ge=1, le=PREVIEW_ROWS, description="how many rows to show")
    ] = PREVIEW_ROWS,
) -> Preview:
    spec = await _spec_of(await request.body())
    if spec.seed is None:
        spec = with_seed(spec, secrets.randbits(63))
    previewer: Previewer = request.app.state.previewer
    return await previewer.first_rows(spec, rows)


class Previewer:
    """The child process that makes previews, one at a time, each within PREVIEW_SECONDS."""

    def __init__(self, seconds: float = PREVIEW_SECONDS) -> None:
        self._seconds = seconds
        self._pool: ProcessPoolExecutor | None = None
        self._turn = asyncio.Semaphore(1)

    async def first_rows(self, spec: DatasetSpec, count: int) -> Preview:
        try:
            await asyncio.wait_for(self._turn.acquire(), WAIT_FOR_TURN_SECONDS)
        except TimeoutError:
            raise ApiError(
                429,
                "preview_busy",
                "other previews are being made; retry in a moment",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            ) from None
        # The turn ends when the child is done with this preview, not when the request ends:
        # a client that hangs up cannot free it while its generation still runs.
        try:
            pool, work = await self._submit(spec, count)
        except BaseException:
            self._turn.release()
            raise
        work.add_done_callback(self._end_turn)
        try:
            return await asyncio.wait_for(asyncio.shield(work), self._seconds)
        except TimeoutError:
            self._kill(pool)
            raise ApiError(
                422,
                "preview_too_slow",
                f"this spec takes longer than {self._seconds:g} s to preview (a preview makes "
                "the file's first block of up to 65,536 rows); submit it as a job instead",
                "fields",
            ) from None
        except BrokenProcessPool:
            self._kill(pool)
            log.exception("the preview process died while making a preview")
            raise _unavailable() from None

    async def _submit(
        self, spec: DatasetSpec, count: int
    ) -> tuple[ProcessPoolExecutor, asyncio.Future[Preview]]:
        """The preview, sent to a live child: one that died while idle (the kernel's OOM
        killer, an operator) is replaced by a new one."""
        for attempt in (1, 2):
            pool = await self._running_pool()
            try:
                return pool, asyncio.get_running_loop().run_in_executor(
                    pool, first_rows, spec, count
                )
            except BrokenProcessPool:
                self._kill(pool)
                log.warning("the preview process had died (attempt %d); starting another", attempt)
        raise _unavailable()

    def _end_turn(self, done: asyncio.Future[Preview]) -> None:
        self._turn.release()
        if not done.cancelled():
            done.exception()  # read here too: a hung-up request's error is not "never retrieved"

    async def _running_pool(self) -> ProcessPoolExecutor:
        """The child, started and with the engine loaded (which is not part of the limit)."""
        if self._pool is None:
            # A fresh interpreter, not a fork of this one (its event loop, sockets and threads).
            pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
            try:
                await asyncio.get_running_loop().run_in_executor(pool, _load_engine)
            except BaseException as exc:
                self._kill(pool)  # a start cut short or failed leaves no child behind
                if isinstance(exc, Exception):
                    log.exception("the preview process could not start")
                    raise _unavailable() from None
                raise
            self._pool = pool
        return self._pool

    def _kill(self, pool: ProcessPoolExecutor) -> None:
        """Stops the child at once; the next preview starts a new one."""
        if self._pool is pool:
            self._pool = None
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        if self._pool is not None:
            self._kill(self._pool)


def _unavailable() -> ApiError:
    return ApiError(
        503,
        "preview_unavailable",
        "the preview process stopped; retry in a moment",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _load_engine() -> None:
    """Runs first in a new child: the engine's modules, before any preview's time counts."""
    import generators.engine  # noqa: F401


@asynccontextmanager
async def preview_process(app: Litestar) -> AsyncIterator[None]:
    """App lifespan: the previewer, whose child starts on the first preview."""
    app.state.previewer = previewer = Previewer(app.state.settings.api.preview_seconds)
    try:
        yield
    finally:
        previewer.close()


async def _spec_of(body: bytes) -> DatasetSpec:
    """The body's spec, without the submit-only notification options; SpecError if invalid."""
    source: bytes | dict[str, Any] = body
    if may_hold_notifications(body):
        data = decode_body(body)
        for name in NOTIFICATION_FIELDS:
            data.pop(name, None)
        source = data
    if len(body) <= PARSE_INLINE_BYTES:
        return parse_spec(source)
    return await asyncio.to_thread(parse_spec, source)


def first_rows(spec: DatasetSpec, count: int) -> Preview:
    """The first ``count`` rows of the spec's file (its own table), made as the file makes them.

    ``spec`` must carry a seed. Block 0 is generated whole and cut, because a block's values
    depend on its size; it is never more than ``BLOCK_ROWS`` rows.
    """
    if spec.seed is None:
        raise ValueError("the spec has no seed")
    # As generators.output encodes it: one table alone, or each table of a dataset with the
    # dataset its references read.
    dataset = Dataset(spec) if spec.tables else None
    table = generate_block(table_specs(spec)[0], 0, dataset).slice(0, count)
    columns = [_json_cells(column) for column in table.columns]
    return Preview(
        name=spec.name,
        columns=[PreviewColumn(field.name, field.type_name) for field in spec.fields],
        rows=[list(cells) for cells in zip(*columns, strict=True)] if columns else [],
        locale=spec.locale,
        seed=spec.seed,
        other_tables=[other.name for other in spec.tables],
    )


def _json_cells(column: pa.ChunkedArray) -> list[Any]:
    """The column's cells as the JSON writer writes them, except numbers a browser would
    round (decimals, integers beyond 2^53), which become strings of their exact digits."""
    array = column.combine_chunks()
    if pa.types.is_decimal(array.type) or (
        pa.types.is_integer(array.type) and not _safe_integers(array)
    ):
        array = array.cast(pa.string())
    literals = json_text(array).to_pylist()
    cells: list[Any] = msgspec.json.decode("[" + ",".join(literals) + "]")
    return cells


def _safe_integers(array: pa.Array) -> bool:
    extremes = pc.min_max(array)
    low, high = extremes["min"].as_py(), extremes["max"].as_py()
    return low is None or (low >= -_MAX_SAFE_INTEGER and high <= _MAX_SAFE_INTEGER)

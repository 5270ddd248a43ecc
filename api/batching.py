"""Doing many requests' I/O in one go: requests hand an item over and wait for its result,
and one task runs whatever has gathered while the previous batch was on its way.

Under light load a batch is one item, as if each request did its own; under heavy load the
fixed cost of a round trip (a thread hop, a database commit) is shared by the batch.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# One result per item, in order: the item's value, or the exception its request raises.
RunBatch = Callable[[list[Item]], Awaitable[list[Result | Exception]]]


class Batcher(Generic[Item, Result]):
    """Runs items in batches of at most `max_batch` with `run_batch`, one batch at a time."""

    def __init__(self, run_batch: RunBatch[Item, Result], max_batch: int = 256) -> None:
        self._run_batch = run_batch
        self._max_batch = max_batch
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    async def submit(self, item: Item) -> Result:
        """The item's result, once its batch has run; raises the item's exception."""
        if self._closed:
            raise RuntimeError("the batcher is closed")
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        self._wake.set()
        return await future

    async def close(self) -> None:
        """Stops; every request still waiting gets an error instead of waiting for ever."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        _fail(self._waiting, RuntimeError("the batcher is closed"))
        self._waiting = []

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._waiting:
                batch = self._waiting[: self._max_batch]
                self._waiting = self._waiting[self._max_batch :]
                # A request that went away (cancelled) takes its item with it: nothing is
                # done for a client that will not hear of it, and may try again.
                batch = [(item, future) for item, future in batch if not future.done()]
                if batch:
                    await self._run_one(batch)

    async def _run_one(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        try:
            results = await self._run_batch([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"{len(results)} results for {len(batch)} items")
        except asyncio.CancelledError:
            _fail(batch, RuntimeError("the batcher is closed"))
            raise
        except Exception as exc:
            _fail(batch, exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():  # its request went away
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)


def _fail(waiting: list[tuple[Item, asyncio.Future[Result]]], error: Exception) -> None:
    for _, future in waiting:
        if not future.done():
            future.set_exception(error)

"""Sending job messages from the API in batches: one hop to a worker thread per batch.

A send through Dramatiq is a blocking Redis (or RabbitMQ) call, so each one used to take a
thread hop of its own, and the hop cost the event loop more CPU than the send itself. Here
requests hand their job id over and wait; one task takes whatever has gathered while the
previous batch was on its way and sends it in one go. Under light load a batch is one id, as
before; under heavy load the hops are shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import dramatiq

from workers.messages import send_generate_job

MAX_BATCH = 256


class JobMessageSender:
    """Sends generate-job messages for one event loop; `send` returns once its message is out."""

    def __init__(self, broker: dramatiq.Broker, queue: str) -> None:
        self._broker = broker
        self._queue = queue
        self._waiting: list[tuple[uuid.UUID, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def send(self, job_id: uuid.UUID) -> None:
        """Sends the job's message; raises what the broker raised for it."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((job_id, future))
        self._wake.set()
        await future

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._waiting:
                batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
                try:
                    errors = await asyncio.to_thread(self._send_all, [job for job, _ in batch])
                except BaseException as exc:  # cancelled while a batch was out: tell them
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(RuntimeError("the sender stopped"))
                    if isinstance(exc, asyncio.CancelledError):
                        raise
                    continue
                for (_, future), error in zip(batch, errors, strict=True):
                    if future.done():  # its request went away
                        continue
                    if error is None:
                        future.set_result(None)
                    else:
                        future.set_exception(error)

    def _send_all(self, job_ids: list[uuid.UUID]) -> list[Exception | None]:
        """Sends each job's message; after the first failure the rest fail with it at once
        (a broker that timed out once would only time out again, once per message)."""
        errors: list[Exception | None] = []
        for job_id in job_ids:
            try:
                send_generate_job(self._broker, self._queue, job_id)
            except Exception as exc:
                return errors + [exc] * (len(job_ids) - len(errors))
            errors.append(None)
        return errors

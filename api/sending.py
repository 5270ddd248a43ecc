"""Creating and sending jobs in batches: one commit for the rows of many submissions, one
hop to a worker thread for their messages.

A send through Dramatiq is a blocking Redis (or RabbitMQ) call; given a thread hop of its
own, each cost the event loop more CPU than the send itself.
"""

from __future__ import annotations

import asyncio
import uuid

import dramatiq

from api.batching import Batcher
from storage.database import database_unavailable
from storage.jobs import JobRecord, JobRepository, NewJob
from workers.messages import send_generate_job


def job_message_sender(broker: dramatiq.Broker, queue: str) -> Batcher[uuid.UUID, None]:
    """A batcher whose `submit(job_id)` returns once the job's message is sent."""

    def send_all(job_ids: list[uuid.UUID]) -> list[Exception | None]:
        # After the first failure the rest fail with it at once: a broker that timed out
        # once would only time out again, once per message.
        results: list[Exception | None] = []
        for job_id in job_ids:
            try:
                send_generate_job(broker, queue, job_id)
            except Exception as exc:
                return results + [exc] * (len(job_ids) - len(results))
            results.append(None)
        return results

    async def run_batch(job_ids: list[uuid.UUID]) -> list[Exception | None]:
        return await asyncio.to_thread(send_all, job_ids)

    return Batcher(run_batch)


def job_inserter(jobs: JobRepository) -> Batcher[NewJob, JobRecord]:
    """A batcher whose `submit(job)` returns the job once its row is committed: the jobs of a
    batch go in one statement and one commit (a commit waits for the disk)."""

    async def insert_batch(batch: list[NewJob]) -> list[JobRecord | Exception]:
        try:
            return list(await jobs.insert_many(batch))
        except Exception as exc:
            if len(batch) == 1 or database_unavailable(exc):
                return [exc] * len(batch)
        # One bad row fails the statement: each job on its own, so only that one fails.
        results: list[JobRecord | Exception] = []
        for job in batch:
            try:
                results.append(await jobs.insert(job))
            except Exception as exc:
                results.append(exc)
        return results

    return Batcher(insert_batch)

"""Creating jobs in batches: the rows of many submissions in one statement and one commit."""

from __future__ import annotations

import asyncpg

from api.batching import Batcher
from storage.jobs import JobRecord, JobRepository, NewJob


def job_inserter(jobs: JobRepository) -> Batcher[NewJob, JobRecord]:
    """A batcher whose `submit(job)` returns the job once its row is committed: the jobs of a
    batch go in one statement and one commit (a commit waits for the disk)."""

    async def insert_batch(batch: list[NewJob]) -> list[JobRecord | Exception]:
        try:
            return list(await jobs.insert_many(batch))
        except Exception as exc:
            # Only a row the database refuses is worth a second try one by one; a timeout
            # or an outage would only repeat for every job of the batch.
            bad_row = isinstance(exc, asyncpg.IntegrityConstraintViolationError | asyncpg.DataError)
            if len(batch) == 1 or not bad_row:
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

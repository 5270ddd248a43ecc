"""The messages the other tiers send to workers, by actor name, without importing the actors."""

from __future__ import annotations

import uuid

import dramatiq

GENERATE_JOB = "generate_job"


def send_generate_job(broker: dramatiq.Broker, queue: str, job_id: uuid.UUID) -> None:
    """Queues the generation of a committed job."""
    broker.enqueue(
        dramatiq.Message(
            queue_name=queue,
            actor_name=GENERATE_JOB,
            args=(str(job_id),),
            kwargs={},
            options={},
        )
    )

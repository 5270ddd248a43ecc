"""The messages the other tiers send to workers, by actor name, without importing the actors."""

from __future__ import annotations

import uuid

import dramatiq

GENERATE_JOB = "generate_job"
GENERATE_SHARD = "generate_shard"
FINALIZE_JOB = "finalize_job"


def _send(broker: dramatiq.Broker, queue: str, actor_name: str, *args: str | int) -> None:
    broker.enqueue(
        dramatiq.Message(queue_name=queue, actor_name=actor_name, args=args, kwargs={}, options={})
    )


def send_generate_job(broker: dramatiq.Broker, queue: str, job_id: uuid.UUID) -> None:
    """Queues the generation of a committed job (it plans shards if the file is big)."""
    _send(broker, queue, GENERATE_JOB, str(job_id))


def send_generate_shard(broker: dramatiq.Broker, queue: str, job_id: uuid.UUID, shard: int) -> None:
    """Queues one shard of a planned job."""
    _send(broker, queue, GENERATE_SHARD, str(job_id), shard)


def send_finalize_job(broker: dramatiq.Broker, queue: str, job_id: uuid.UUID) -> None:
    """Queues the completion of a sharded job whose every shard is in."""
    _send(broker, queue, FINALIZE_JOB, str(job_id))

"""The Dramatiq broker for the settings: Redis by default, RabbitMQ for `amqp://` URLs."""

from __future__ import annotations

import dramatiq
import redis
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker

from core.settings import BrokerSettings
from workers.messages import deliveries_queue

# How long one Redis command may wait for the server. Without a limit, a server that stops
# answering (a frozen host, a partition) holds every send for ever, and with it the API's
# request and one of its few threads. A send that times out is no loss: the job's row is
# committed first, and the reconciler sends it again.
REDIS_TIMEOUT_SECONDS = 5.0


def build_broker(settings: BrokerSettings) -> dramatiq.Broker:
    """A broker with the job and delivery queues declared, ready to send to (and to serve
    workers)."""
    url = settings.url
    if url is None:
        raise RuntimeError("BROKER_URL or REDIS_URL is not set (tdbuddy dev sets it)")
    broker: dramatiq.Broker
    if url.startswith(("amqp://", "amqps://")):
        broker = RabbitmqBroker(url=url)
    elif url.startswith(("redis://", "rediss://", "unix://")):
        client = redis.Redis.from_url(
            url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
        )
        broker = RedisBroker(client=client)  # type: ignore[no-untyped-call]
    else:
        scheme = url.partition(":")[0]  # never the whole URL: it may hold a password
        raise RuntimeError(f"BROKER_URL must be redis://, unix:// or amqp://, not {scheme}://")
    broker.declare_queue(settings.queue)
    broker.declare_queue(deliveries_queue(settings.queue))
    return broker


def ping_broker(broker: dramatiq.Broker, queue: str) -> None:
    """Returns when the broker's server answers a round trip; raises otherwise."""
    if isinstance(broker, RedisBroker):
        broker.client.ping()
    elif isinstance(broker, RabbitmqBroker):
        broker.get_queue_message_counts(queue)

"""Real receivers for what the service sends out: an HTTP server taking webhook calls and an
SMTP server taking email, each in a thread of the test process, recording what arrives.

Tests wait for what they expect with `next_call` / `next_message`, which block on a queue
until it arrives (or fail after a timeout), never on a sleep.
"""

from __future__ import annotations

import email
import email.policy
import queue
import threading
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.services import free_port


@dataclass(frozen=True)
class Call:
    """One request the webhook receiver took."""

    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds to hold the answer back: a receiver too slow for the sender's timeout.
    delay: float = 0.0


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 that answers each path with the answers queued for it
    (200 once they run out) and records every call per path."""

    def __init__(self) -> None:
        self._answers: dict[str, deque[Answer]] = defaultdict(deque)
        self._calls: dict[str, queue.Queue[Call]] = defaultdict(queue.Queue)
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    answers = receiver._answers[self.path]
                    answer = answers.popleft() if answers else Answer()
                if answer.delay:
                    threading.Event().wait(answer.delay)  # the slowness under test
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()
                receiver._calls[self.path].put(
                    Call(
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                        answer.status,
                    )
                )

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, path: str, *answers: Answer) -> None:
        """Queues answers for the next calls to `path`."""
        with self._lock:
            self._answers[path].extend(answers)

    def next_call(self, path: str, timeout: float = 30) -> Call:
        """The next call to `path`, waiting for it; AssertionError if none comes in time."""
        try:
            return self._calls[path].get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no webhook call to {path} within {timeout} s") from None

    def calls_so_far(self, path: str) -> int:
        return self._calls[path].qsize()

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


class MailSink:
    """An aiosmtpd server that accepts every message and files it by recipient."""

    def __init__(self) -> None:
        self._inboxes: dict[str, queue.Queue[EmailMessage]] = defaultdict(queue.Queue)
        self._refusals: dict[str, deque[str]] = defaultdict(deque)
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    def refuse_next(self, recipient: str, *replies: str) -> None:
        """Answers the next RCPT TO for `recipient` with each reply in turn (e.g. a 451)."""
        self._refusals[recipient.lower()].extend(replies)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        refusals = self._refusals[address.lower()]
        if refusals:
            return refusals.popleft()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        raw = content if isinstance(content, bytes) else (content or "").encode()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        for recipient in envelope.rcpt_tos:
            self._inboxes[recipient.lower()].put(message)
        return "250 OK"

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def next_message(self, recipient: str, timeout: float = 30) -> EmailMessage:
        """The next message to `recipient`, waiting for it."""
        try:
            return self._inboxes[recipient.lower()].get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no email to {recipient} within {timeout} s") from None

    def count(self, recipient: str) -> int:
        return self._inboxes[recipient.lower()].qsize()


@contextmanager
def mail_sink() -> Iterator[MailSink]:
    sink = MailSink()
    sink.controller.start()
    try:
        yield sink
    finally:
        sink.controller.stop()

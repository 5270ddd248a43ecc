"""A local HTTP server that speaks the part of Anthropic's API the product uses.

The real API cannot be reached from these machines, so the product's real `anthropic`
client is pointed at this server (`ANTHROPIC_BASE_URL`). It answers:

- `GET /v1/models`: an empty model list (what `/health` probes);
- `POST /v1/messages`: the next queued reply, or by default a `tool_use` of the request's
  first tool holding a small valid dataset spec in the locale the prompt names.

Each request is recorded (path, headers, JSON body), so a test can check what Claude was
sent: the tool's schema, the repair round's error message, the API key.
"""

from __future__ import annotations

import contextlib
import json
import queue
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.services import free_port

MODEL = "claude-test"


@dataclass(frozen=True)
class Reply:
    """One answer of the server: its status, JSON body and headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    # Set: the answer waits until the test sets it (a Claude that does not answer in time).
    hold: threading.Event | None = None


@dataclass(frozen=True)
class Seen:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None


def default_spec(locale: str) -> dict[str, Any]:
    """The spec the server suggests when no reply is queued: customers in `locale`."""
    return {
        "name": "customers",
        "rows": 500,
        "format": "csv",
        "locale": locale,
        "seed": 42,
        "fields": [
            {"name": "customer_id", "type": "sequence", "start": 1},
            {"name": "full_name", "type": "full_name"},
            {"name": "email", "type": "email"},
            {"name": "city", "type": "city"},
            {"name": "tier", "type": "choice", "values": ["bronze", "silver", "gold"]},
        ],
    }


def message(
    content: list[dict[str, Any]],
    stop_reason: str = "tool_use",
    *,
    input_tokens: int = 1200,
    output_tokens: int = 300,
) -> Reply:
    """A Messages API answer with this content and usage."""
    return Reply(
        200,
        {
            "id": f"msg_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": MODEL,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
        },
    )


def tool_use(
    spec: Any, tool: str = "dataset_spec", input_tokens: int = 1200, output_tokens: int = 300
) -> Reply:
    """Claude calling `tool` with `spec` as its input."""
    block = {"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:24]}", "name": tool}
    return message(
        [{**block, "input": spec}], input_tokens=input_tokens, output_tokens=output_tokens
    )


def text(words: str, input_tokens: int = 1200, output_tokens: int = 300) -> Reply:
    """Claude answering in words instead of calling the tool."""
    return message(
        [{"type": "text", "text": words}],
        "end_turn",
        input_tokens=input_tokens,
        output_tokens=output_tokens,
    )


def error(status: int, kind: str, words: str, retry_after_ms: int | None = 1) -> Reply:
    """An API error as Anthropic sends it (529 overloaded_error, 429 rate_limit_error…).

    `retry-after-ms` keeps the client's retries quick in tests."""
    headers = {} if retry_after_ms is None else {"retry-after-ms": str(retry_after_ms)}
    return Reply(status, {"type": "error", "error": {"type": kind, "message": words}}, headers)


def overloaded() -> Reply:
    return error(529, "overloaded_error", "Overloaded")


class FakeAnthropic:
    """The running server: `url` for ANTHROPIC_BASE_URL, `replies` to queue answers on, and
    `requests` for what it received."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.replies: queue.Queue[Reply] = queue.Queue()
        self.requests: queue.Queue[Seen] = queue.Queue()

    def queue(self, *replies: Reply) -> None:
        for reply in replies:
            self.replies.put(reply)

    def take_requests(self) -> list[Seen]:
        """Every request received since the last call, oldest first."""
        taken = []
        while not self.requests.empty():
            taken.append(self.requests.get_nowait())
        return taken

    def answer(self, body: dict[str, Any]) -> Reply:
        try:
            return self.replies.get_nowait()
        except queue.Empty:
            pass
        tools = body.get("tools") or [{"name": "dataset_spec"}]
        prompt = json.dumps(body.get("messages", []), ensure_ascii=False)
        locale = re.search(r"Locale: ([a-z]{2}_[A-Z]{2})\b", prompt)
        return tool_use(default_spec(locale.group(1) if locale else "en_US"), tools[0]["name"])


@contextmanager
def fake_anthropic() -> Iterator[FakeAnthropic]:
    """Serve the fake Anthropic API on a free port of 127.0.0.1 until the block ends."""
    server_url = f"http://127.0.0.1:{free_port()}"
    fake = FakeAnthropic(server_url)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._record("GET", None)
            if self.path.split("?")[0] == "/v1/models":
                self._send(Reply(200, {"data": [], "has_more": False}))
            else:
                self._send(error(404, "not_found_error", f"no route {self.path}", None))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            self._record("POST", body)
            if self.path.split("?")[0] != "/v1/messages":
                self._send(error(404, "not_found_error", f"no route {self.path}", None))
                return
            reply = fake.answer(body)
            if reply.hold is not None:
                reply.hold.wait(60)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._send(reply)  # unless the client gave up waiting

        def _record(self, method: str, body: dict[str, Any] | None) -> None:
            headers = {name.lower(): value for name, value in self.headers.items()}
            fake.requests.put(Seen(method, self.path, headers, body))

        def _send(self, reply: Reply) -> None:
            payload = json.dumps(reply.body).encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("request-id", f"req_{uuid.uuid4().hex[:24]}")
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    host, port = server_url.removeprefix("http://").split(":")
    server = ThreadingHTTPServer((host, int(port)), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()

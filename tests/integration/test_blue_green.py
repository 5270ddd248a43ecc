"""deploy/blue-green.sh against a local nginx and API processes: a healthy new colour takes the
traffic and the old one stops; a colour that fails to start, never gets ready, or dies after
the switch is rolled back, and users keep being served by the old colour.

The script's start/stop hooks run `tdbuddy api` on each colour's port, as `docker compose`
would start the colour's containers in production.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.local_nginx import LocalNginx, nginx_binary
from tests.services import ROOT, free_port, new_api_key, port_open, wait_until

SCRIPT = ROOT / "deploy" / "blue-green.sh"
BASH = "/bin/bash"


@dataclass
class Colours:
    nginx: LocalNginx
    ports: dict[str, int]
    folder: Path
    env: dict[str, str]
    api_key: str

    def run(self, **overrides: str) -> subprocess.CompletedProcess[str]:
        """The script run to completion with `overrides` on its environment."""
        return subprocess.run(
            [BASH, str(SCRIPT), "v2"],
            cwd=ROOT,
            env={**self.env, **overrides},
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )

    def start(self, colour: str) -> None:
        """Starts a colour as the script's start hook does, and waits until it is ready."""
        subprocess.run(
            [BASH, "-c", self.env["BG_START_CMD"]],
            env={**self.env, "BG_COLOUR": colour, "BG_SERVER": f"127.0.0.1:{self.ports[colour]}"},
            check=True,
        )
        wait_until(lambda: self.ready(colour), 30, f"{colour} to be ready ({self.folder})")

    def ready(self, colour: str) -> bool:
        try:
            url = f"http://127.0.0.1:{self.ports[colour]}/ready"
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self, colour: str) -> None:
        pid_file = self.folder / f"{colour}.pid"
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(int(pid_file.read_text()), signal.SIGKILL)

    def live_port(self) -> int:
        """The API port nginx's upstream file names now."""
        text = self.nginx.upstream_file.read_text()
        return next(port for port in self.ports.values() if f"127.0.0.1:{port};" in text)

    def user_status(self) -> int:
        """What a user's GET /v1/jobs through nginx answers."""
        headers = {"Authorization": f"Bearer {self.api_key}"}
        url, trust = f"{self.nginx.url}/v1/jobs", self.nginx.trust()
        return httpx.get(url, headers=headers, verify=trust, timeout=10).status_code


@pytest.fixture
def colours(stack_env: dict[str, str], tmp_path: Path) -> Iterator[Colours]:
    """nginx in front of a running blue API; green is the script's to start."""
    nginx_binary()
    ports = {"blue": free_port(), "green": free_port()}
    nginx = LocalNginx([ports["blue"]], one_server=True)
    start = (
        'API_PORT="${BG_SERVER##*:}" setsid '
        f"{shlex.quote(sys.executable)} -m core.cli api "
        f'>"{tmp_path}/$BG_COLOUR.log" 2>&1 </dev/null & echo $! >"{tmp_path}/$BG_COLOUR.pid"'
    )
    stop = f'f="{tmp_path}/$BG_COLOUR.pid"; [ ! -f "$f" ] || kill -TERM -- "-$(cat "$f")"'
    env = {
        **stack_env,
        "PUBLIC_URL": nginx.url,
        "TRUSTED_PROXIES": "127.0.0.1/32",
        "BG_BLUE_SERVER": f"127.0.0.1:{ports['blue']}",
        "BG_GREEN_SERVER": f"127.0.0.1:{ports['green']}",
        "BG_UPSTREAM_FILE": str(nginx.upstream_file),
        "BG_PROBE_CMD": 'curl -fsS -m 2 "http://$BG_SERVER$BG_PATH"',
        "BG_START_CMD": start,
        "BG_STOP_CMD": stop,
        "BG_RELOAD_CMD": shlex.join(nginx.command("-s", "reload")),
        "BG_PUBLIC_URL": nginx.url,
        "BG_PUBLIC_CURL_OPTS": f"--cacert {nginx.certificate}",
        "BG_READY_TIMEOUT": "30",
        "BG_WATCH_SECONDS": "2",
    }
    key = new_api_key(stack_env, f"blue-green-{uuid.uuid4().hex[:6]}")
    setup = Colours(nginx, ports, tmp_path, env, key)
    try:
        setup.start("blue")
        nginx.start()
        assert setup.user_status() == 200
        yield setup
    finally:
        nginx.stop()
        for colour in ports:
            setup.kill(colour)


def test_a_healthy_new_colour_takes_the_traffic_and_the_old_one_stops(colours: Colours) -> None:
    done = colours.run()
    assert done.returncode == 0, done.stderr
    assert "switched to green" in done.stderr
    assert colours.live_port() == colours.ports["green"]
    wait_until(lambda: not port_open("127.0.0.1", colours.ports["blue"]), 15, "blue to stop")
    assert colours.user_status() == 200  # only green is left to answer


def test_a_colour_whose_start_fails_is_never_switched_to(colours: Colours) -> None:
    done = colours.run(BG_START_CMD="exit 3")
    assert done.returncode == 1
    assert "starting green failed" in done.stderr
    assert colours.live_port() == colours.ports["blue"]
    assert colours.user_status() == 200


def test_a_colour_that_never_gets_ready_is_stopped_and_blue_keeps_serving(
    colours: Colours,
) -> None:
    # Green starts, but on a database that does not exist: /ready answers 503, or nothing.
    nowhere = "postgresql://postgres@127.0.0.1:5432/nothing_here"
    broken = f"DATABASE_URL={nowhere} {colours.env['BG_START_CMD']}"
    done = colours.run(BG_START_CMD=broken, BG_READY_TIMEOUT="4")
    assert done.returncode == 1, done.stderr
    assert "green was not ready within 4 s" in done.stderr
    assert colours.live_port() == colours.ports["blue"]
    assert colours.user_status() == 200
    wait_until(lambda: not port_open("127.0.0.1", colours.ports["green"]), 15, "green to stop")


def test_a_colour_that_dies_after_the_switch_is_rolled_back(colours: Colours) -> None:
    script = subprocess.Popen(
        [BASH, str(SCRIPT), "v2"],
        cwd=ROOT,
        env={**colours.env, "BG_WATCH_SECONDS": "20"},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        green = colours.ports["green"]
        wait_until(lambda: colours.live_port() == green, 30, "the switch to green")
        colours.kill("green")
        _, stderr = script.communicate(timeout=30)
    finally:
        if script.poll() is None:
            script.kill()
    assert script.returncode == 1, stderr
    assert "/health/live failed after the switch" in stderr
    assert colours.live_port() == colours.ports["blue"]
    assert [colours.user_status() for _ in range(5)] == [200] * 5, stderr

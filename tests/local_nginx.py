"""The production nginx configuration (deploy/nginx/) running locally in front of API processes.

A copy of deploy/nginx/ in a folder of its own, changed only where a machine without Docker
differs: it listens on free ports of 127.0.0.1, with a certificate made for 127.0.0.1, keeps
its buffers in that folder, and api-upstream.conf (the file deploy/blue-green.sh rewrites)
names local API processes instead of the compose service. Debian's nginx runs it as the
current user (`-p FOLDER`, in the foreground).
"""

from __future__ import annotations

import re
import shutil
import ssl
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tests.services import ROOT, free_port, port_open, unavailable, wait_until

PRODUCTION_CONFIG = ROOT / "deploy" / "nginx"
# Included by nginx.conf's http block, before tls.conf: what only the tests need.
_LOCAL = """\
client_body_temp_path {root}/client_body;
proxy_temp_path {root}/proxy;
fastcgi_temp_path {root}/fastcgi;
uwsgi_temp_path {root}/uwsgi;
scgi_temp_path {root}/scgi;
{upstream}"""


def nginx_binary() -> str:
    """Debian's nginx; skipped on a laptop without it, a failure under CI=true."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        unavailable("nginx (apt-get install -y nginx)")
    assert found is not None
    return found


def set_line(port: int) -> str:
    """api-upstream.conf naming the one API process listening on `port` on 127.0.0.1."""
    return f"set $api_upstream http://127.0.0.1:{port};\n"


def _replace(text: str, pattern: str, replacement: str) -> str:
    changed, count = re.subn(pattern, replacement, text)
    assert count == 1, f"deploy/nginx/ no longer has exactly one {pattern!r}"
    return changed


class LocalNginx:
    """deploy/nginx/ on free ports of 127.0.0.1, proxying to API processes on `api_ports`: all
    of them (an upstream group, like the compose service's replicas), or with `one_server`
    only the first, named in api-upstream.conf as deploy/blue-green.sh writes it."""

    def __init__(self, api_ports: Sequence[int], one_server: bool = False) -> None:
        self.binary = nginx_binary()
        self.port = free_port()
        self.http_port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="tdbuddy-nginx-"))
        self.root.chmod(0o755)  # under root, nginx's workers run as `nobody`
        for source in PRODUCTION_CONFIG.glob("*.conf"):
            shutil.copy(source, self.root)
        self.config = self.root / "nginx.conf"
        self.upstream_file = self.root / "api-upstream.conf"
        self.certificate = self._make_certificate()
        upstream = ""
        if one_server:
            self.upstream_file.write_text(set_line(api_ports[0]))
        else:
            servers = "".join(f"    server 127.0.0.1:{port};\n" for port in api_ports)
            upstream = f"upstream api_replicas {{\n{servers}}}\n"
            self.upstream_file.write_text("set $api_upstream http://api_replicas;\n")
        (self.root / "local.conf").write_text(_LOCAL.format(root=self.root, upstream=upstream))
        self._listen_locally()
        self._process: subprocess.Popen[bytes] | None = None

    def _make_certificate(self) -> Path:
        certs = self.root / "certs"
        certs.mkdir()
        openssl = shutil.which("openssl")
        if openssl is None:
            unavailable("openssl, to make nginx a certificate")
        subprocess.run(
            [
                str(openssl),
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-keyout",
                str(certs / "privkey.pem"),
                "-out",
                str(certs / "fullchain.pem"),
            ],
            capture_output=True,
            check=True,
        )
        return certs / "fullchain.pem"

    def _listen_locally(self) -> None:
        main = self.config.read_text()
        main = _replace(main, r"listen 80 default_server;", f"listen 127.0.0.1:{self.http_port};")
        main = _replace(main, r"include tls\.conf;", "include local.conf;\n    include tls.conf;")
        self.config.write_text(main)
        tls = self.root / "tls.conf"
        tls.write_text(_replace(tls.read_text(), r"listen 443 ", f"listen 127.0.0.1:{self.port} "))

    def trust(self) -> ssl.SSLContext:
        """A TLS context that trusts this nginx's certificate, for a client of it."""
        return ssl.create_default_context(cafile=self.certificate)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def command(self, *args: str) -> list[str]:
        """nginx's command line on this instance's folder and config, with `args` added."""
        return [
            self.binary,
            "-p",
            f"{self.root}/",
            "-c",
            str(self.config),
            "-e",
            str(self.root / "error.log"),
            *args,
        ]

    def start(self) -> None:
        """Checks the config (`nginx -t`), starts nginx, and returns once it listens."""
        checked = subprocess.run(self.command("-t"), capture_output=True, text=True, check=False)
        assert checked.returncode == 0, checked.stderr
        with open(self.root / "nginx.log", "ab") as log:
            self._process = subprocess.Popen(
                [*self.command("-g", "daemon off;")],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self._listening, 10, f"nginx to listen on {self.port} ({self.root})")

    def _listening(self) -> bool:
        if self._process is None or self._process.poll() is not None:
            raise AssertionError(f"nginx exited:\n{self.log_text()[-2000:]}")
        return port_open("127.0.0.1", self.port)

    def log_text(self) -> str:
        path = self.root / "nginx.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()  # SIGTERM: nginx's fast shutdown
            self._process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)

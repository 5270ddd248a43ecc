"""Email transport against a real SMTP server (aiosmtpd in this process) and the outbox folder."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import queue
import socket
import ssl
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from core.settings import EmailSettings
from tests.services import free_port
from workers.mail import (
    JobNotice,
    PermanentMailError,
    TransientMailError,
    deliver_email,
    job_message_id,
    render_job_email,
)

SENDER = "TestData Buddy <noreply@tdbuddy.example>"
TO = "qa.tanaka@example.jp"
DOWNLOAD_URL = "https://tdbuddy.example/v1/downloads/tok.abc"
SMTP_USER = "mailer"
SMTP_PASSWORD = "correct horse battery staple"


# --- the SMTP server -----------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One message as the server took it, and how the client reached it."""

    mail_from: str
    recipients: list[str]
    message: EmailMessage
    over_tls: bool
    login: bytes | None


class Inbox:
    """An aiosmtpd handler that hands each accepted message to the test through a queue, and
    answers RCPT for chosen addresses with a chosen reply."""

    def __init__(self) -> None:
        self.received: queue.Queue[Received] = queue.Queue()
        self.rcpt_replies: dict[str, str] = {}
        self.hang_up_at_quit = False

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes) and server.transport is not None
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.put(
            Received(
                mail_from=str(envelope.mail_from),
                recipients=list(envelope.rcpt_tos),
                message=message,
                over_tls=server.transport.get_extra_info("ssl_object") is not None,
                login=session.auth_data if session.authenticated else None,
            )
        )
        return "250 2.0.0 Message accepted for delivery"

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.hang_up_at_quit and server.transport is not None:
            server.transport.close()  # the client reads end-of-file instead of "221"
        return "221 Bye"

    def next_message(self) -> Received:
        """The next message the server accepted (waits for it, up to 10 s)."""
        return self.received.get(timeout=10)


def authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    """Accepts one user with one password (AUTH PLAIN or LOGIN)."""
    ok = (
        isinstance(data, LoginPassword)
        and data.login == SMTP_USER.encode()
        and data.password == SMTP_PASSWORD.encode()
    )
    # handled=False: aiosmtpd then answers a refusal with 535 itself.
    return AuthResult(success=ok, handled=False, auth_data=data.login if ok else None)


StartServer = Callable[..., tuple[Inbox, int]]


@pytest.fixture
def smtp_server() -> Iterator[StartServer]:
    """Starts aiosmtpd servers on free ports with the given Controller options; stops them after."""
    controllers: list[Controller] = []

    def start(**options: Any) -> tuple[Inbox, int]:
        inbox = Inbox()
        port = free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
        controller.start()
        controllers.append(controller)
        return inbox, port

    yield start
    for controller in controllers:
        controller.stop()


# --- certificates --------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificates:
    ca_file: Path  # what a client must trust
    server_context: ssl.SSLContext  # the server's certificate for 127.0.0.1 and its key


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A self-signed CA made for this test and a server certificate it issued for 127.0.0.1,
    as a company's private mail relay would have."""
    folder = tmp_path_factory.mktemp("tls")
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "TestData Buddy test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = folder / "ca.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file = folder / "server.pem"
    cert_file.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    key_file = folder / "server.key"
    key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return Certificates(ca_file=ca_file, server_context=context)


@pytest.fixture
def trust_test_ca(certificates: Certificates, monkeypatch: pytest.MonkeyPatch) -> None:
    """Makes the default SSL context (which the mailer uses) trust the test CA."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.ca_file))


@pytest.fixture
def trust_system_cas_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


# --- helpers -------------------------------------------------------------------------------


def job_email(to: str = TO, job_id: uuid.UUID | None = None) -> EmailMessage:
    """A rendered ready-notice for a new job, addressed to `to`."""
    job_id = job_id or uuid.uuid4()
    notice = JobNotice(
        job_id=job_id,
        dataset_name="顧客マスタ",
        state="succeeded",
        rows=10_000,
        format="csv",
        size_bytes=1_234_567,
        download_url=DOWNLOAD_URL,
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=24),
        error=None,
        job_url=f"https://tdbuddy.example/v1/jobs/{job_id}",
    )
    return render_job_email(
        notice, "ja", sender=SENDER, to=to, message_id=job_message_id(job_id, SENDER)
    )


def smtp(port: int, security: str, **options: Any) -> EmailSettings:
    return EmailSettings(
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security=security,
        timeout_seconds=options.pop("timeout_seconds", 10.0),
        sender=SENDER,
        **options,
    )


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


# --- SMTP ----------------------------------------------------------------------------------


def test_plain_smtp_delivers_the_message_the_server_receives_intact(
    smtp_server: StartServer,
) -> None:
    inbox, port = smtp_server()
    sent = job_email()
    where = deliver_email(smtp(port, "none"), sent)
    assert f"127.0.0.1:{port}" in where
    got = inbox.next_message()
    assert got.mail_from == "noreply@tdbuddy.example"
    assert got.recipients == [TO]
    assert got.message["Message-ID"] == sent["Message-ID"]
    assert got.message["Subject"] == "データセット「顧客マスタ」の準備ができました"
    assert DOWNLOAD_URL in text_of(got.message)
    assert not got.over_tls


def test_starttls_upgrades_the_connection_to_a_trusted_server(
    smtp_server: StartServer, certificates: Certificates, trust_test_ca: None
) -> None:
    inbox, port = smtp_server(tls_context=certificates.server_context, require_starttls=True)
    sent = job_email()
    deliver_email(smtp(port, "starttls"), sent)
    got = inbox.next_message()
    assert got.over_tls
    assert got.message["Message-ID"] == sent["Message-ID"]


def test_implicit_tls_delivers_to_a_trusted_server(
    smtp_server: StartServer, certificates: Certificates, trust_test_ca: None
) -> None:
    inbox, port = smtp_server(ssl_context=certificates.server_context)
    deliver_email(smtp(port, "tls"), job_email())
    assert inbox.next_message().over_tls


def test_a_server_certificate_nobody_trusts_is_a_permanent_failure(
    smtp_server: StartServer, certificates: Certificates, trust_system_cas_only: None
) -> None:
    inbox, port = smtp_server(tls_context=certificates.server_context, require_starttls=True)
    with pytest.raises(PermanentMailError, match="certificate"):
        deliver_email(smtp(port, "starttls"), job_email())
    assert inbox.received.empty()


def test_starttls_asked_of_a_server_without_it_is_refused_rather_than_sent_in_clear(
    smtp_server: StartServer,
) -> None:
    inbox, port = smtp_server()
    with pytest.raises(PermanentMailError, match="STARTTLS"):
        deliver_email(smtp(port, "starttls"), job_email())
    assert inbox.received.empty()


def _login_server(smtp_server: StartServer, certificates: Certificates) -> tuple[Inbox, int]:
    """A server that offers STARTTLS and takes mail only after a login."""
    return smtp_server(
        tls_context=certificates.server_context,
        require_starttls=True,
        authenticator=authenticate,
        auth_required=True,
    )


def test_auth_logs_in_with_the_configured_user(
    smtp_server: StartServer, certificates: Certificates, trust_test_ca: None
) -> None:
    inbox, port = _login_server(smtp_server, certificates)
    settings = smtp(port, "starttls", smtp_username=SMTP_USER, smtp_password=SMTP_PASSWORD)
    deliver_email(settings, job_email())
    assert inbox.next_message().login == SMTP_USER.encode()


@pytest.mark.parametrize(
    ("username", "password", "code"),
    [(SMTP_USER, "wrong password", 535), (None, None, 530)],
    ids=["wrong-password", "no-login"],
)
def test_a_refused_or_missing_login_is_a_permanent_failure(
    smtp_server: StartServer,
    certificates: Certificates,
    trust_test_ca: None,
    username: str | None,
    password: str | None,
    code: int,
) -> None:
    inbox, port = _login_server(smtp_server, certificates)
    settings = smtp(port, "starttls", smtp_username=username, smtp_password=password)
    with pytest.raises(PermanentMailError) as refused:
        deliver_email(settings, job_email())
    assert refused.value.smtp_code == code
    assert password is None or password not in str(refused.value)
    assert inbox.received.empty()


def test_a_recipient_the_server_refuses_with_550_is_a_permanent_failure(
    smtp_server: StartServer,
) -> None:
    inbox, port = smtp_server()
    inbox.rcpt_replies["nobody@example.jp"] = "550 5.1.1 <nobody@example.jp>: user unknown"
    with pytest.raises(PermanentMailError, match=r"nobody@example\.jp.*550 5\.1\.1") as refused:
        deliver_email(smtp(port, "none"), job_email(to="nobody@example.jp"))
    assert refused.value.smtp_code == 550
    assert inbox.received.empty()


def test_a_451_from_the_server_is_a_transient_failure(smtp_server: StartServer) -> None:
    inbox, port = smtp_server()
    inbox.rcpt_replies[TO] = "451 4.7.1 Greylisted, please try again later"
    with pytest.raises(TransientMailError, match=r"451 4\.7\.1") as deferred:
        deliver_email(smtp(port, "none"), job_email())
    assert deferred.value.smtp_code == 451
    # The same message goes through once the server takes it again.
    del inbox.rcpt_replies[TO]
    deliver_email(smtp(port, "none"), job_email())
    assert inbox.next_message().recipients == [TO]


def test_a_connection_lost_after_the_message_was_accepted_is_not_a_failure(
    smtp_server: StartServer,
) -> None:
    inbox, port = smtp_server()
    inbox.hang_up_at_quit = True
    sent = job_email()
    # No exception: an error here would make the caller send the accepted message again.
    deliver_email(smtp(port, "none"), sent)
    assert inbox.next_message().message["Message-ID"] == sent["Message-ID"]


def test_a_server_that_is_down_is_a_transient_failure() -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(TransientMailError, match="could not be reached"):
        deliver_email(smtp(port, "none"), job_email())


def test_a_server_that_never_answers_is_a_transient_failure_after_the_timeout() -> None:
    with ThreadPoolExecutor(max_workers=1) as pool, socket.socket() as silent:
        # Connections complete in the kernel's backlog, but nobody ever greets them.
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        sending = pool.submit(deliver_email, smtp(port, "none", timeout_seconds=0.5), job_email())
        # Waiting in a thread: a mailer that ignored its timeout would fail here instead of
        # hanging the suite; closing `silent` then resets its connection.
        with pytest.raises(TransientMailError, match="timed out"):
            sending.result(timeout=5)


# --- outbox --------------------------------------------------------------------------------


def test_without_smtp_the_message_is_an_eml_file_in_the_outbox(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"  # made on first use
    settings = EmailSettings(smtp_host=None, sender=SENDER, outbox_dir=outbox)
    sent = job_email()
    path = Path(deliver_email(settings, sent))
    assert path.parent == outbox and path.suffix == ".eml"
    read = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(read, EmailMessage)
    assert read["Message-ID"] == sent["Message-ID"]
    assert read["To"] == TO
    assert read["Subject"] == "データセット「顧客マスタ」の準備ができました"
    assert DOWNLOAD_URL in text_of(read)


def test_the_same_message_id_twice_leaves_one_outbox_file(tmp_path: Path) -> None:
    settings = EmailSettings(smtp_host=None, sender=SENDER, outbox_dir=tmp_path)
    job_id = uuid.uuid4()
    first = deliver_email(settings, job_email(job_id=job_id))
    again = deliver_email(settings, job_email(job_id=job_id))
    assert again == first
    assert [p.name for p in tmp_path.iterdir()] == [Path(first).name]  # no temporary files
    deliver_email(settings, job_email(job_id=uuid.uuid4()))
    assert len(list(tmp_path.glob("*.eml"))) == 2


def test_a_message_id_with_path_characters_stays_inside_the_outbox(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    settings = EmailSettings(smtp_host=None, sender=SENDER, outbox_dir=outbox)
    message = job_email()
    message.replace_header("Message-ID", "<../../escaped@example>")
    path = Path(deliver_email(settings, message))
    assert path.parent == outbox
    assert [p.name for p in tmp_path.iterdir()] == ["outbox"]


def test_an_outbox_that_cannot_be_a_folder_is_a_permanent_failure(tmp_path: Path) -> None:
    blocker = tmp_path / "outbox"
    blocker.write_text("a file where the outbox folder should be")
    settings = EmailSettings(smtp_host=None, sender=SENDER, outbox_dir=blocker)
    with pytest.raises(PermanentMailError, match="outbox"):
        deliver_email(settings, job_email())

"""The notification email of a finished job: what it says (Japanese or English) and its transport.

`render_job_email` turns a `JobNotice` into a text + HTML message; `deliver_email` sends it by
SMTP, or, when no SMTP host is configured (the embedded mode), writes it to the outbox folder
as an `.eml` file. Both are blocking; the delivery actor runs them in a thread. Whether a job's
email was already sent is the delivery pipeline's business, not this module's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.policy
import email.utils
import hashlib
import os
import re
import smtplib
import ssl
import tempfile
import uuid
from email.message import EmailMessage
from pathlib import Path

import jinja2
import msgspec

from core.languages import LANGUAGES
from core.settings import EmailSettings

JOB_STATES = ("succeeded", "failed")

# Japan has kept standard time all year since 1951, so a fixed offset is exact, and it does not
# depend on the host having a time-zone database (slim containers often do not).
JST = dt.timezone(dt.timedelta(hours=9), "JST")

# A 7-bit body (quoted-printable or base64 when not ASCII) reaches any SMTP server intact,
# whether or not it offers 8BITMIME; CRLF line ends are what SMTP and `.eml` readers expect.
_POLICY = email.policy.SMTP.clone(cte_type="7bit")

_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates" / "mail"),
    # Only the HTML part is escaped: the text part must show a dataset name as it was typed.
    autoescape=jinja2.select_autoescape(
        enabled_extensions=("html",), default_for_string=False, default=False
    ),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)

_SUBJECTS = {
    ("en", "succeeded"): 'Your dataset "{name}" is ready',
    ("en", "failed"): 'Your dataset "{name}" could not be generated',
    ("ja", "succeeded"): "データセット「{name}」の準備ができました",
    ("ja", "failed"): "データセット「{name}」を生成できませんでした",
}
_SUBJECT_NAME_MAX = 80


class JobNotice(msgspec.Struct, frozen=True):
    """What the email about one finished job says; the delivery actor fills it."""

    job_id: uuid.UUID
    dataset_name: str
    state: str  # "succeeded" | "failed"
    rows: int
    format: str
    size_bytes: int | None
    download_url: str | None
    expires_at: dt.datetime | None  # aware
    error: str | None
    job_url: str


class MailDeliveryError(Exception):
    """An email that did not go out; `smtp_code` is the server's reply code when it gave one."""

    def __init__(self, message: str, smtp_code: int | None = None) -> None:
        super().__init__(message)
        self.smtp_code = smtp_code


class TransientMailError(MailDeliveryError):
    """Worth retrying later: a 4xx reply, a connection that failed or timed out."""


class PermanentMailError(MailDeliveryError):
    """Not worth retrying: a 5xx reply (unknown recipient, refused login) or a setup mistake."""


# --- language ----------------------------------------------------------------------------------


# --- rendering ---------------------------------------------------------------------------------


def render_job_email(
    notice: JobNotice, language: str, *, sender: str, to: str, message_id: str
) -> EmailMessage:
    """text/plain + text/html alternative parts, UTF-8, Subject in the language (e.g.
    「データセット「…」の準備ができました」 / 'Your dataset "…" is ready'), Date, From, To, and the
    given Message-ID. Sizes human-readable (e.g. 12.3 MB), expiry shown in the reader's zone:
    Asia/Tokyo (JST) for ja, UTC for en. Failed jobs: the reason, no link."""
    if language not in LANGUAGES:
        raise ValueError(f"language: must be one of {', '.join(LANGUAGES)}, got {language!r}")
    if notice.state not in JOB_STATES:
        raise ValueError(f"state: must be one of {', '.join(JOB_STATES)}, got {notice.state!r}")
    if notice.expires_at is not None and notice.expires_at.utcoffset() is None:
        raise ValueError("expires_at: must be timezone-aware, got a naive datetime")

    subject = _SUBJECTS[language, notice.state].format(name=_subject_name(notice.dataset_name))
    succeeded = notice.state == "succeeded"
    context = {
        "lang": language,
        "subject": subject,
        "job_id": str(notice.job_id),
        "dataset_name": notice.dataset_name,
        "rows": f"{notice.rows:,}",
        "format": notice.format.upper(),
        "size": human_size(notice.size_bytes) if notice.size_bytes is not None else None,
        "download_url": notice.download_url if succeeded else None,
        "expires": _expiry(notice.expires_at, language) if succeeded else None,
        "error": notice.error,
        "job_url": notice.job_url,
    }
    name = f"job_{notice.state}.{language}"

    message = EmailMessage(policy=_POLICY)
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = to
    message["Date"] = email.utils.format_datetime(dt.datetime.now(dt.UTC))
    message["Message-ID"] = message_id
    # RFC 3834: out-of-office and other robots must not answer a notification.
    message["Auto-Submitted"] = "auto-generated"
    message["X-TDBuddy-Job-Id"] = str(notice.job_id)
    message.set_content(_TEMPLATES.get_template(f"{name}.txt").render(context), charset="utf-8")
    message.add_alternative(
        _TEMPLATES.get_template(f"{name}.html").render(context), subtype="html", charset="utf-8"
    )
    # After the content: setting content clears every Content-* header of the message.
    message["Content-Language"] = language
    return message


def job_message_id(job_id: uuid.UUID, sender: str) -> str:
    """The Message-ID of a job's notice, `<job-{id}@{sender's domain}>`: the same for every
    attempt, so a resent notice replaces its outbox file and mail clients see one message."""
    _, address = email.utils.parseaddr(sender)
    domain = address.rpartition("@")[2] or "tdbuddy.localhost"
    return f"<job-{job_id}@{domain}>"


def human_size(size_bytes: int) -> str:
    """The size in decimal units with one decimal, e.g. '12.3 MB' (bytes as a whole number)."""
    if size_bytes < 1000:
        return f"{size_bytes} B"
    value = size_bytes / 1000
    for unit in ("kB", "MB", "GB"):
        # Rounded as shown, so 999,960 bytes reads '1.0 MB', not '1000.0 kB'.
        if round(value, 1) < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:,.1f} TB"


def _subject_name(name: str) -> str:
    # A subject is one line: newlines and tabs in a dataset name become spaces.
    flat = " ".join(name.split())
    return flat if len(flat) <= _SUBJECT_NAME_MAX else flat[: _SUBJECT_NAME_MAX - 1] + "…"


def _expiry(expires_at: dt.datetime | None, language: str) -> str | None:
    if expires_at is None:
        return None
    if language == "ja":
        local = expires_at.astimezone(JST)
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M} JST"
    return f"{expires_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


# --- transport ---------------------------------------------------------------------------------


def deliver_email(settings: EmailSettings, message: EmailMessage) -> str:
    """Sends the message by SMTP (security and auth per settings; timeout per settings), or, with no
    SMTP host, writes it to settings.outbox_dir as `<message-id-derived-name>.eml` atomically (temp
    file + rename) and returns that path; returns a short description of where it went. Raises
    TransientMailError / PermanentMailError."""
    if settings.smtp_host is None:
        return str(write_to_outbox(settings.outbox_dir, message))
    return _send_by_smtp(settings, settings.smtp_host, message)


def write_to_outbox(outbox_dir: Path, message: EmailMessage) -> Path:
    """The `.eml` file the message is in, written atomically; a Message-ID already in the outbox
    keeps its file, so writing the same message twice leaves one file."""
    message_id = message["Message-ID"]
    if not message_id:
        raise ValueError("Message-ID: the outbox names its files after it, and it is missing")
    path = outbox_dir / f"{outbox_file_stem(str(message_id))}.eml"
    if path.exists():
        return path
    temp_name: str | None = None
    try:
        outbox_dir.mkdir(parents=True, exist_ok=True)
        # The temporary name is hidden and does not end in `.eml`, so nobody reading the
        # outbox sees a half-written message; the rename is atomic within one folder.
        with tempfile.NamedTemporaryFile(
            dir=outbox_dir, prefix=".", suffix=".tmp", delete=False
        ) as temp:
            temp_name = temp.name
            temp.write(message.as_bytes(policy=_POLICY))
            temp.flush()
            os.fsync(temp.fileno())
        os.replace(temp_name, path)
        temp_name = None
    except (PermissionError, NotADirectoryError, FileExistsError, IsADirectoryError) as exc:
        raise PermanentMailError(f"the mail outbox {outbox_dir} cannot be written: {exc}") from exc
    except OSError as exc:
        raise TransientMailError(f"the mail outbox {outbox_dir} cannot be written: {exc}") from exc
    finally:
        if temp_name is not None:
            Path(temp_name).unlink(missing_ok=True)
    return path


def outbox_file_stem(message_id: str) -> str:
    """A file name (without `.eml`) for a Message-ID: the ID itself where it is safe in a path,
    plus a digest of the original when characters had to be replaced, so two IDs never share
    a file."""
    bare = message_id.strip().removeprefix("<").removesuffix(">")
    safe = re.sub(r"[^A-Za-z0-9._@+=-]", "_", bare).lstrip(".")[:120]
    if safe == bare and safe:
        return safe
    return f"{safe}-{hashlib.sha256(message_id.encode()).hexdigest()[:16]}".lstrip("-")


def _send_by_smtp(settings: EmailSettings, host: str, message: EmailMessage) -> str:
    where = f"SMTP server {host}:{settings.smtp_port}"
    # The default context verifies the certificate and the host name against the system's
    # trust store, which SSL_CERT_FILE / SSL_CERT_DIR can point at a private CA.
    context = ssl.create_default_context()
    try:
        smtp: smtplib.SMTP
        if settings.smtp_security == "tls":
            smtp = smtplib.SMTP_SSL(
                host, settings.smtp_port, timeout=settings.timeout_seconds, context=context
            )
        else:
            smtp = smtplib.SMTP(host, settings.smtp_port, timeout=settings.timeout_seconds)
    except (smtplib.SMTPException, OSError) as exc:
        raise _delivery_error(exc, where) from exc
    try:
        try:
            if settings.smtp_security == "starttls":
                smtp.starttls(context=context)
            if settings.smtp_username is not None:
                smtp.login(settings.smtp_username, settings.smtp_password or "")
            refused = smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise _delivery_error(exc, where) from exc
        # The server has taken the message: a failing QUIT must not make the caller send it
        # again.
        with contextlib.suppress(smtplib.SMTPException, OSError):
            smtp.quit()
    finally:
        smtp.close()
    if refused:
        return f"{where}, except for refused recipients: {_refusals(refused)}"
    return where


def _delivery_error(exc: BaseException, where: str) -> MailDeliveryError:
    """The retry class of an SMTP or network failure, with a message that says what happened."""
    # smtplib's exceptions are OSErrors too, so they are told apart first.
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        kind = (
            TransientMailError if any(400 <= code < 500 for code in codes) else PermanentMailError
        )
        return kind(
            f"{where} refused every recipient: {_refusals(exc.recipients)}",
            smtp_code=codes[0] if codes else None,
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = f"{exc.smtp_code} {_text(exc.smtp_error)}"
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            what = f"{where} refused the login: {reply}"
        elif isinstance(exc, smtplib.SMTPSenderRefused):
            what = f"{where} refused the sender {exc.sender}: {reply}"
        else:
            what = f"{where} answered {reply}"
        if 500 <= exc.smtp_code < 600:
            return PermanentMailError(what, smtp_code=exc.smtp_code)
        return TransientMailError(what, smtp_code=exc.smtp_code)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return TransientMailError(f"{where} closed the connection: {exc}")
    if isinstance(exc, smtplib.SMTPException):
        # No STARTTLS or no usable AUTH on offer: the settings and the server disagree.
        return PermanentMailError(f"{where} cannot be used as configured: {exc}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return PermanentMailError(f"{where} has a certificate that is not trusted: {exc}")
    if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError | ssl.SSLSyscallError):
        return TransientMailError(f"{where} dropped the TLS connection: {exc}")
    if isinstance(exc, ssl.SSLError):
        # e.g. implicit TLS against a plain-text port: retrying the same setup cannot help.
        return PermanentMailError(f"{where} failed the TLS handshake: {exc}")
    if isinstance(exc, TimeoutError):
        return TransientMailError(f"{where} did not answer in time")
    return TransientMailError(f"{where} could not be reached: {exc}")


def _refusals(refused: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(
        f"{address} ({code} {_text(text)})" for address, (code, text) in refused.items()
    )


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply

"""Download links as capabilities: an HMAC-signed token naming a job, an expiry and a key version.

Token: base64url(msgpack([job_id bytes, expires unix seconds, key version])) "." base64url(mac).
The key version lets keys rotate: the newest key signs, every configured key still verifies.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import uuid

import msgspec

from core.settings import LinkSettings


class LinkError(Exception):
    """A token that does not open anything."""


class TamperedLink(LinkError):
    """The token was not made by us: bad shape, unknown key version or wrong signature."""


class ExpiredLink(LinkError):
    """The token was genuine but its time is up."""


class SignedLink(msgspec.Struct, frozen=True):
    job_id: uuid.UUID
    expires_at: dt.datetime
    key_version: int


_payload_decoder = msgspec.msgpack.Decoder(tuple[bytes, int, int])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: str) -> bytes:
    return hmac.new(key, payload.encode(), hashlib.sha256).digest()


def sign_link(settings: LinkSettings, job_id: uuid.UUID, expires_at: dt.datetime) -> str:
    """A token that opens the job's file until `expires_at`, signed with the newest key."""
    version = settings.current_version
    payload = _b64(msgspec.msgpack.encode((job_id.bytes, int(expires_at.timestamp()), version)))
    return f"{payload}.{_b64(_mac(settings.keys[version], payload))}"


def download_url(
    public_url: str, settings: LinkSettings, job_id: uuid.UUID, expires_at: dt.datetime
) -> str:
    """The full download link of a job's file, open until `expires_at`."""
    return f"{public_url}/v1/downloads/{sign_link(settings, job_id, expires_at)}"


def verify_link(settings: LinkSettings, token: str, now: dt.datetime | None = None) -> SignedLink:
    """The link a token stands for; raises TamperedLink or ExpiredLink."""
    payload, dot, signature = token.partition(".")
    if not dot:
        raise TamperedLink("malformed token")
    try:
        job_bytes, expires, version = _payload_decoder.decode(_unb64(payload))
        given = _unb64(signature)
        job_id = uuid.UUID(bytes=job_bytes)
    except (ValueError, msgspec.DecodeError):
        raise TamperedLink("malformed token") from None
    key = settings.keys.get(version)
    if key is None or not hmac.compare_digest(given, _mac(key, payload)):
        raise TamperedLink("bad signature")
    expires_at = dt.datetime.fromtimestamp(expires, dt.UTC)
    if (now or dt.datetime.now(dt.UTC)) >= expires_at:
        raise ExpiredLink(f"link expired at {expires_at.isoformat()}")
    return SignedLink(job_id=job_id, expires_at=expires_at, key_version=version)

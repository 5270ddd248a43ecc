"""Object storage for generated files: an S3 bucket, or a folder on the local disk.

Writers stream: an S3 writer sends a multipart part each time `part_size` bytes are buffered,
a local writer appends to a temporary file; neither holds the whole file. Both compute the
SHA-256 as the bytes go by, and both can abort what an earlier, crashed attempt left behind.

A big job's shards are written by several workers into one upload, each as its numbered part
(`start_upload`, `open_part`, `complete_upload`); nobody sees every byte go by, so the finished
object's SHA-256 is read back from storage once it is complete. On the local disk a
completed upload stays a folder of its parts, which downloads read in order.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import shutil
import tempfile
import urllib.parse
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import boto3
import botocore.config
import msgspec

from core.settings import StorageSettings

DIGEST_CHUNK_BYTES = 1024 * 1024
# A part for S3 waits in memory up to this size, then on local disk, until it is complete.
SPOOL_MEMORY_BYTES = 8 * 1024 * 1024


def multipart_etag(etags: Sequence[str]) -> str:
    """The ETag S3 gives an object completed from parts with these ETags (MD5s)."""
    joined = b"".join(bytes.fromhex(etag.strip('"')) for etag in etags)
    return f"{hashlib.md5(joined, usedforsecurity=False).hexdigest()}-{len(etags)}"


class StoredObject(msgspec.Struct, frozen=True):
    key: str
    size_bytes: int
    sha256: str


class PendingUpload(msgspec.Struct, frozen=True):
    """An upload begun and neither completed nor aborted; `abort_upload(key, upload_id)` ends
    it. On the local disk `key` is a path in the folder its parts lie in."""

    key: str
    upload_id: str
    started_at: dt.datetime


class ObjectWriter(Protocol):
    key: str
    # What an attempt records so that a later one can clean up after it.
    upload_id: str

    def write(self, data: bytes) -> None: ...
    def commit(self) -> StoredObject: ...
    def abort(self) -> None: ...


class PartWriter(Protocol):
    """One numbered part of an upload, written in pieces; commit returns its ETag."""

    def write(self, data: bytes) -> None: ...
    def commit(self) -> str: ...
    def abort(self) -> None: ...


class ObjectStore(Protocol):
    def open_writer(self, key: str, content_type: str) -> ObjectWriter: ...
    # An upload written in numbered parts by several workers (the shards of a big job).
    def start_upload(self, key: str, content_type: str) -> str: ...
    def open_part(self, key: str, upload_id: str, number: int) -> PartWriter: ...
    def complete_upload(self, key: str, upload_id: str, etags: Sequence[str]) -> StoredObject: ...
    def abort_upload(self, key: str, upload_id: str) -> None: ...
    def abort_uploads(self, prefix: str) -> int: ...
    def list_uploads(self, prefix: str) -> list[PendingUpload]: ...
    def delete(self, key: str) -> None: ...
    def list_keys(self, prefix: str) -> list[str]: ...
    def read(self, key: str) -> Iterator[bytes]: ...
    def presigned_url(self, key: str, file_name: str, seconds: int) -> str | None: ...
    def local_path(self, key: str) -> Path | None: ...
    def check(self) -> None: ...


def content_disposition(file_name: str) -> str:
    """An attachment header that names the file, safe for non-ASCII names (RFC 6266)."""
    ascii_name = file_name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    quoted = urllib.parse.quote(file_name, safe="")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}"


class S3ObjectStore:
    """Files in one S3 bucket (any S3-compatible server: AWS, MinIO, moto)."""

    def __init__(self, settings: StorageSettings, client: Any | None = None) -> None:
        if settings.s3_bucket is None:
            raise ValueError("S3ObjectStore needs S3_BUCKET")
        self.bucket = settings.s3_bucket
        self.part_size = settings.part_size
        self.client = client or boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            config=botocore.config.Config(
                signature_version="s3v4",
                retries={"max_attempts": 5, "mode": "standard"},
                connect_timeout=5,
                read_timeout=60,
            ),
        )

    def open_writer(self, key: str, content_type: str) -> ObjectWriter:
        return _S3Writer(self, key, content_type)

    def start_upload(self, key: str, content_type: str) -> str:
        created = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=key, ContentType=content_type
        )
        upload_id: str = created["UploadId"]
        return upload_id

    def open_part(self, key: str, upload_id: str, number: int) -> PartWriter:
        """Part ``number``, uploaded when committed; sending a part again replaces it."""
        return _S3PartWriter(self, key, upload_id, number)

    def complete_upload(self, key: str, upload_id: str, etags: Sequence[str]) -> StoredObject:
        """Joins the parts into the object and returns its size and SHA-256, read back.

        Done again for a completed upload, it checks it: S3 forgets an upload once it is
        completed, so a finalizer that died after completing finds NoSuchUpload on its retry;
        the object is there with the ETag S3 gives a multipart object (the MD5 of the parts'
        MD5s, then the part count), or the upload really is gone.
        """
        parts = [{"PartNumber": n, "ETag": etag} for n, etag in enumerate(etags, start=1)]
        try:
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except self.client.exceptions.NoSuchUpload:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
            if head["ETag"].strip('"') != multipart_etag(etags):
                raise
        # No one saw every byte go by: read the object back, a chunk at a time.
        body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        digest, size = hashlib.sha256(), 0
        for chunk in body.iter_chunks(DIGEST_CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
        return StoredObject(key, size, digest.hexdigest())

    def abort_upload(self, key: str, upload_id: str) -> None:
        # NoSuchUpload: already completed or aborted, so nothing is left to clean.
        with contextlib.suppress(self.client.exceptions.NoSuchUpload):
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)

    def abort_uploads(self, prefix: str) -> int:
        """Aborts every unfinished upload under `prefix`, recorded anywhere or not."""
        uploads = self.list_uploads(prefix)
        for upload in uploads:
            self.abort_upload(upload.key, upload.upload_id)
        return len(uploads)

    def list_uploads(self, prefix: str) -> list[PendingUpload]:
        """Every unfinished multipart upload under `prefix`, with when it was begun."""
        pages = self.client.get_paginator("list_multipart_uploads")
        return [
            PendingUpload(upload["Key"], upload["UploadId"], upload["Initiated"])
            for page in pages.paginate(Bucket=self.bucket, Prefix=prefix)
            for upload in page.get("Uploads", [])
        ]

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def list_keys(self, prefix: str) -> list[str]:
        """The keys of every object under `prefix`, in order."""
        pages = self.client.get_paginator("list_objects_v2")
        return [
            item["Key"]
            for page in pages.paginate(Bucket=self.bucket, Prefix=prefix)
            for item in page.get("Contents", [])
        ]

    def read(self, key: str) -> Iterator[bytes]:
        """The object's bytes, a chunk at a time; NoSuchKey at once when it is not there."""
        body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        chunks: Iterator[bytes] = body.iter_chunks(DIGEST_CHUNK_BYTES)
        return chunks

    def presigned_url(self, key: str, file_name: str, seconds: int) -> str | None:
        url: str = self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentDisposition": content_disposition(file_name),
            },
            ExpiresIn=seconds,
        )
        return url

    def local_path(self, key: str) -> Path | None:
        return None

    def check(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)


class _S3Writer:
    def __init__(self, store: S3ObjectStore, key: str, content_type: str) -> None:
        self._store = store
        self.key = key
        created = store.client.create_multipart_upload(
            Bucket=store.bucket, Key=key, ContentType=content_type
        )
        self.upload_id: str = created["UploadId"]
        self._buffer = bytearray()
        self._parts: list[dict[str, Any]] = []
        self._digest = hashlib.sha256()
        self._size = 0

    def write(self, data: bytes) -> None:
        self._digest.update(data)
        self._size += len(data)
        self._buffer += data
        if len(self._buffer) >= self._store.part_size:
            self._send_part()

    def _send_part(self) -> None:
        number = len(self._parts) + 1
        answer = self._store.client.upload_part(
            Bucket=self._store.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=bytes(self._buffer),
        )
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})
        self._buffer.clear()

    def commit(self) -> StoredObject:
        if self._buffer or not self._parts:
            self._send_part()
        self._store.client.complete_multipart_upload(
            Bucket=self._store.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": self._parts},
        )
        return StoredObject(self.key, self._size, self._digest.hexdigest())

    def abort(self) -> None:
        self._buffer.clear()
        self._store.abort_upload(self.key, self.upload_id)


class _S3PartWriter:
    """A part for S3, which needs its length before the first byte: the bytes wait in memory
    up to SPOOL_MEMORY_BYTES, then in a temporary file, until the part is complete."""

    def __init__(self, store: S3ObjectStore, key: str, upload_id: str, number: int) -> None:
        self._store, self._key, self._upload_id, self._number = store, key, upload_id, number
        self._spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)  # noqa: SIM115

    def write(self, data: bytes) -> None:
        self._spool.write(data)

    def commit(self) -> str:
        try:
            size = self._spool.tell()
            self._spool.seek(0)
            answer = self._store.client.upload_part(
                Bucket=self._store.bucket,
                Key=self._key,
                UploadId=self._upload_id,
                PartNumber=self._number,
                Body=self._spool,
                ContentLength=size,
            )
        finally:
            self._spool.close()
        etag: str = answer["ETag"]
        return etag

    def abort(self) -> None:
        self._spool.close()


class LocalObjectStore:
    """Files under one folder: the embedded mode's storage, streamed by the API itself."""

    def __init__(self, settings: StorageSettings) -> None:
        self.root = settings.local_dir.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"object key {key!r} leaves the storage folder")
        return path

    def open_writer(self, key: str, content_type: str) -> ObjectWriter:
        return _LocalWriter(key, self._path(key))

    # Parts lie beside the final file as `.<upload id>.<part>.partial`, so that abort_uploads
    # finds them like any unfinished file.
    def _part_path(self, key: str, upload_id: str, number: int) -> Path:
        return self._path(key).with_name(f".{upload_id}.{number:05d}.partial")

    def start_upload(self, key: str, content_type: str) -> str:
        self._path(key).parent.mkdir(parents=True, exist_ok=True)
        return uuid.uuid4().hex

    def open_part(self, key: str, upload_id: str, number: int) -> PartWriter:
        """Part ``number``, written straight into the folder and put in place on commit."""
        return _LocalPartWriter(self._part_path(key, upload_id, number))

    def complete_upload(self, key: str, upload_id: str, etags: Sequence[str]) -> StoredObject:
        """Makes the parts the object, in place, and returns its size and SHA-256.

        The object is a folder of its parts (`00001`, `00002`…) that downloads read in order:
        joining gigabytes into one file would copy every byte once more, serially, after all
        the shards are done. The parts are moved into a hidden folder, which is then renamed
        into place; a retry after a crash goes on from wherever the moves stopped.
        """
        final = self._path(key)
        parts = [self._part_path(key, upload_id, n) for n in range(1, len(etags) + 1)]
        if not (final.is_dir() and not any(part.exists() for part in parts)):  # not done yet
            joining = final.with_name(f".{upload_id}.joined.partial")
            joining.mkdir(exist_ok=True)
            for number, part in enumerate(parts, start=1):
                moved = joining / f"{number:05d}"
                if part.exists():
                    os.replace(part, moved)
                elif not moved.exists():
                    raise FileNotFoundError(f"part {number} of {key} is missing")
            os.replace(joining, final)
        digest = hashlib.sha256()
        size = 0
        for chunk in local_object_chunks(final):
            digest.update(chunk)
            size += len(chunk)
        return StoredObject(key, size, digest.hexdigest())

    def abort_upload(self, key: str, upload_id: str) -> None:
        for path in self._path(key).parent.glob(f".{upload_id}.*partial"):
            _remove(path)

    def abort_uploads(self, prefix: str) -> int:
        """Deletes every unfinished file (or folder of parts) under `prefix`."""
        folder = self._path(prefix)
        if not folder.is_dir():
            return 0
        partial = list(folder.rglob(".*.partial"))
        for path in partial:
            _remove(path)
        return len(partial)

    def list_uploads(self, prefix: str) -> list[PendingUpload]:
        """Unfinished files under `prefix`, one per upload: a writer's temporary file, or the
        parts of an upload, dated by the newest part written."""
        folder = self._path(prefix)
        if not folder.is_dir():
            return []
        newest: dict[tuple[Path, str], float] = {}
        for path in folder.rglob(".*.partial"):
            upload = (path.parent, path.name.split(".")[1])
            with contextlib.suppress(FileNotFoundError):  # completed or aborted meanwhile
                newest[upload] = max(newest.get(upload, 0.0), path.stat().st_mtime)
        return [
            PendingUpload(
                str((parent / f".{upload_id}.partial").relative_to(self.root)),
                upload_id,
                dt.datetime.fromtimestamp(modified, dt.UTC),
            )
            for (parent, upload_id), modified in newest.items()
        ]

    def delete(self, key: str) -> None:
        _remove(self._path(key))

    def list_keys(self, prefix: str) -> list[str]:
        """The keys of every finished object under `prefix`, in order (a folder of parts is one
        object; unfinished files are left out)."""
        folder = self._path(prefix.rpartition("/")[0])
        keys = (path.relative_to(self.root).as_posix() for path in _local_objects(folder))
        return sorted(key for key in keys if key.startswith(prefix))

    def read(self, key: str) -> Iterator[bytes]:
        """The object's bytes, a chunk at a time; FileNotFoundError at once when it is not there."""
        path = self._path(key)
        if not path.exists():
            raise FileNotFoundError(f"no object {key!r} in {self.root}")
        return local_object_chunks(path)

    def presigned_url(self, key: str, file_name: str, seconds: int) -> str | None:
        return None

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def check(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK):
            raise PermissionError(f"storage folder {self.root} is not writable")


class _LocalWriter:
    def __init__(self, key: str, final_path: Path) -> None:
        final_path.parent.mkdir(parents=True, exist_ok=True)
        self.key = key
        self._final = final_path
        self.upload_id = f".{uuid.uuid4().hex}.partial"
        self._temp = final_path.with_name(self.upload_id)
        self._file: BinaryIO = open(self._temp, "wb")  # noqa: SIM115 - closed in commit/abort
        self._digest = hashlib.sha256()
        self._size = 0

    def write(self, data: bytes) -> None:
        self._digest.update(data)
        self._size += len(data)
        self._file.write(data)

    def commit(self) -> StoredObject:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._temp, self._final)
        return StoredObject(self.key, self._size, self._digest.hexdigest())

    def abort(self) -> None:
        self._file.close()
        self._temp.unlink(missing_ok=True)


class _LocalPartWriter:
    """A part on the local disk: a temporary file in the folder, renamed into place."""

    def __init__(self, final_path: Path) -> None:
        self._final = final_path
        self._temp = final_path.with_name(f".{uuid.uuid4().hex}.partial")
        self._file: BinaryIO = open(self._temp, "wb")  # noqa: SIM115 - closed in commit/abort

    def write(self, data: bytes) -> None:
        self._file.write(data)

    def commit(self) -> str:
        self._file.close()
        os.replace(self._temp, self._final)
        # Nothing checks a local part's ETag; it only has to name this version of the part.
        return f'"{uuid.uuid4().hex}"'

    def abort(self) -> None:
        self._file.close()
        self._temp.unlink(missing_ok=True)


def _remove(path: Path) -> None:
    """Deletes a file, or a folder of parts, if it is there."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _local_objects(folder: Path) -> Iterator[Path]:
    """The objects in `folder` and below: files, and the folders of parts complete_upload makes.

    Hidden names are unfinished: a writer's temporary file, parts not yet joined.
    """
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        if entry.name.startswith("."):
            continue
        if entry.is_file() or _is_folder_of_parts(entry):
            yield entry
        else:
            yield from _local_objects(entry)


def _is_folder_of_parts(folder: Path) -> bool:
    names = [entry.name for entry in folder.iterdir()]
    return bool(names) and all(len(name) == 5 and name.isdigit() for name in names)


def local_object_size(path: Path) -> int:
    """The bytes of a local object: one file, or a folder of parts."""
    if path.is_dir():
        return sum(part.stat().st_size for part in path.iterdir())
    return path.stat().st_size


def local_object_chunks(path: Path) -> Iterator[bytes]:
    """The bytes of a local object, a chunk at a time: one file, or its parts in order."""
    files = sorted(path.iterdir()) if path.is_dir() else [path]
    for file in files:
        with open(file, "rb") as source:
            while chunk := source.read(DIGEST_CHUNK_BYTES):
                yield chunk


def local_object_slice(path: Path, start: int, stop: int) -> Iterator[bytes]:
    """Bytes `start` up to `stop` (exclusive) of a local object, a chunk at a time.

    For a folder of parts only the parts the slice crosses are opened, each at its offset:
    a range near the end of a big file reads nothing before it.
    """
    files = sorted(path.iterdir()) if path.is_dir() else [path]
    file_start = 0  # where the current file begins within the object
    for file in files:
        if file_start >= stop:
            return
        file_stop = file_start + file.stat().st_size
        if file_stop > start:
            with open(file, "rb") as source:
                source.seek(max(start - file_start, 0))
                remaining = min(stop, file_stop) - max(start, file_start)
                while remaining > 0 and (chunk := source.read(min(DIGEST_CHUNK_BYTES, remaining))):
                    remaining -= len(chunk)
                    yield chunk
        file_start = file_stop


def job_prefix(settings: StorageSettings, job_id: uuid.UUID) -> str:
    """Where everything of one job is stored: `jobs/<id>/`."""
    return f"{settings.s3_prefix}{job_id}/"


def job_object_key(
    settings: StorageSettings, job_id: uuid.UUID, attempt: int, file_name: str
) -> str:
    """The key of one attempt's file; attempts never share one, so none overwrites another."""
    return f"{job_prefix(settings, job_id)}{attempt}/{file_name}"


def discard_unfinished(store: ObjectStore, prefix: str, object_key: str | None) -> None:
    """Aborts every open upload under a job's prefix and deletes the file it never delivered.

    Listing by prefix also finds an upload whose id a crashed worker never got to record.
    """
    store.abort_uploads(prefix)
    if object_key is not None:
        store.delete(object_key)


def object_store(settings: StorageSettings) -> ObjectStore:
    """The store the settings ask for: S3 when a bucket is named, the local folder otherwise."""
    if settings.s3_bucket:
        return S3ObjectStore(settings)
    return LocalObjectStore(settings)

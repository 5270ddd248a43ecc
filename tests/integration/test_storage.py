"""Storage adapters against the real servers: migrations in PostgreSQL, streaming to S3."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from pathlib import Path

import asyncpg
import pytest

from core.settings import StorageSettings
from storage.database import migrate, migrations
from storage.objects import (
    LocalObjectStore,
    ObjectStore,
    S3ObjectStore,
    StoredObject,
    local_object_chunks,
    local_object_size,
)
from tests.services import create_database, drop_database

MiB = 1024 * 1024


def test_migrations_apply_once_and_record_themselves(database_url: str) -> None:
    async def go() -> None:
        url = await create_database("tdbuddy_migrate", migrated=False)
        try:
            conn = await asyncpg.connect(url)
            try:
                applied = await migrate(conn)
                assert applied == [m.version for m in migrations()]
                assert await migrate(conn) == []  # a second run changes nothing
                tables = {
                    r["tablename"]
                    for r in await conn.fetch(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                    )
                }
                assert {
                    "users",
                    "api_keys",
                    "jobs",
                    "usage_statistics",
                    "schema_migrations",
                } <= tables
            finally:
                await conn.close()
        finally:
            await drop_database(url)

    asyncio.run(go())


def test_concurrent_migrators_apply_each_migration_once(database_url: str) -> None:
    async def go() -> None:
        url = await create_database("tdbuddy_migrate", migrated=False)
        try:
            conns = [await asyncpg.connect(url) for _ in range(3)]
            results = await asyncio.gather(*(migrate(c) for c in conns))
            assert sorted(len(r) for r in results) == [0, 0, len(migrations())]
            for c in conns:
                await c.close()
        finally:
            await drop_database(url)

    asyncio.run(go())


@pytest.fixture
def s3_store(s3_endpoint: str, s3_bucket: str) -> S3ObjectStore:
    return S3ObjectStore(
        StorageSettings(s3_bucket=s3_bucket, s3_endpoint_url=s3_endpoint, part_size=5 * MiB)
    )


def test_s3_writer_streams_parts_and_the_object_is_whole(s3_store: S3ObjectStore) -> None:
    data = os.urandom(12 * MiB + 123)  # three parts: 5 MiB, 5 MiB and the short last one
    writer = s3_store.open_writer(f"t/{uuid.uuid4()}.bin", "application/octet-stream")
    for start in range(0, len(data), 1_000_000):
        writer.write(data[start : start + 1_000_000])
    stored = writer.commit()
    assert stored.size_bytes == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    got = s3_store.client.get_object(Bucket=s3_store.bucket, Key=stored.key)
    assert got["Body"].read() == data


def test_s3_abort_leaves_no_upload_and_no_object(s3_store: S3ObjectStore) -> None:
    key = f"t/{uuid.uuid4()}/x.bin"
    writer = s3_store.open_writer(key, "text/csv")
    writer.write(os.urandom(6 * MiB))
    # A later attempt finds it by the job's prefix, whether or not its id was recorded.
    assert s3_store.abort_uploads(key.rsplit("/", 1)[0] + "/") == 1
    assert s3_store.abort_uploads(key.rsplit("/", 1)[0] + "/") == 0  # nothing left, no error
    uploads = s3_store.client.list_multipart_uploads(Bucket=s3_store.bucket, Prefix=key)
    assert uploads.get("Uploads", []) == []
    listed = s3_store.client.list_objects_v2(Bucket=s3_store.bucket, Prefix=key)
    assert listed.get("Contents", []) == []


def test_presigned_url_names_the_file_and_expires_within_five_minutes(
    s3_store: S3ObjectStore,
) -> None:
    import httpx

    writer = s3_store.open_writer("t/presign.csv", "text/csv")
    writer.write(b"a,b\n1,2\n")
    writer.commit()
    url = s3_store.presigned_url("t/presign.csv", "ユーザー.csv", 300)
    assert url is not None and "X-Amz-Expires=300" in url
    response = httpx.get(url)
    assert response.content == b"a,b\n1,2\n"
    disposition = response.headers["content-disposition"]
    assert "attachment" in disposition
    assert "filename*=UTF-8''%E3%83%A6%E3%83%BC%E3%82%B6%E3%83%BC.csv" in disposition


def put_part(store: ObjectStore, key: str, upload_id: str, number: int, data: bytes) -> str:
    """Writes a part in pieces of 1 MB, as a shard writes its blocks; returns its ETag."""
    part = store.open_part(key, upload_id, number)
    for start in range(0, len(data), 1_000_000):
        part.write(data[start : start + 1_000_000])
    return part.commit()


def _parts_round_trip(store: ObjectStore, key: str) -> None:
    """Parts put out of order, one of them twice, join in part order into the object."""
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), b"the short last part"]
    upload_id = store.start_upload(key, "text/csv")
    etags = [""] * 3
    for number in (3, 1, 2, 1):
        etags[number - 1] = put_part(store, key, upload_id, number, parts[number - 1])
    whole = b"".join(parts)
    expected = StoredObject(key, len(whole), hashlib.sha256(whole).hexdigest())
    assert store.complete_upload(key, upload_id, etags) == expected
    # A finalizer's retry after it completed: no error, the same answer.
    assert store.complete_upload(key, upload_id, etags) == expected

    lost = store.start_upload(key + ".2", "text/csv")
    put_part(store, key + ".2", lost, 1, b"x")
    aborted = store.open_part(key + ".2", lost, 2)  # a shard stopped halfway
    aborted.write(b"y")
    aborted.abort()
    assert store.abort_uploads(key.rsplit("/", 1)[0] + "/") == 1


def test_s3_parts_from_many_writers_make_one_object(s3_store: S3ObjectStore) -> None:
    key = f"t/{uuid.uuid4()}/parts.csv"
    _parts_round_trip(s3_store, key)
    assert s3_store.client.get_object(Bucket=s3_store.bucket, Key=key)["ETag"].endswith('-3"')
    listed = s3_store.client.list_multipart_uploads(Bucket=s3_store.bucket, Prefix="t/")
    assert [u["Key"] for u in listed.get("Uploads", [])] == []


def test_local_parts_from_many_writers_make_one_file(tmp_path: Path) -> None:
    store = LocalObjectStore(StorageSettings(local_dir=tmp_path))
    _parts_round_trip(store, "jobs/c/1/parts.csv")
    # Nothing unfinished is left beside the object, and it reads back whole, parts in order.
    assert sorted(p.name for p in (tmp_path / "jobs/c/1").iterdir()) == ["parts.csv"]
    path = tmp_path / "jobs/c/1/parts.csv"
    assert local_object_size(path) == 10 * MiB + len(b"the short last part")
    assert b"".join(local_object_chunks(path)).endswith(b"the short last part")
    store.delete("jobs/c/1/parts.csv")
    assert list((tmp_path / "jobs/c/1").iterdir()) == []


def test_local_writer_is_atomic_and_abort_cleans_up(tmp_path: Path) -> None:
    store = LocalObjectStore(StorageSettings(local_dir=tmp_path))
    writer = store.open_writer("jobs/a/1/users.csv", "text/csv")
    writer.write(b"id\n1\n")
    final = tmp_path / "jobs/a/1/users.csv"
    assert not final.exists()  # nothing visible until commit
    stored = writer.commit()
    assert final.read_bytes() == b"id\n1\n" and stored.size_bytes == 5

    crashed = store.open_writer("jobs/b/1/users.csv", "text/csv")
    crashed.write(b"partial")
    assert store.abort_uploads("jobs/b/") == 1
    assert list((tmp_path / "jobs/b/1").iterdir()) == []
    with pytest.raises(ValueError, match="leaves"):
        store.open_writer("../../etc/passwd", "text/plain")

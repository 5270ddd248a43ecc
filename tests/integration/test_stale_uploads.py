"""Stale uploads: what a crashed attempt left unfinished in storage is aborted once it is old
and its job is no longer queued or running; live uploads and finished files stay."""

from __future__ import annotations

import dataclasses
import os
import time
import uuid
from pathlib import Path
from typing import Any

from core.settings import Settings
from schedules.uploads import abort_stale_uploads
from storage.objects import LocalObjectStore, ObjectStore, S3ObjectStore
from tests.integration.test_generation import new_job
from workers.resources import WorkerResources


def with_storage(settings: Settings, stale_after: float, **storage: Any) -> Settings:
    return dataclasses.replace(
        settings,
        storage=dataclasses.replace(settings.storage, **storage),
        periodic=dataclasses.replace(settings.periodic, stale_upload_seconds=stale_after),
    )


async def job_in_state(res: WorkerResources, state: str) -> uuid.UUID:
    job = await new_job(res)
    await res.pool.execute("UPDATE jobs SET state = $2 WHERE id = $1", job.id, state)
    return job.id


def begin_upload(store: ObjectStore, key: str) -> str:
    """An upload with one part written, as an attempt that died before completing it."""
    upload_id = store.start_upload(key, "text/csv")
    part = store.open_part(key, upload_id, 1)
    part.write(b"id,name\n1,Sato\n")
    part.commit()
    return upload_id


async def test_stale_s3_uploads_of_jobs_no_longer_running_are_aborted(
    quiet_resources: WorkerResources,
) -> None:
    res = quiet_resources
    prefix = f"stale-{uuid.uuid4().hex[:8]}/"
    failed = await job_in_state(res, "failed")
    running = await job_in_state(res, "running")
    settings = with_storage(res.settings, 0, s3_prefix=prefix)
    store = S3ObjectStore(settings.storage)
    keys = {
        "failed": f"{prefix}{failed}/1/users.csv",
        "gone": f"{prefix}{uuid.uuid4()}/1/users.csv",  # its job was deleted
        "running": f"{prefix}{running}/1/users.csv",
        "not a job's": f"{prefix}exports/nightly.dump",
    }
    for key in keys.values():
        begin_upload(store, key)
    finished = f"{prefix}{failed}/0/users.csv"
    store.client.put_object(Bucket=store.bucket, Key=finished, Body=b"id\n1\n")

    # None is old enough to count as stale after a century (moto dates each one 2010-11-10).
    patient = with_storage(res.settings, 100 * 365 * 24 * 3600, s3_prefix=prefix)
    assert await abort_stale_uploads(res.pool, store, patient) == 0
    assert await abort_stale_uploads(res.pool, store, settings) == 2

    left = {upload.key for upload in store.list_uploads(prefix)}
    assert left == {keys["running"], keys["not a job's"]}
    listed = store.client.list_objects_v2(Bucket=store.bucket, Prefix=prefix)
    assert [item["Key"] for item in listed["Contents"]] == [finished]
    # Running again finds nothing more to do.
    assert await abort_stale_uploads(res.pool, store, settings) == 0


async def test_stale_local_parts_of_jobs_no_longer_running_are_deleted(
    quiet_resources: WorkerResources, tmp_path: Path
) -> None:
    res = quiet_resources
    settings = with_storage(res.settings, 3600, s3_bucket=None, local_dir=tmp_path)
    store = LocalObjectStore(settings.storage)
    prefix = settings.storage.s3_prefix
    failed = await job_in_state(res, "failed")
    cancelled = await job_in_state(res, "cancelled")
    running = await job_in_state(res, "running")
    old = begin_upload(store, f"{prefix}{failed}/1/users.csv")
    young = begin_upload(store, f"{prefix}{cancelled}/1/users.csv")
    busy = begin_upload(store, f"{prefix}{running}/1/users.csv")
    last_written(tmp_path, {old, busy}, time.time() - 2 * 3600)

    assert await abort_stale_uploads(res.pool, store, settings) == 1
    assert sorted(partial_uploads(tmp_path)) == sorted([young, busy])


def partial_uploads(folder: Path) -> list[str]:
    """The ids of the uploads whose parts lie under `folder`."""
    return [path.name.split(".")[1] for path in folder.rglob(".*.partial")]


def last_written(folder: Path, upload_ids: set[str], when: float) -> None:
    """Dates the parts of these uploads back to `when`, as if no one had written since."""
    for path in folder.rglob(".*.partial"):
        if path.name.split(".")[1] in upload_ids:
            os.utime(path, (when, when))

"""Download links users can trust: DELETE makes a job's links answer 410 and removes its file
(unless another live job hands it out); HEAD answers like GET without the body; on local
storage one byte range is served as 206, on a plain file and on a sharded folder of parts."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import httpx
import pytest

from api.downloads import ByteRange, requested_range
from api.errors import ApiError
from storage.objects import local_object_slice
from tests.integration.test_end_to_end import USERS, download
from tests.services import Stack, job_when, new_api_key


def _spec(**changes: Any) -> dict[str, Any]:
    """A users spec with a seed of its own, so that no earlier job's file is reused for it."""
    return {**USERS, "rows": 2_000, "seed": secrets.randbits(40), **changes}


def _finished(client: httpx.Client, spec: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
    job = client.post("/v1/jobs", json=spec)
    assert job.status_code == 202, job.text
    return job_when(client, job.json()["url"], lambda j: j["state"] == "succeeded", timeout)


def _objects_under(s3_endpoint: str, bucket: str, prefix: str) -> list[str]:
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


def _assert_deleted_link(client: httpx.Client, link: str) -> None:
    for answer in (client.get(link), client.head(link)):
        assert answer.status_code == 410, answer.text
    body = client.get(link).json()
    assert body["error"] == "gone" and body["detail"] == "the file was deleted"


# --- Ranges, without the service -------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", ByteRange(0, 10, 100)),
        ("bytes=40-59", ByteRange(40, 60, 100)),
        ("bytes=90-", ByteRange(90, 100, 100)),
        ("bytes=-15", ByteRange(85, 100, 100)),
        ("bytes=-500", ByteRange(0, 100, 100)),  # a suffix longer than the file: all of it
        ("bytes=95-1000", ByteRange(95, 100, 100)),  # a last byte past the end: the end
        ("Bytes=99-99", ByteRange(99, 100, 100)),
        (f"bytes=0-{'9' * 5000}", ByteRange(0, 100, 100)),
        (None, None),
        ("bytes=9-3", None),  # backwards
        ("bytes=0-9,20-29", None),  # several ranges: the whole file
        ("bytes=abc", None),
        ("bytes=-", None),
        ("bytes=0-9 junk", None),
        ("items=0-9", None),  # a unit we do not serve
    ],
)
def test_one_byte_range_is_read_and_anything_else_means_the_whole_file(
    header: str | None, expected: ByteRange | None
) -> None:
    assert requested_range(header, 100) == expected


@pytest.mark.parametrize(
    ("header", "size"),
    [("bytes=100-", 100), ("bytes=100-200", 100), ("bytes=-0", 100), ("bytes=-5", 0)],
)
def test_a_range_outside_the_file_is_416_naming_the_size(header: str, size: int) -> None:
    with pytest.raises(ApiError) as raised:
        requested_range(header, size)
    assert raised.value.status_code == 416
    assert raised.value.headers == {"Content-Range": f"bytes */{size}"}
    assert raised.value.body.field == "Range"


def test_a_slice_of_a_folder_of_parts_reads_across_part_boundaries(tmp_path: Path) -> None:
    folder = tmp_path / "sharded.csv"
    folder.mkdir()
    parts = [b"abc", b"", b"defghij", b"k", b"lmnopq"]
    for number, data in enumerate(parts, start=1):
        (folder / f"{number:05d}").write_bytes(data)
    plain = tmp_path / "plain.csv"
    whole = b"".join(parts)
    plain.write_bytes(whole)
    for path in (folder, plain):
        for start in range(len(whole) + 1):
            for stop in range(start, len(whole) + 2):
                got = b"".join(local_object_slice(path, start, stop))
                assert got == whole[start:stop], (path.name, start, stop)


# --- DELETE and HEAD on S3 (the session stack) --------------------------------------------------


def test_delete_makes_every_link_gone_and_the_job_says_when(
    client: httpx.Client, s3_endpoint: str, s3_bucket: str
) -> None:
    done = _finished(client, _spec(name="deleted"))
    link = done["file"]["download_url"]
    assert client.get(link).status_code == 302
    assert _objects_under(s3_endpoint, s3_bucket, f"jobs/{done['id']}/")

    answer = client.delete(done["url"])
    assert answer.status_code == 204 and answer.content == b""
    _assert_deleted_link(client, link)
    view = client.get(done["url"])
    assert view.status_code == 200
    job = view.json()
    assert job["deleted_at"] is not None and job["state"] == "succeeded"
    assert job["file"]["download_url"] is None
    assert _objects_under(s3_endpoint, s3_bucket, f"jobs/{done['id']}/") == []

    # Deleting again changes nothing and says so the same way.
    again = client.delete(done["url"])
    assert again.status_code == 204
    assert client.get(done["url"]).json()["deleted_at"] == job["deleted_at"]


def test_delete_of_someone_elses_or_an_unknown_job_is_404(
    client: httpx.Client, other_client: httpx.Client
) -> None:
    done = _finished(client, _spec(name="not-theirs"))
    for url in (done["url"], f"/v1/jobs/{uuid.uuid4()}"):
        answer = other_client.delete(url)
        assert answer.status_code == 404, answer.text
        assert answer.json()["field"] == "job_id"
    assert client.get(done["url"]).json()["deleted_at"] is None
    assert client.get(done["file"]["download_url"]).status_code == 302


def test_delete_cancels_a_running_job_and_leaves_nothing_in_storage(
    client: httpx.Client, s3_endpoint: str, s3_bucket: str
) -> None:
    # Parquet is made whole by one worker, streaming into its own multipart upload.
    spec = _spec(name="deleted-running", rows=3_000_000, format="parquet")
    job = client.post("/v1/jobs", json=spec).json()
    job_when(client, job["url"], lambda j: j["progress"]["rows_done"] > 0, 60)

    assert client.delete(job["url"]).status_code == 204
    view = client.get(job["url"]).json()
    assert view["state"] == "cancelled" and view["deleted_at"] is not None
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    prefix = f"jobs/{job['id']}/"
    assert s3.list_multipart_uploads(Bucket=s3_bucket, Prefix=prefix).get("Uploads", []) == []
    assert _objects_under(s3_endpoint, s3_bucket, prefix) == []
    assert client.delete(job["url"]).status_code == 204


def test_delete_cancels_a_job_that_has_just_been_submitted(client: httpx.Client) -> None:
    job = client.post("/v1/jobs", json=_spec(name="deleted-at-once", rows=3_000_000)).json()
    assert job["state"] == "queued"
    assert client.delete(job["url"]).status_code == 204
    view = client.get(job["url"]).json()
    assert view["state"] == "cancelled" and view["deleted_at"] is not None
    # It stays so: no worker brings a deleted job back.
    assert client.post(f"{job['url']}/cancel").status_code == 409


def test_a_shared_file_stays_until_the_last_job_handing_it_out_is_deleted(
    client: httpx.Client, s3_endpoint: str, s3_bucket: str
) -> None:
    spec = _spec(name="shared")
    source = _finished(client, spec)
    reusers = [client.post("/v1/jobs", json=spec).json() for _ in range(2)]
    assert [job["reused_from"] for job in reusers] == [source["id"], source["id"]]
    expected = download(client, source["file"]["download_url"]).content
    prefix = f"jobs/{source['id']}/"

    # The reusing job goes; the file stays for the job that made it and for the other reuser.
    assert client.delete(reusers[0]["url"]).status_code == 204
    _assert_deleted_link(client, reusers[0]["file"]["download_url"])
    assert download(client, source["file"]["download_url"]).content == expected
    # The job that made it goes; the other reuser still hands it out.
    assert client.delete(source["url"]).status_code == 204
    _assert_deleted_link(client, source["file"]["download_url"])
    assert download(client, reusers[1]["file"]["download_url"]).content == expected
    assert _objects_under(s3_endpoint, s3_bucket, prefix)
    # The last one goes, and the file with it.
    assert client.delete(reusers[1]["url"]).status_code == 204
    _assert_deleted_link(client, reusers[1]["file"]["download_url"])
    assert _objects_under(s3_endpoint, s3_bucket, prefix) == []


def test_head_on_s3_redirects_like_get_without_a_body(client: httpx.Client) -> None:
    done = _finished(client, _spec(name="head-s3"))
    link = done["file"]["download_url"]
    head, get = client.head(link), client.get(link)
    assert head.status_code == get.status_code == 302
    assert head.content == b""
    head_url, get_url = urlsplit(head.headers["location"]), urlsplit(get.headers["location"])
    assert (head_url.netloc, head_url.path) == (get_url.netloc, get_url.path)
    assert "X-Amz-Expires=300" in head_url.query
    assert head.headers["cache-control"] == "no-store"
    # The presigned URL serves the file; HEAD at our end answered without sending it.
    assert httpx.get(head.headers["location"]).content == download(client, link).content
    # HEAD takes the same checks as GET: a tampered token is refused.
    assert client.head(link + "x").status_code == 403


# --- HEAD and Range on local storage -------------------------------------------------------------


@pytest.fixture(scope="module")
def local_client(local_stack: Stack) -> Iterator[httpx.Client]:
    key = new_api_key(local_stack.env, f"ranges-{uuid.uuid4().hex[:6]}")
    with local_stack.client(key) as client:
        yield client


def _stored_path(stack: Stack, job: dict[str, Any]) -> Path:
    """Where the local store keeps the job's file: one file, or a folder of parts."""
    found = list(Path(stack.env["STORAGE_DIR"]).rglob(f"{job['id']}/*/{job['file']['name']}"))
    assert len(found) == 1, found
    return found[0]


def _full_download(client: httpx.Client, job: dict[str, Any]) -> httpx.Response:
    answer = client.get(job["file"]["download_url"])
    assert answer.status_code == 200, answer.text
    assert answer.headers["accept-ranges"] == "bytes"
    assert int(answer.headers["content-length"]) == job["file"]["size_bytes"]
    assert hashlib.sha256(answer.content).hexdigest() == job["file"]["sha256"]
    return answer


def _assert_ranges_are_slices(
    client: httpx.Client, link: str, whole: bytes, cuts: list[int]
) -> None:
    """Every range form answers 206 with exactly the slice of the whole file it names;
    `cuts` are offsets worth crossing (where one part of a folder ends)."""
    size = len(whole)
    ranges = {
        "bytes=0-99": (0, 100),
        f"bytes={size // 3}-{size // 2}": (size // 3, size // 2 + 1),
        "bytes=-777": (size - 777, size),
        f"bytes={size - 1234}-": (size - 1234, size),
        f"bytes={size - 5}-{size + 100}": (size - 5, size),
    }
    for cut in cuts:
        ranges[f"bytes={cut - 10}-{cut + 9}"] = (cut - 10, cut + 10)
    for header, (start, stop) in ranges.items():
        answer = client.get(link, headers={"Range": header})
        assert answer.status_code == 206, (header, answer.text)
        assert answer.headers["content-range"] == f"bytes {start}-{stop - 1}/{size}", header
        assert int(answer.headers["content-length"]) == stop - start, header
        assert answer.content == whole[start:stop], header


def _assert_ranges_refused_or_ignored(client: httpx.Client, link: str, whole: bytes) -> None:
    size = len(whole)
    for header in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}"):
        refused = client.get(link, headers={"Range": header})
        assert refused.status_code == 416, header
        assert refused.headers["content-range"] == f"bytes */{size}"
        assert refused.json()["error"] == "range_not_satisfiable"
    for header in ("bytes=10-5", "bytes=0-9,20-29", "bytes=x-y", "lines=0-9"):
        ignored = client.get(link, headers={"Range": header})
        assert ignored.status_code == 200, header
        assert ignored.content == whole, header


def test_head_and_ranges_of_a_plain_local_file(
    local_stack: Stack, local_client: httpx.Client
) -> None:
    done = _finished(local_client, _spec(name="plain", rows=20_000))
    assert _stored_path(local_stack, done).is_file()
    link = done["file"]["download_url"]
    full = _full_download(local_client, done)

    head = local_client.head(link)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == done["file"]["size_bytes"]
    for name in ("content-type", "content-disposition", "accept-ranges", "etag", "last-modified"):
        assert head.headers[name] == full.headers[name], name
    assert "plain.csv" in head.headers["content-disposition"]

    _assert_ranges_are_slices(local_client, link, full.content, [])
    _assert_ranges_refused_or_ignored(local_client, link, full.content)

    # If-Range: the current ETag or Last-Modified gets the range, anything else the whole file.
    for validator in (full.headers["etag"], full.headers["last-modified"]):
        kept = local_client.get(link, headers={"Range": "bytes=0-9", "If-Range": validator})
        assert kept.status_code == 206 and kept.content == full.content[:10]
    for stale in ('"0123"', f"W/{full.headers['etag']}", "Mon, 01 Jan 2024 00:00:00 GMT"):
        whole = local_client.get(link, headers={"Range": "bytes=0-9", "If-Range": stale})
        assert whole.status_code == 200 and whole.content == full.content, stale


def test_head_ranges_and_delete_of_a_sharded_local_file(
    local_stack: Stack, local_client: httpx.Client
) -> None:
    # 400,000 rows are over the 6 MiB shard target: the file is a folder of parts.
    done = _finished(local_client, _spec(name="sharded", rows=400_000), timeout=120)
    folder = _stored_path(local_stack, done)
    assert folder.is_dir()
    parts = sorted(folder.iterdir())
    assert len(parts) > 1
    link = done["file"]["download_url"]
    full = _full_download(local_client, done)

    head = local_client.head(link)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(full.content)
    assert head.headers["accept-ranges"] == "bytes"
    assert head.headers["content-type"] == full.headers["content-type"]
    assert head.headers["content-disposition"] == full.headers["content-disposition"]

    cuts, offset = [], 0
    for part in parts[:-1]:
        offset += part.stat().st_size
        cuts.append(offset)
    _assert_ranges_are_slices(local_client, link, full.content, cuts)
    _assert_ranges_refused_or_ignored(local_client, link, full.content)

    # Deleting the job removes the folder, and HEAD then says so too.
    assert local_client.delete(done["url"]).status_code == 204
    _assert_deleted_link(local_client, link)
    assert not folder.exists()

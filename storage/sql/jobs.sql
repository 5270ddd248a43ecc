-- name: insert_job
-- Unsent (enqueued_at NULL): the scheduler's relay sends it once the insert commits
-- (claim_unsent_jobs; migration 0007 announces the insert).
INSERT INTO jobs (id, user_id, name, spec, format, rows_total, engine_version, file_name,
                  callback_url, callback_secret, notify_email, notify_language, trace_context)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
RETURNING *;

-- name: unclaim_jobs
-- Their messages were not sent (the broker is down): unsent again, for the relay's next try.
UPDATE jobs SET enqueued_at = NULL
WHERE id = ANY ($1::uuid[]) AND state = 'queued' AND attempt = 0;

-- name: claim_unsent_jobs
-- Queued jobs no message was sent for yet, oldest first, $1 at most, marked as sent now.
UPDATE jobs SET enqueued_at = now()
WHERE id IN (
    SELECT id FROM jobs
    WHERE state = 'queued' AND enqueued_at IS NULL AND shard_count IS NULL
    ORDER BY created_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED)
RETURNING id, trace_context;

-- name: get_job_for_user
SELECT * FROM jobs WHERE id = $1 AND user_id = $2;

-- name: get_job
SELECT * FROM jobs WHERE id = $1;

-- name: list_jobs_for_user
-- Keyset pagination: newest first, after the cursor ($3, $4) when one is given.
SELECT * FROM jobs
WHERE user_id = $1
  AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $2;

-- name: claim_job
-- A worker takes a queued job, or a running one whose worker stopped sending heartbeats,
-- unless the job has used up its attempts. A sharded job is past this: its shards are
-- claimed one by one (shards.sql). upload_id and object_key still name what the
-- previous attempt wrote, so the new attempt can clean it up before it records its own.
UPDATE jobs
SET state = 'running', attempt = attempt + 1, heartbeat_at = now(),
    started_at = COALESCE(started_at, now()), rows_done = 0
WHERE id = $1
  AND attempt < $3
  AND shard_count IS NULL
  AND (state = 'queued'
       OR (state = 'running' AND heartbeat_at < now() - make_interval(secs => $2)))
RETURNING *;

-- name: record_upload
UPDATE jobs SET upload_id = $3, object_key = $4, heartbeat_at = now()
WHERE id = $1 AND attempt = $2 AND state = 'running';

-- name: record_progress
UPDATE jobs SET rows_done = $3, heartbeat_at = now()
WHERE id = $1 AND attempt = $2 AND state = 'running';

-- name: renew_lease
UPDATE jobs SET heartbeat_at = now()
WHERE id = $1 AND attempt = $2 AND state = 'running';

-- name: finish_job
UPDATE jobs
SET state = 'succeeded', rows_done = rows_total, upload_id = NULL, size_bytes = $3,
    sha256 = $4, finished_at = now(), heartbeat_at = now(),
    -- The owner's plan says how long the file lives, at most $5 (LINK_TTL_SECONDS).
    expires_at = now() + make_interval(secs => LEAST(
        (SELECT p.link_seconds FROM users u JOIN plans p ON p.name = u.plan
         WHERE u.id = jobs.user_id), $5))
WHERE id = $1 AND attempt = $2 AND state = 'running'
RETURNING *;

-- name: fail_job
-- $3 fences a worker's attempt; NULL fails the job whatever attempt holds it.
UPDATE jobs SET state = 'failed', error = $2, upload_id = NULL, finished_at = now()
WHERE id = $1 AND state IN ('queued', 'running') AND ($3::integer IS NULL OR attempt = $3)
RETURNING *;

-- name: claim_jobs_to_resend
-- Jobs a crash left behind: queued but never sent (or sent long ago and still not taken),
-- or running without a heartbeat for longer than the lease. Marking them sent now keeps the
-- next tick from sending them again at once.
UPDATE jobs SET enqueued_at = now()
WHERE id IN (
    SELECT id FROM jobs
    WHERE attempt < $4 AND shard_count IS NULL
      AND ((state = 'queued'
            AND (enqueued_at IS NULL OR enqueued_at < now() - make_interval(secs => $1)))
        OR (state = 'running' AND heartbeat_at < now() - make_interval(secs => $2)
            AND COALESCE(enqueued_at, '-infinity') < now() - make_interval(secs => $2)))
    ORDER BY created_at
    LIMIT $3
    FOR UPDATE SKIP LOCKED)
RETURNING id, trace_context;

-- name: release_job
-- A worker that hit a transient error hands the job back for the retry of its message, which
-- arrives within $3 seconds: until then the reconciler must not send it again. What the
-- attempt wrote stays recorded, for the next attempt to clean up.
UPDATE jobs SET state = 'queued', rows_done = 0,
    enqueued_at = GREATEST(enqueued_at, now() + make_interval(secs => $3))
WHERE id = $1 AND attempt = $2 AND state = 'running';

-- name: fail_abandoned_jobs
-- Jobs that have used all $2 attempts and are not running any more: their worker died every
-- time (killed for memory, say), and sending them again would only kill another worker.
-- Returns what the last attempt wrote, for the caller to clean up.
WITH abandoned AS (
    SELECT id, upload_id, object_key FROM jobs
    WHERE attempt >= $2 AND shard_count IS NULL
      AND ((state = 'running' AND heartbeat_at < now() - make_interval(secs => $1))
           OR (state = 'queued' AND COALESCE(enqueued_at, '-infinity') < now()))
    FOR UPDATE SKIP LOCKED)
UPDATE jobs j
SET state = 'failed', finished_at = now(), upload_id = NULL,
    error = 'the worker stopped ' || j.attempt || ' times while generating this job; '
            || 'it may need more memory than a worker has'
FROM abandoned a
WHERE j.id = a.id
RETURNING a.id, a.upload_id, a.object_key;

-- name: cancel_job
-- Returns what the job was writing (the row before the update), for the caller to remove.
WITH before AS (
    SELECT id, upload_id, object_key FROM jobs
    WHERE id = $1 AND user_id = $2 AND state IN ('queued', 'running')
    FOR UPDATE)
UPDATE jobs j
SET state = 'cancelled', finished_at = now(), upload_id = NULL, object_key = NULL
FROM before b
WHERE j.id = b.id
RETURNING b.upload_id AS written_upload_id, b.object_key AS written_object_key, j.*;

-- name: insert_jobs
-- Many insert_job rows in one statement and one commit: $1…$13 are arrays of its columns.
INSERT INTO jobs (id, user_id, name, spec, format, rows_total, engine_version, file_name,
                  callback_url, callback_secret, notify_email, notify_language, trace_context)
SELECT *
FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::jsonb[], $5::text[], $6::bigint[],
            $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
            $13::text[])
RETURNING *;

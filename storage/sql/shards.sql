-- name: mark_job_sharded
-- The planning attempt records the shard count and the upload every shard writes a part of.
UPDATE jobs SET shard_count = $3, upload_id = $4, object_key = $5, heartbeat_at = now()
WHERE id = $1 AND attempt = $2 AND state = 'running' AND shard_count IS NULL;

-- name: insert_shards
INSERT INTO job_shards (job_id, shard, first_block, stop_block)
SELECT $1, ordinality - 1, first_block, stop_block
FROM unnest($2::integer[], $3::integer[]) WITH ORDINALITY AS t (first_block, stop_block);

-- name: mark_shards_enqueued
UPDATE job_shards SET enqueued_at = now()
WHERE job_id = $1 AND state = 'pending' AND enqueued_at IS NULL;

-- name: claim_shard
-- A worker takes a pending shard, or a running one whose worker stopped sending heartbeats,
-- of a job that is still running, unless the shard has used up its attempts.
UPDATE job_shards s
SET state = 'running', attempt = s.attempt + 1, heartbeat_at = now(), rows_done = 0
FROM jobs j
WHERE s.job_id = $1 AND s.shard = $2 AND j.id = s.job_id AND j.state = 'running'
  AND s.attempt < $4
  AND (s.state = 'pending'
       OR (s.state = 'running' AND s.heartbeat_at < now() - make_interval(secs => $3)))
RETURNING s.job_id, s.shard, s.attempt, s.first_block, s.stop_block,
          j.spec, j.upload_id, j.object_key, j.shard_count;

-- name: record_shard_progress
-- Renews the shard's lease and sums the job's progress over its shards; no row comes back
-- when this attempt has lost the shard or the job has ended (cancelled, failed).
WITH shard AS (
    UPDATE job_shards SET rows_done = $4, heartbeat_at = now()
    WHERE job_id = $1 AND shard = $2 AND attempt = $3 AND state = 'running'
      AND EXISTS (SELECT 1 FROM jobs WHERE id = $1 AND state = 'running')
    RETURNING job_id)
UPDATE jobs
SET heartbeat_at = now(),
    rows_done = $4 + (SELECT COALESCE(sum(rows_done), 0) FROM job_shards
                      WHERE job_id = $1 AND shard <> $2)
WHERE id = (SELECT job_id FROM shard)
RETURNING id;

-- name: lock_running_job
SELECT id FROM jobs WHERE id = $1 AND state = 'running' FOR UPDATE;

-- name: finish_shard
UPDATE job_shards
SET state = 'done', etag = $4, size_bytes = $5, rows_done = $6, heartbeat_at = now()
WHERE job_id = $1 AND shard = $2 AND attempt = $3 AND state = 'running';

-- name: sum_shard_progress
-- After a shard is done, under the job's row lock: the job's progress and what is left.
UPDATE jobs
SET heartbeat_at = now(),
    rows_done = (SELECT COALESCE(sum(rows_done), 0) FROM job_shards WHERE job_id = $1)
WHERE id = $1
RETURNING (SELECT count(*) FROM job_shards WHERE job_id = $1 AND state <> 'done') AS unfinished;

-- name: release_shard
-- A transient error: the shard goes back to pending for the retry of its message, due within
-- $4 seconds; until then the reconciler must not send it again.
UPDATE job_shards
SET state = 'pending', rows_done = 0,
    enqueued_at = GREATEST(enqueued_at, now() + make_interval(secs => $4))
WHERE job_id = $1 AND shard = $2 AND attempt = $3 AND state = 'running';

-- name: claim_finalize
-- Every shard is in: one worker at a time completes the upload. The claim bumps the job's
-- attempt, which fences the finish; a finalizer that stops renewing is replaced after the lease.
UPDATE jobs
SET attempt = attempt + 1, finalizing_at = now(), heartbeat_at = now()
WHERE id = $1 AND state = 'running' AND shard_count IS NOT NULL
  AND (finalizing_at IS NULL OR heartbeat_at < now() - make_interval(secs => $2))
  AND NOT EXISTS (SELECT 1 FROM job_shards WHERE job_id = $1 AND state <> 'done')
RETURNING *;

-- name: shard_etags
SELECT etag FROM job_shards WHERE job_id = $1 ORDER BY shard;

-- name: claim_shards_to_resend
-- Shards a crash left behind: pending but never sent (or sent long ago and still not taken),
-- or running without a heartbeat for longer than the lease.
UPDATE job_shards SET enqueued_at = now()
WHERE (job_id, shard) IN (
    SELECT s.job_id, s.shard FROM job_shards s JOIN jobs j ON j.id = s.job_id
    WHERE j.state = 'running' AND s.attempt < $4
      AND ((s.state = 'pending'
            AND (s.enqueued_at IS NULL OR s.enqueued_at < now() - make_interval(secs => $1)))
        OR (s.state = 'running' AND s.heartbeat_at < now() - make_interval(secs => $2)
            AND COALESCE(s.enqueued_at, '-infinity') < now() - make_interval(secs => $2)))
    ORDER BY j.created_at, s.shard
    LIMIT $3
    FOR UPDATE OF s SKIP LOCKED)
RETURNING job_id, shard;

-- name: claim_jobs_to_finalize
-- Sharded jobs whose every shard is in but that nobody completed: the finalizing worker
-- died, or the last shard's worker died before it could start.
UPDATE jobs SET enqueued_at = now()
WHERE id IN (
    SELECT id FROM jobs
    WHERE state = 'running' AND shard_count IS NOT NULL
      AND heartbeat_at < now() - make_interval(secs => $1)
      AND COALESCE(enqueued_at, '-infinity') < now() - make_interval(secs => $1)
      AND NOT EXISTS (SELECT 1 FROM job_shards s WHERE s.job_id = jobs.id AND s.state <> 'done')
    LIMIT $2
    FOR UPDATE SKIP LOCKED)
RETURNING id;

-- name: fail_jobs_with_exhausted_shards
-- A shard that has used all $2 attempts and is not running any more fails its job. Returns
-- the upload the shards were writing, for the caller to abort.
WITH exhausted AS (
    SELECT j.id, j.upload_id, j.object_key, s.shard, s.attempt FROM jobs j
    JOIN job_shards s ON s.job_id = j.id
    WHERE j.state = 'running' AND s.attempt >= $2 AND s.state <> 'done'
      AND ((s.state = 'running' AND s.heartbeat_at < now() - make_interval(secs => $1))
           OR (s.state = 'pending' AND COALESCE(s.enqueued_at, '-infinity') < now()))
    FOR UPDATE OF j SKIP LOCKED)
UPDATE jobs j
SET state = 'failed', finished_at = now(), upload_id = NULL,
    error = 'the worker stopped ' || e.attempt || ' times while generating part '
            || (e.shard + 1) || ' of this job; it may need more memory than a worker has'
FROM exhausted e
WHERE j.id = e.id AND j.state = 'running'
RETURNING e.id, e.upload_id, e.object_key;

-- name: renew_shard_lease
UPDATE job_shards SET heartbeat_at = now()
WHERE job_id = $1 AND shard = $2 AND attempt = $3 AND state = 'running'
  AND EXISTS (SELECT 1 FROM jobs WHERE id = $1 AND state = 'running');

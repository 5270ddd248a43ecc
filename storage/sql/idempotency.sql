-- Submitting safely: Idempotency-Key rows, and jobs answered by an earlier job's live file.

-- name: lock_idempotency_key
-- Whether this transaction now holds the lock of idempotency key $2 of API key $1 (held
-- until commit or rollback).
SELECT pg_try_advisory_xact_lock(hashtextextended($2, $1));

-- name: find_idempotency_key
-- The job an idempotency key made and the fingerprint of the request that made it, while the
-- key is younger than $3 seconds.
SELECT k.request_fingerprint, j.*
FROM idempotency_keys k JOIN jobs j ON j.id = k.job_id
WHERE k.api_key_id = $1 AND k.key = $2 AND k.created_at > now() - make_interval(secs => $3);

-- name: insert_idempotency_key
-- Run under the key's lock after find_idempotency_key found nothing: a row still there is
-- an expired one, and the key's new use replaces it.
INSERT INTO idempotency_keys (api_key_id, key, request_fingerprint, job_id)
VALUES ($1, $2, $3, $4)
ON CONFLICT (api_key_id, key) DO UPDATE
SET request_fingerprint = EXCLUDED.request_fingerprint, job_id = EXCLUDED.job_id,
    created_at = now();

-- name: delete_expired_idempotency_keys
DELETE FROM idempotency_keys WHERE created_at <= now() - make_interval(secs => $1);

-- name: insert_reused_job
-- A new job (the columns of insert_job) created succeeded on the file of the same user's
-- job with the same spec and engine, when that file is live for $14 seconds more; no row when
-- there is none. reused_from names the job that generated the file, not a job reusing it;
-- FOR SHARE keeps the source from being deleted before this commits.
INSERT INTO jobs (id, user_id, name, spec, format, rows_total, engine_version, file_name,
                  callback_url, callback_secret, notify_email, notify_language, trace_context,
                  state, rows_done, object_key, size_bytes, sha256, started_at, finished_at,
                  expires_at, reused_from)
SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
       'succeeded', $6, source.object_key, source.size_bytes, source.sha256, now(), now(),
       source.expires_at, COALESCE(source.reused_from, source.id)
FROM (
    SELECT object_key, size_bytes, sha256, expires_at, reused_from, id FROM jobs
    WHERE user_id = $2 AND fingerprint = job_fingerprint($4, $7)
      AND state = 'succeeded' AND deleted_at IS NULL AND object_key IS NOT NULL
      AND expires_at > now() + make_interval(secs => $14)
    ORDER BY expires_at DESC
    LIMIT 1
    FOR SHARE) AS source
RETURNING *;

-- name: file_shared_with_live_job
-- Whether a live job other than $1 hands out the same stored object as job $1 (one reused
-- it, or it reused theirs): deleting $1's file must then leave the object in place.
SELECT EXISTS (
    SELECT 1 FROM jobs this, jobs other
    WHERE this.id = $1 AND other.id <> this.id
      AND (other.id = COALESCE(this.reused_from, this.id)
           OR other.reused_from = COALESCE(this.reused_from, this.id))
      AND other.state = 'succeeded' AND other.deleted_at IS NULL AND other.expires_at > now());

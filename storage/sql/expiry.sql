-- name: expire_jobs
-- Succeeded jobs whose file's time is up become 'expired' (announced by the jobs trigger, see
-- migration 0004), $1 at most per call; returns what each one's file was, for the caller to
-- delete unless another live job still hands it out.
UPDATE jobs SET state = 'expired'
WHERE id IN (
    SELECT id FROM jobs
    WHERE state = 'succeeded' AND expires_at <= now()
    ORDER BY expires_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED)
RETURNING id, object_key;

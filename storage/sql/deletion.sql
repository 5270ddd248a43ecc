-- Deleting a job at its owner's request: the row stays, marked, so that its links answer 410.

-- name: delete_job
-- Marks the user's ended job deleted and returns it; no row for an unknown job, someone
-- else's, or one still queued or running (the caller cancels it first). A repeated delete
-- keeps the first instant. Taking the row lock waits for a submission that is reusing this
-- job's file (insert_reused_job reads it FOR SHARE) to commit, so that a check made after
-- this sees that job.
UPDATE jobs SET deleted_at = COALESCE(deleted_at, now())
WHERE id = $1 AND user_id = $2 AND state NOT IN ('queued', 'running')
RETURNING *;

-- name: busy_jobs
-- Which of the jobs $1 are queued or running: their unfinished uploads may still be written.
SELECT id FROM jobs WHERE id = ANY ($1::uuid[]) AND state IN ('queued', 'running');

-- name: metrics_gauges
-- What the API's gauges show: users with a job in the last 24 h, and the jobs still queued
-- (jobs_unfinished serves the second; the first reads one day of jobs, once a refresh).
SELECT (SELECT count(DISTINCT user_id) FROM jobs
        WHERE created_at > now() - interval '24 hours') AS active_users,
       (SELECT count(*) FROM jobs WHERE state = 'queued') AS jobs_queued;

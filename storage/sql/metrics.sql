-- name: metrics_gauges
-- What the API's gauges show: users who submitted a job today or yesterday (UTC; from the
-- plans' daily counters, a row per user and day, not from the jobs), and the jobs still
-- queued (the jobs_unfinished index).
SELECT (SELECT count(DISTINCT user_id) FROM job_counts
        WHERE day >= (now() AT TIME ZONE 'UTC')::date - 1 AND jobs > 0) AS active_users,
       (SELECT count(*) FROM jobs WHERE state = 'queued') AS jobs_queued;

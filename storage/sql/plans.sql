-- name: take_job_allowance
SELECT job, refused, limit_value FROM take_job_allowance($1::bigint[], $2::bigint[]);

-- name: count_job_today
-- One more job of user $1 today, past take_job_allowance (its transaction holds the row).
UPDATE job_counts SET jobs = jobs + 1
WHERE user_id = $1 AND day = (now() AT TIME ZONE 'UTC')::date;

-- name: list_plans
SELECT name, rows_per_job, jobs_per_day, running_jobs, bytes_stored, link_seconds,
       assistant_tokens_per_month
FROM plans ORDER BY name;

-- name: set_plan
-- A new plan, or new limits for one; a NULL limit means no limit.
INSERT INTO plans (name, rows_per_job, jobs_per_day, running_jobs, bytes_stored, link_seconds,
                   assistant_tokens_per_month)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (name) DO UPDATE
SET rows_per_job = EXCLUDED.rows_per_job, jobs_per_day = EXCLUDED.jobs_per_day,
    running_jobs = EXCLUDED.running_jobs, bytes_stored = EXCLUDED.bytes_stored,
    link_seconds = EXCLUDED.link_seconds,
    assistant_tokens_per_month = EXCLUDED.assistant_tokens_per_month
RETURNING name, rows_per_job, jobs_per_day, running_jobs, bytes_stored, link_seconds,
          assistant_tokens_per_month;

-- name: plan_usage
-- A user's plan and what they use of it now.
SELECT p.name, p.rows_per_job, p.jobs_per_day, p.running_jobs, p.bytes_stored, p.link_seconds,
       p.assistant_tokens_per_month,
       assistant_tokens_this_month(u.id) AS assistant_tokens_used,
       COALESCE((SELECT c.jobs FROM job_counts c
                 WHERE c.user_id = u.id AND c.day = (now() AT TIME ZONE 'UTC')::date), 0)
           AS jobs_today,
       (SELECT count(*) FROM jobs j
        WHERE j.user_id = u.id AND j.state IN ('queued', 'running')) AS jobs_running,
       bytes_stored(u.id) AS bytes_used,
       (SELECT min(expires_at) FROM jobs j
        WHERE j.user_id = u.id AND j.state = 'succeeded' AND j.deleted_at IS NULL
          AND j.object_key IS NOT NULL AND j.expires_at > now()) AS next_file_expiry
FROM users u JOIN plans p ON p.name = u.plan
WHERE u.id = $1;

-- name: set_user_plan
UPDATE users SET plan = $2 WHERE name = $1 RETURNING id;

-- The daily statistics roll-up (tables of migration 0012) and what reads it.

-- name: lock_statistics_day
-- Roll-ups of one day, from any process, run one after another (until the transaction ends).
SELECT pg_advisory_xact_lock(hashtext('tdbuddy_statistics'), $1::date - DATE '2000-01-01');

-- name: clear_statistics_day
WITH cleared AS (DELETE FROM usage_statistics WHERE day = $1)
DELETE FROM daily_statistics WHERE day = $1;

-- name: roll_up_statistics_day
-- Writes day $1's rows of usage_statistics (one per user with a job that ended that UTC day)
-- and daily_statistics (one, zeros without jobs); returns the daily_statistics row. The
-- day's rows must have been cleared first (clear_statistics_day, same transaction).
WITH ended AS (
    SELECT id, user_id, format, spec, rows_total, COALESCE(size_bytes, 0) AS size_bytes,
           -- A file that has expired since was generated all the same.
           CASE WHEN state = 'expired' THEN 'succeeded' ELSE state::text END AS outcome,
           -- A job that reused an earlier job's file generated nothing.
           state IN ('succeeded', 'expired') AND reused_from IS NULL AS generated,
           extract(epoch FROM finished_at - started_at)::float8 AS seconds
    FROM jobs
    WHERE finished_at >= $1::date::timestamp AT TIME ZONE 'UTC'
      AND finished_at < ($1::date + 1)::timestamp AT TIME ZONE 'UTC'
      AND state IN ('succeeded', 'failed', 'cancelled', 'expired')
),
-- One row per user, and the whole day's (whole: the empty grouping set, there even
-- without jobs).
counts AS (
    SELECT GROUPING(user_id) = 1 AS whole, user_id,
           count(*) AS jobs_total,
           count(*) FILTER (WHERE outcome = 'succeeded') AS jobs_succeeded,
           count(*) FILTER (WHERE outcome = 'failed') AS jobs_failed,
           count(*) FILTER (WHERE outcome = 'cancelled') AS jobs_cancelled,
           count(*) FILTER (WHERE outcome = 'succeeded' AND NOT generated) AS jobs_reused,
           count(DISTINCT user_id) AS unique_users,
           COALESCE(sum(rows_total) FILTER (WHERE generated), 0) AS rows_generated,
           COALESCE(sum(size_bytes) FILTER (WHERE generated), 0) AS bytes_generated,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) FILTER (WHERE generated)
               AS duration_p50_seconds,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY seconds) FILTER (WHERE generated)
               AS duration_p95_seconds
    FROM ended
    GROUP BY GROUPING SETS ((user_id), ())
),
formats AS (
    SELECT GROUPING(user_id) = 1 AS whole, user_id, format,
           count(*) AS jobs,
           COALESCE(sum(rows_total) FILTER (WHERE generated), 0) AS rows,
           COALESCE(sum(size_bytes) FILTER (WHERE generated), 0) AS bytes
    FROM ended
    GROUP BY GROUPING SETS ((user_id, format), (format))
),
format_maps AS (
    SELECT whole, user_id,
           jsonb_object_agg(format, jsonb_build_object('jobs', jobs, 'rows', rows, 'bytes', bytes))
               AS by_format
    FROM formats
    GROUP BY whole, user_id
),
-- Fields of the dataset and of its further tables.
field_types AS (
    SELECT jsonb_object_agg(type, jsonb_build_object('jobs', jobs, 'fields', fields))
               AS by_field_type
    FROM (
        SELECT f.type, count(DISTINCT e.id) AS jobs, count(*) AS fields
        FROM ended e
        CROSS JOIN LATERAL (
            SELECT jsonb_path_query(e.spec, 'lax $.fields[*].type') #>> '{}'
            UNION ALL
            SELECT jsonb_path_query(e.spec, 'lax $.tables[*].fields[*].type') #>> '{}'
        ) AS f (type)
        WHERE f.type IS NOT NULL
        GROUP BY f.type) AS per_type
),
per_user AS (
    INSERT INTO usage_statistics (day, user_id, jobs_total, jobs_succeeded, jobs_failed,
                                  jobs_cancelled, rows_generated, bytes_generated, by_format)
    SELECT $1, c.user_id, c.jobs_total, c.jobs_succeeded, c.jobs_failed, c.jobs_cancelled,
           c.rows_generated, c.bytes_generated, m.by_format
    FROM counts c JOIN format_maps m ON NOT m.whole AND m.user_id = c.user_id
    WHERE NOT c.whole
)
INSERT INTO daily_statistics (day, jobs_total, jobs_succeeded, jobs_failed, jobs_cancelled,
                              jobs_reused, unique_users, rows_generated, bytes_generated,
                              by_format, by_field_type, duration_p50_seconds,
                              duration_p95_seconds)
SELECT $1, c.jobs_total, c.jobs_succeeded, c.jobs_failed, c.jobs_cancelled, c.jobs_reused,
       c.unique_users, c.rows_generated, c.bytes_generated, COALESCE(m.by_format, '{}'),
       COALESCE(t.by_field_type, '{}'), c.duration_p50_seconds, c.duration_p95_seconds
FROM counts c
LEFT JOIN format_maps m ON m.whole
CROSS JOIN field_types t
WHERE c.whole
RETURNING day;

-- name: roll_up_assistant_day
-- Adds day $1's use of the schema assistant to its rows of usage_statistics (a user who only
-- asked Claude gets a row without jobs) and daily_statistics, after roll_up_statistics_day
-- in the same transaction; returns the daily_statistics row.
WITH day_usage AS (
    SELECT user_id, requests, input_tokens, output_tokens FROM assistant_usage WHERE day = $1
),
per_user AS (
    INSERT INTO usage_statistics AS u (day, user_id, assistant_requests, assistant_input_tokens,
                                       assistant_output_tokens)
    SELECT $1, user_id, requests, input_tokens, output_tokens FROM day_usage
    ON CONFLICT (day, user_id) DO UPDATE
    SET assistant_requests = EXCLUDED.assistant_requests,
        assistant_input_tokens = EXCLUDED.assistant_input_tokens,
        assistant_output_tokens = EXCLUDED.assistant_output_tokens
)
UPDATE daily_statistics
SET assistant_requests = (SELECT COALESCE(sum(requests), 0) FROM day_usage),
    assistant_input_tokens = (SELECT COALESCE(sum(input_tokens), 0) FROM day_usage),
    assistant_output_tokens = (SELECT COALESCE(sum(output_tokens), 0) FROM day_usage)
WHERE day = $1
RETURNING day, jobs_total, jobs_succeeded, jobs_failed, jobs_cancelled, jobs_reused,
          unique_users, rows_generated, bytes_generated, by_format, by_field_type,
          duration_p50_seconds, duration_p95_seconds, assistant_requests,
          assistant_input_tokens, assistant_output_tokens;

-- name: daily_statistics_between
SELECT day, jobs_total, jobs_succeeded, jobs_failed, jobs_cancelled, jobs_reused,
       unique_users, rows_generated, bytes_generated, by_format, by_field_type,
       duration_p50_seconds, duration_p95_seconds, assistant_requests,
       assistant_input_tokens, assistant_output_tokens
FROM daily_statistics
WHERE day BETWEEN $1 AND $2
ORDER BY day;

-- name: unique_users_between
-- Users with a job that ended on a rolled-up day from $1 to $2.
SELECT count(DISTINCT user_id) FROM usage_statistics
WHERE day BETWEEN $1 AND $2 AND jobs_total > 0;

-- name: days_to_roll_up
-- The days from $1 to $2 without a roll-up made once the day had ended $3 seconds before:
-- never rolled up (missed), or rolled up by hand while its jobs were still ending.
SELECT d::date AS day
FROM generate_series($1::date, $2::date, interval '1 day') AS d
WHERE NOT EXISTS (
    SELECT 1 FROM daily_statistics s
    WHERE s.day = d::date
      AND s.rolled_up_at
          >= (d::date + 1)::timestamp AT TIME ZONE 'UTC' + make_interval(secs => $3))
ORDER BY 1;

-- name: first_job_end_day
SELECT (min(finished_at) AT TIME ZONE 'UTC')::date FROM jobs WHERE finished_at IS NOT NULL;

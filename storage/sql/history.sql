-- The job history (migration 0011): its monthly partitions.

-- name: create_history_partitions
-- This UTC month's partition and the next $1 months', each made if missing; returns the
-- names of those made now, earliest first.
SELECT made FROM (
    SELECT ahead, create_job_history_partition(
        ((now() AT TIME ZONE 'UTC') + make_interval(months => ahead))::date) AS made
    FROM generate_series(0, $1) AS ahead) AS partitions
WHERE made IS NOT NULL
ORDER BY ahead;

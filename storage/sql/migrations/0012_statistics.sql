-- The daily statistics roll-up (storage/sql/statistics.sql) and the administrators who may
-- read it.

-- An administrator reads the whole service's statistics (GET /v1/admin/stats).
ALTER TABLE users ADD COLUMN is_admin boolean NOT NULL DEFAULT false;

-- What API processes keep for each key includes its owner's name and admin flag: a change
-- of either makes every API process forget what it held (see migration 0005).
DROP TRIGGER users_renamed ON users;
CREATE TRIGGER users_changed
AFTER UPDATE OF name, is_admin ON users FOR EACH ROW
WHEN (NEW.name IS DISTINCT FROM OLD.name OR NEW.is_admin IS DISTINCT FROM OLD.is_admin)
EXECUTE FUNCTION announce_user_change();

-- A job counts on the UTC day it ended; the roll-up reads one day of ended jobs.
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;

-- The whole service, one row per rolled-up UTC day (a day without jobs has a row of zeros).
-- Succeeded jobs include those whose file has since expired, and those that reused an
-- earlier job's file (jobs_reused of them): those generated nothing, so their rows and bytes
-- are not counted as generated and their duration is not among the percentiles.
CREATE TABLE daily_statistics (
    day                   date PRIMARY KEY,
    jobs_total            integer NOT NULL,
    jobs_succeeded        integer NOT NULL,
    jobs_failed           integer NOT NULL,
    jobs_cancelled        integer NOT NULL,
    jobs_reused           integer NOT NULL,
    unique_users          integer NOT NULL,
    rows_generated        bigint NOT NULL,
    bytes_generated       bigint NOT NULL,
    -- {"csv": {"jobs": 3, "rows": 300, "bytes": 4096}, …}
    by_format             jsonb NOT NULL,
    -- {"email": {"jobs": 2, "fields": 3}, …}: jobs with a field of the type, and such fields
    by_field_type         jsonb NOT NULL,
    -- From started to finished, of the jobs that generated a file; NULL without one.
    duration_p50_seconds  double precision,
    duration_p95_seconds  double precision,
    rolled_up_at          timestamptz NOT NULL DEFAULT now()
);

-- usage_statistics (migration 0001) is the same per user; its by_format is shaped as above.
ALTER TABLE usage_statistics
    ADD COLUMN jobs_succeeded integer NOT NULL DEFAULT 0,
    ADD COLUMN jobs_cancelled integer NOT NULL DEFAULT 0;

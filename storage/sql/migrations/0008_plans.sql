-- Plans and their limits. NULL means no limit. Operators change them with `tdbuddy plans set`;
-- every API process reads them fresh for each submit (take_job_allowance below).
CREATE TABLE plans (
    name          text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,39}$'),
    rows_per_job  bigint CHECK (rows_per_job > 0),
    jobs_per_day  integer CHECK (jobs_per_day >= 0),
    running_jobs  integer CHECK (running_jobs >= 0),   -- queued or running at once
    bytes_stored  bigint CHECK (bytes_stored >= 0),    -- live files, bytes
    link_seconds  integer CHECK (link_seconds > 0),    -- how long a file and its links live
    created_at    timestamptz NOT NULL DEFAULT now()
);

INSERT INTO plans (name, rows_per_job, jobs_per_day, running_jobs, bytes_stored, link_seconds)
VALUES ('free', 1000000, 100, 2, 1073741824, 86400),
       ('pro', 100000000, 5000, 10, 107374182400, 604800),
       ('enterprise', NULL, NULL, NULL, NULL, 2592000);

ALTER TABLE users
    ADD COLUMN plan text NOT NULL DEFAULT 'free' REFERENCES plans (name) ON UPDATE CASCADE;

-- Jobs accepted per user and UTC day: the counter the daily limit is checked against, and
-- the row every submit of a user locks, so that one user's submits through any number of
-- API processes are checked one after another.
CREATE TABLE job_counts (
    user_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    day      date NOT NULL,
    jobs     integer NOT NULL,
    PRIMARY KEY (user_id, day)
);

CREATE INDEX jobs_unfinished_by_user ON jobs (user_id) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_stored_by_user ON jobs (user_id)
WHERE state = 'succeeded' AND deleted_at IS NULL AND object_key IS NOT NULL;

-- The bytes of a user's live files, each stored object counted once (a job that reused
-- another's file shares its object).
CREATE FUNCTION bytes_stored(owner bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT COALESCE(sum(size_bytes), 0)::bigint FROM (
        SELECT DISTINCT ON (object_key) size_bytes FROM jobs
        WHERE user_id = owner AND state = 'succeeded' AND deleted_at IS NULL
          AND object_key IS NOT NULL AND expires_at > now()
        ORDER BY object_key) AS live;
$$;

-- For jobs about to be inserted (the owner and row count of each, in order): NULL for a
-- job its owner's plan allows, else the limit it breaks and that limit's value. Allowed
-- jobs are counted for the day at once; call it in the transaction that inserts them, so a
-- rollback gives the allowance back. Limits are checked in this order: rows_per_job,
-- jobs_per_day, running_jobs, bytes_stored.
CREATE FUNCTION take_job_allowance(owners bigint[], row_counts bigint[])
RETURNS TABLE (job integer, refused text, limit_value bigint)
LANGUAGE plpgsql AS $$
DECLARE
    owner_plan record;
    today date := (now() AT TIME ZONE 'UTC')::date;
    taken integer;
    running bigint;
    stored bigint;
    i integer;
BEGIN
    FOR owner_plan IN
        SELECT u.id AS user_id, p.rows_per_job, p.jobs_per_day, p.running_jobs, p.bytes_stored
        FROM users u JOIN plans p ON p.name = u.plan
        WHERE u.id IN (SELECT unnest(owners))
        ORDER BY u.id  -- the same lock order in every transaction: no deadlock
    LOOP
        INSERT INTO job_counts AS c (user_id, day, jobs) VALUES (owner_plan.user_id, today, 0)
        ON CONFLICT (user_id, day) DO UPDATE SET jobs = c.jobs
        RETURNING c.jobs INTO taken;
        -- Counted only for a limit that needs them.
        running := CASE WHEN owner_plan.running_jobs IS NULL THEN 0
                        ELSE (SELECT count(*) FROM jobs
                              WHERE user_id = owner_plan.user_id
                                AND state IN ('queued', 'running')) END;
        stored := CASE WHEN owner_plan.bytes_stored IS NULL THEN 0
                       ELSE bytes_stored(owner_plan.user_id) END;
        FOR i IN SELECT s FROM generate_subscripts(owners, 1) AS s
                 WHERE owners[s] = owner_plan.user_id ORDER BY s
        LOOP
            job := i;
            refused := NULL;
            limit_value := NULL;
            IF row_counts[i] > owner_plan.rows_per_job THEN
                refused := 'rows_per_job';
                limit_value := owner_plan.rows_per_job;
            ELSIF taken >= owner_plan.jobs_per_day THEN
                refused := 'jobs_per_day';
                limit_value := owner_plan.jobs_per_day;
            ELSIF running >= owner_plan.running_jobs THEN
                refused := 'running_jobs';
                limit_value := owner_plan.running_jobs;
            ELSIF stored >= owner_plan.bytes_stored THEN
                refused := 'bytes_stored';
                limit_value := owner_plan.bytes_stored;
            ELSE
                taken := taken + 1;
                running := running + 1;
            END IF;
            RETURN NEXT;
        END LOOP;
        UPDATE job_counts SET jobs = taken WHERE user_id = owner_plan.user_id AND day = today;
    END LOOP;
END;
$$;

-- The job history: one row for each thing that happens to a job, written by triggers on jobs
-- in the transaction that does it, and never changed after. Statistics read it (durations,
-- breakdowns by format and field type) without touching the live jobs table.
--
-- Partitioned by month of `at` (UTC). The scheduler's create_history_partitions task keeps the
-- coming months' partitions made ahead of time; a row of a month without one lands in
-- job_history_default (an insert never fails), and making that month's partition moves it in.
CREATE TABLE job_history (
    at                timestamptz NOT NULL DEFAULT now(),
    job_id            uuid NOT NULL,
    user_id           bigint NOT NULL,
    -- created, then started (each claim by a worker), requeued (a retry hands it back), and
    -- how it ended: succeeded, failed or cancelled; expired once its file is gone.
    event             text NOT NULL CHECK (event IN ('created', 'started', 'requeued',
                                                     'succeeded', 'failed', 'cancelled',
                                                     'expired')),
    format            text NOT NULL,
    -- The distinct types of the spec's fields, sorted.
    field_types       text[] NOT NULL,
    rows_total        bigint NOT NULL,
    rows_done         bigint NOT NULL,
    size_bytes        bigint,
    attempt           integer NOT NULL,
    -- When it ended (succeeded, failed, cancelled): from its first start to its end; NULL for
    -- a job that never started.
    duration_seconds  double precision,
    -- It hands out an earlier job's file (same spec, live file): nothing was generated.
    reused            boolean NOT NULL
) PARTITION BY RANGE (at);

CREATE INDEX job_history_at ON job_history (at);
CREATE INDEX job_history_job ON job_history (job_id);
CREATE TABLE job_history_default PARTITION OF job_history DEFAULT;

CREATE FUNCTION spec_field_types(spec jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ARRAY(
    SELECT DISTINCT field ->> 'type'
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(spec -> 'fields') = 'array'
                                   THEN spec -> 'fields' ELSE '[]'::jsonb END) AS field
    WHERE field ->> 'type' IS NOT NULL
    ORDER BY 1);

-- Inserts come in batches (many submits, one statement): one history insert per statement.
CREATE FUNCTION record_jobs_created() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_history (job_id, user_id, event, format, field_types, rows_total,
                             rows_done, size_bytes, attempt, duration_seconds, reused)
    SELECT j.id, j.user_id, e.event, j.format, spec_field_types(j.spec), j.rows_total,
           j.rows_done, j.size_bytes, j.attempt,
           CASE WHEN e.event <> 'created'
                THEN extract(epoch FROM j.finished_at - j.started_at) END,
           j.reused_from IS NOT NULL
    FROM inserted j
    -- A job can be born ended (one that reuses a live file is born succeeded), or running
    -- (an operator's or a test's insert).
    CROSS JOIN LATERAL (VALUES ('created'), (CASE j.state WHEN 'queued' THEN NULL
                                                          WHEN 'running' THEN 'started'
                                                          ELSE j.state::text END)) AS e (event)
    WHERE e.event IS NOT NULL;
    RETURN NULL;
END;
$$;

CREATE TRIGGER jobs_history_on_insert
AFTER INSERT ON jobs REFERENCING NEW TABLE AS inserted
FOR EACH STATEMENT EXECUTE FUNCTION record_jobs_created();

CREATE FUNCTION record_job_state_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_history (job_id, user_id, event, format, field_types, rows_total,
                             rows_done, size_bytes, attempt, duration_seconds, reused)
    VALUES (NEW.id, NEW.user_id,
            CASE NEW.state WHEN 'running' THEN 'started' WHEN 'queued' THEN 'requeued'
                           ELSE NEW.state::text END,
            NEW.format, spec_field_types(NEW.spec), NEW.rows_total, NEW.rows_done,
            NEW.size_bytes, NEW.attempt,
            CASE WHEN NEW.state IN ('succeeded', 'failed', 'cancelled')
                 THEN extract(epoch FROM NEW.finished_at - NEW.started_at) END,
            NEW.reused_from IS NOT NULL);
    RETURN NULL;
END;
$$;

CREATE TRIGGER jobs_history_on_update
AFTER UPDATE OF state ON jobs FOR EACH ROW
WHEN (NEW.state IS DISTINCT FROM OLD.state)
EXECUTE FUNCTION record_job_state_change();

-- The partition of the UTC month that holds `day`, made if it is missing: rows of that month
-- in the default partition are moved into it first. Returns its name when it made it, NULL
-- when it was there already. Safe to call from several sessions at once.
CREATE FUNCTION create_job_history_partition(day date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    first_day date := date_trunc('month', day)::date;
    starts timestamptz := first_day::timestamp AT TIME ZONE 'UTC';
    ends timestamptz := (first_day + interval '1 month')::timestamp AT TIME ZONE 'UTC';
    name text := 'job_history_' || to_char(first_day, 'YYYY_MM');
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('job_history partitions'));
    IF to_regclass(name) IS NOT NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE job_history INCLUDING DEFAULTS INCLUDING CONSTRAINTS,'
                   ' CHECK (at >= %L AND at < %L))', name, starts, ends);
    EXECUTE format('WITH moved AS (DELETE FROM job_history_default WHERE at >= %L AND at < %L'
                   ' RETURNING *) INSERT INTO %I SELECT * FROM moved', starts, ends, name);
    EXECUTE format('ALTER TABLE job_history ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   name, starts, ends);
    RETURN name;
END;
$$;

SELECT create_job_history_partition(
    ((now() AT TIME ZONE 'UTC') + make_interval(months => ahead))::date)
FROM generate_series(0, 3) AS ahead;

-- Submitting safely: Idempotency-Key rows of POST /v1/jobs, and jobs that reuse the live file
-- of an earlier job with the same spec instead of generating it again.

-- What a job's file depends on: its spec (seed included) and the engine that makes it.
-- jsonb_send prints a jsonb value one way whatever order or spacing it arrived with, and
-- every function here is immutable, so the function can feed a generated column.
CREATE FUNCTION job_fingerprint(spec jsonb, engine_version text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN encode(
    sha256(jsonb_send(jsonb_set(jsonb_object(ARRAY['engine_version', engine_version]),
                                '{spec}', spec))),
    'hex');

-- Generated, so every way a job row is written gets one without knowing of it.
ALTER TABLE jobs ADD COLUMN fingerprint text
    GENERATED ALWAYS AS (job_fingerprint(spec, engine_version)) STORED;
-- The job whose generation made the file this job hands out; NULL when it made its own.
ALTER TABLE jobs ADD COLUMN reused_from uuid REFERENCES jobs (id) ON DELETE SET NULL;

CREATE INDEX jobs_live_fingerprint ON jobs (user_id, fingerprint)
    WHERE state = 'succeeded' AND deleted_at IS NULL;
CREATE INDEX jobs_reused_from ON jobs (reused_from) WHERE reused_from IS NOT NULL;

-- Keys are scoped to the API key that sent them and honoured for 24 hours; after that a row
-- is only in the way of the key's next use, and delete_expired_idempotency_keys removes it.
CREATE TABLE idempotency_keys (
    api_key_id          bigint NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    key                 text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    -- SHA-256 of the parsed request body, written canonically: a retry must match it.
    request_fingerprint text NOT NULL,
    job_id              uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (api_key_id, key)
);

CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- Users, their API keys, the job history and the daily usage roll-up.

CREATE TABLE users (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    email       text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Keys are stored as the SHA-256 of the whole key; only the prefix is ever shown again.
CREATE TABLE api_keys (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    prefix      text NOT NULL,
    key_hash    bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE TYPE job_state AS ENUM ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'expired');

CREATE TABLE jobs (
    id              uuid PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users (id),
    name            text NOT NULL,
    spec            jsonb NOT NULL,
    format          text NOT NULL,
    rows_total      bigint NOT NULL,
    rows_done       bigint NOT NULL DEFAULT 0,
    state           job_state NOT NULL DEFAULT 'queued',
    engine_version  text NOT NULL,
    -- Each claim by a worker bumps the attempt; writes from an older attempt are refused.
    attempt         integer NOT NULL DEFAULT 0,
    heartbeat_at    timestamptz,
    enqueued_at     timestamptz,
    upload_id       text,
    object_key      text,
    file_name       text,
    size_bytes      bigint,
    sha256          text,
    error           text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    expires_at      timestamptz,
    deleted_at      timestamptz
);

CREATE INDEX jobs_user_created ON jobs (user_id, created_at DESC, id DESC);
CREATE INDEX jobs_unfinished ON jobs (state, enqueued_at) WHERE state IN ('queued', 'running');

CREATE TABLE usage_statistics (
    day             date NOT NULL,
    user_id         bigint NOT NULL REFERENCES users (id),
    jobs_total      integer NOT NULL DEFAULT 0,
    jobs_failed     integer NOT NULL DEFAULT 0,
    rows_generated  bigint NOT NULL DEFAULT 0,
    bytes_generated bigint NOT NULL DEFAULT 0,
    by_format       jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (day, user_id)
);

-- One job's file in shards: runs of blocks that any workers generate in parallel, each
-- uploaded as one part of the job's multipart upload, completed once every shard is in.

-- NULL: the job is made whole by one worker (a small file, or a format that cannot be
-- split). Otherwise the number of shards in job_shards, planned by the job's attempt.
ALTER TABLE jobs ADD COLUMN shard_count integer;
-- Set while a worker completes the upload of a sharded job; a lease like heartbeat_at.
ALTER TABLE jobs ADD COLUMN finalizing_at timestamptz;

CREATE TYPE shard_state AS ENUM ('pending', 'running', 'done');

CREATE TABLE job_shards (
    job_id       uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    -- 0-based; the shard is part number shard + 1 of the upload.
    shard        integer NOT NULL,
    first_block  integer NOT NULL,
    stop_block   integer NOT NULL,
    state        shard_state NOT NULL DEFAULT 'pending',
    -- Each claim bumps the attempt; writes from an older attempt are refused.
    attempt      integer NOT NULL DEFAULT 0,
    heartbeat_at timestamptz,
    enqueued_at  timestamptz,
    rows_done    bigint NOT NULL DEFAULT 0,
    etag         text,
    size_bytes   bigint,
    error        text,
    PRIMARY KEY (job_id, shard)
);

CREATE INDEX job_shards_unfinished ON job_shards (state, enqueued_at) WHERE state <> 'done';

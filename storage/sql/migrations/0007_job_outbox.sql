-- The jobs table is the outbox of job messages: the API only commits a queued job (unsent:
-- enqueued_at NULL) and the scheduler's relay sends it. Each insert is announced at commit,
-- so the relay sends at once instead of at its next tick.
CREATE FUNCTION announce_new_jobs() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tdbuddy_jobs', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER jobs_inserted
AFTER INSERT ON jobs FOR EACH STATEMENT
EXECUTE FUNCTION announce_new_jobs();

-- The relay's claim reads the unsent jobs oldest first: a backlog after a long outage must
-- not be sorted whole for every batch of 500.
CREATE INDEX jobs_unsent ON jobs (created_at)
WHERE state = 'queued' AND enqueued_at IS NULL AND shard_count IS NULL;

-- Telling users a job has ended: webhook endpoints per account, a callback URL and an email
-- address per job, and one delivery row per message to send, written by a trigger in the
-- transaction that ends the job, so no way of ending a job can forget to notify.

ALTER TABLE jobs ADD COLUMN callback_url text;
-- The whsec_… secret that signs calls to callback_url, shown once in the submit's answer.
ALTER TABLE jobs ADD COLUMN callback_secret text;
ALTER TABLE jobs ADD COLUMN notify_email text;
ALTER TABLE jobs ADD COLUMN notify_language text;
-- The account's defaults, used when a job names no address or language of its own.
ALTER TABLE users ADD COLUMN notify_email text;
ALTER TABLE users ADD COLUMN notify_language text;

CREATE TABLE webhook_endpoints (
    id                          uuid PRIMARY KEY,
    user_id                     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    url                         text NOT NULL,
    description                 text NOT NULL DEFAULT '',
    events                      text[] NOT NULL,
    -- whsec_… secrets; the previous one still signs until it runs out after a rotation.
    secret                      text NOT NULL,
    previous_secret             text,
    previous_secret_expires_at  timestamptz,
    disabled_at                 timestamptz,
    disabled_reason             text,
    created_at                  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX webhook_endpoints_user ON webhook_endpoints (user_id, created_at);

CREATE TYPE delivery_state AS ENUM ('pending', 'delivered', 'failed');

CREATE TABLE deliveries (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    job_id            uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    channel           text NOT NULL CHECK (channel IN ('webhook', 'email')),
    event             text NOT NULL,
    endpoint_id       uuid REFERENCES webhook_endpoints (id) ON DELETE SET NULL,
    -- The URL or the email address, copied: what this delivery goes to stays on record.
    target            text NOT NULL,
    language          text,
    -- The webhook body, fixed at the first attempt so that every retry sends the same bytes.
    payload           text,
    state             delivery_state NOT NULL DEFAULT 'pending',
    attempts          integer NOT NULL DEFAULT 0,
    -- Which wait of the retry schedule comes next; a re-send by hand starts it again.
    schedule_step     integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    -- When a message for the next attempt was sent (or is due, for a delayed one).
    dispatched_at     timestamptz,
    -- Held by the worker making an attempt; a worker that dies lets it run out.
    attempting_until  timestamptz,
    -- The next attempt was asked for by hand (POST …/resend); recorded with it.
    resend_by_hand    boolean NOT NULL DEFAULT false,
    last_status       integer,
    last_error        text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    delivered_at      timestamptz,
    -- One delivery per event and receiver: an endpoint, the job's callback (no endpoint),
    -- or an address. Two endpoints with one URL are two receivers with two secrets.
    UNIQUE NULLS NOT DISTINCT (job_id, event, channel, target, endpoint_id)
);

CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';

CREATE TABLE delivery_attempts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id   uuid NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempted_at  timestamptz NOT NULL,
    duration_ms   integer NOT NULL,
    -- The HTTP status (webhooks) or SMTP reply code (email); NULL when none came.
    status        integer,
    error         text,
    by_hand       boolean NOT NULL DEFAULT false
);

CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, id);

CREATE FUNCTION queue_job_deliveries() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ended_event text := 'job.' || NEW.state::text;
    added integer := 0;
    inserted integer;
BEGIN
    INSERT INTO deliveries (job_id, channel, event, endpoint_id, target)
    SELECT NEW.id, 'webhook', ended_event, e.id, e.url
    FROM webhook_endpoints e
    WHERE e.user_id = NEW.user_id AND e.disabled_at IS NULL AND ended_event = ANY (e.events)
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS inserted = ROW_COUNT;
    added := added + inserted;
    IF NEW.callback_url IS NOT NULL THEN
        INSERT INTO deliveries (job_id, channel, event, target)
        VALUES (NEW.id, 'webhook', ended_event, NEW.callback_url)
        ON CONFLICT DO NOTHING;
        GET DIAGNOSTICS inserted = ROW_COUNT;
        added := added + inserted;
    END IF;
    -- A person is written to when the file is ready or cannot be made, not for the rest.
    IF NEW.state IN ('succeeded', 'failed') THEN
        INSERT INTO deliveries (job_id, channel, event, target, language)
        SELECT NEW.id, 'email', ended_event, COALESCE(NEW.notify_email, u.notify_email),
               COALESCE(NEW.notify_language, u.notify_language)
        FROM users u
        WHERE u.id = NEW.user_id AND COALESCE(NEW.notify_email, u.notify_email) IS NOT NULL
        ON CONFLICT DO NOTHING;
        GET DIAGNOSTICS inserted = ROW_COUNT;
        added := added + inserted;
    END IF;
    IF added > 0 THEN
        -- Delivered at commit: the dispatcher sends at once instead of at its next tick.
        PERFORM pg_notify('tdbuddy_deliveries', NEW.id::text);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER jobs_ended_on_insert
AFTER INSERT ON jobs FOR EACH ROW
WHEN (NEW.state IN ('succeeded', 'failed', 'cancelled', 'expired'))
EXECUTE FUNCTION queue_job_deliveries();

CREATE TRIGGER jobs_ended_on_update
AFTER UPDATE OF state ON jobs FOR EACH ROW
WHEN (NEW.state IS DISTINCT FROM OLD.state
      AND NEW.state IN ('succeeded', 'failed', 'cancelled', 'expired'))
EXECUTE FUNCTION queue_job_deliveries();

-- The schema assistant (POST /v1/specs/suggest): Claude's tokens per user and day, a plan's
-- monthly cap on them, and their place in the daily statistics.

-- Tokens (input and output together) a user's requests may spend per calendar month (UTC);
-- NULL: no cap.
ALTER TABLE plans ADD COLUMN assistant_tokens_per_month bigint
    CHECK (assistant_tokens_per_month >= 0);
UPDATE plans SET assistant_tokens_per_month = CASE name
    WHEN 'free' THEN 200000
    WHEN 'pro' THEN 5000000
    ELSE NULL END;

-- One row per user and UTC day with a request to Claude: what the user's requests spent.
-- Failed requests count too when Claude answered (and so billed) them.
CREATE TABLE assistant_usage (
    user_id        bigint NOT NULL REFERENCES users (id),
    day            date NOT NULL,
    requests       integer NOT NULL DEFAULT 0,
    failed         integer NOT NULL DEFAULT 0,  -- answered 4xx/5xx to the user
    input_tokens   bigint NOT NULL DEFAULT 0,
    output_tokens  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, day)
);

-- Tokens held against the monthly cap by requests still being answered (an estimate each),
-- so that concurrent requests cannot all pass the check; a request that dies is forgotten
-- once its hold expires.
CREATE TABLE assistant_holds (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id),
    tokens      bigint NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX assistant_holds_user ON assistant_holds (user_id);

ALTER TABLE daily_statistics
    ADD COLUMN assistant_requests integer NOT NULL DEFAULT 0,
    ADD COLUMN assistant_input_tokens bigint NOT NULL DEFAULT 0,
    ADD COLUMN assistant_output_tokens bigint NOT NULL DEFAULT 0;

ALTER TABLE usage_statistics
    ADD COLUMN assistant_requests integer NOT NULL DEFAULT 0,
    ADD COLUMN assistant_input_tokens bigint NOT NULL DEFAULT 0,
    ADD COLUMN assistant_output_tokens bigint NOT NULL DEFAULT 0;

-- The tokens a user's assistant requests spent this calendar month (UTC): what the plan's
-- monthly cap is checked against (at most 31 rows of the primary key).
CREATE FUNCTION assistant_tokens_this_month(p_user_id bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT COALESCE(sum(input_tokens + output_tokens), 0)::bigint
    FROM assistant_usage
    WHERE user_id = p_user_id
      AND day >= date_trunc('month', now() AT TIME ZONE 'UTC')::date
$$;

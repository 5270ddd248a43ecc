-- The schema assistant's use of Claude (tables of migration 0015).

-- name: lock_assistant_user
-- User $1's checks against the cap run one after another (until the transaction ends).
SELECT pg_advisory_xact_lock(hashtext('tdbuddy_assistant'), ($1::bigint % 2147483647)::int);

-- name: forget_expired_assistant_holds
DELETE FROM assistant_holds WHERE user_id = $1 AND expires_at <= now();

-- name: assistant_allowance
-- User $1's monthly token cap (NULL: none), the tokens spent this month, and those held by
-- requests still being answered.
SELECT p.name AS plan, p.assistant_tokens_per_month AS cap,
       assistant_tokens_this_month(u.id) AS used,
       (SELECT COALESCE(sum(h.tokens), 0)::bigint FROM assistant_holds h
        WHERE h.user_id = u.id AND h.expires_at > now()) AS held
FROM users u JOIN plans p ON p.name = u.plan
WHERE u.id = $1;

-- name: hold_assistant_tokens
-- $2 tokens of user $1 held for a request for at most $3 seconds; returns the hold's id.
INSERT INTO assistant_holds (user_id, tokens, expires_at)
VALUES ($1, $2, now() + make_interval(secs => $3))
RETURNING id;

-- name: release_assistant_hold
DELETE FROM assistant_holds WHERE id = $1;

-- name: record_assistant_request
-- One request of user $1 to the assistant today (UTC): $2 input and $3 output tokens spent,
-- $4 whether the user was answered with an error.
INSERT INTO assistant_usage AS a (user_id, day, requests, failed, input_tokens, output_tokens)
VALUES ($1, (now() AT TIME ZONE 'UTC')::date, 1, $4::boolean::int, $2, $3)
ON CONFLICT (user_id, day) DO UPDATE
SET requests = a.requests + 1,
    failed = a.failed + EXCLUDED.failed,
    input_tokens = a.input_tokens + EXCLUDED.input_tokens,
    output_tokens = a.output_tokens + EXCLUDED.output_tokens;

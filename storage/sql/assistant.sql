-- The schema assistant's use of Claude (tables of migration 0015).

-- name: assistant_allowance
-- User $1's monthly token cap (NULL: none) and the tokens spent this month.
SELECT p.name AS plan, p.assistant_tokens_per_month AS cap,
       assistant_tokens_this_month(u.id) AS used
FROM users u JOIN plans p ON p.name = u.plan
WHERE u.id = $1;

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

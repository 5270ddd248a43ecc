-- Deliveries: the webhook calls and emails that tell users a job has ended. The rows are
-- written by the jobs table's trigger (migration 0004); these move them along.

-- name: claim_deliveries_to_dispatch
-- Due deliveries with no message on its way: never sent, or sent more than $1 seconds ago
-- without an attempt coming of it (a lost message, a worker that died). Marking them sent
-- keeps the next tick from sending them again at once.
UPDATE deliveries SET dispatched_at = now()
WHERE id IN (
    SELECT id FROM deliveries
    WHERE state = 'pending' AND next_attempt_at <= now()
      AND (dispatched_at IS NULL OR dispatched_at < now() - make_interval(secs => $1))
      AND (attempting_until IS NULL OR attempting_until < now())
    ORDER BY next_attempt_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED)
RETURNING id;

-- name: claim_delivery_attempt
-- A worker takes the delivery for one attempt, for $2 seconds at most. A message a little
-- early (a delayed one, or clocks that differ by a second) still finds it due.
-- recorded_attempts tells whether an earlier attempt stopped before recording its outcome.
UPDATE deliveries
SET attempting_until = now() + make_interval(secs => $2), attempts = attempts + 1
WHERE id = $1 AND state = 'pending' AND next_attempt_at <= now() + interval '1 second'
  AND (attempting_until IS NULL OR attempting_until < now())
RETURNING *,
    (SELECT count(*) FROM delivery_attempts a WHERE a.delivery_id = $1)::integer
        AS recorded_attempts;

-- name: webhook_secrets
-- The secrets that sign a delivery to endpoint $1 now: the current one, and the previous one
-- during its grace period. None for an endpoint that is gone or disabled.
SELECT secret, CASE WHEN previous_secret_expires_at > now() THEN previous_secret END AS previous
FROM webhook_endpoints WHERE id = $1 AND disabled_at IS NULL;

-- name: fix_delivery_payload
-- The delivery's body: $2 when it had none yet, else the one fixed at an earlier attempt.
WITH fixed AS (
    UPDATE deliveries SET payload = $2 WHERE id = $1 AND payload IS NULL RETURNING payload)
SELECT COALESCE((SELECT payload FROM fixed), (SELECT payload FROM deliveries WHERE id = $1));

-- name: insert_delivery_attempt
INSERT INTO delivery_attempts (delivery_id, attempted_at, duration_ms, status, error, by_hand)
VALUES ($1, $2, $3, $4, $5, $6);

-- name: finish_delivery
-- The attempt's outcome: 'delivered' or 'failed' for good, or 'pending' again at $3 (with a
-- delayed message due then, $6 says whether one was sent). Fenced on the attempt ($7): an
-- attempt that outlived its hold and was taken over records nothing here.
UPDATE deliveries
SET state = $2::delivery_state,
    next_attempt_at = COALESCE($3, next_attempt_at),
    schedule_step = schedule_step + CASE WHEN $2::delivery_state = 'pending' THEN 1 ELSE 0 END,
    dispatched_at = CASE WHEN $6 THEN $3 ELSE NULL END,
    attempting_until = NULL, resend_by_hand = false,
    last_status = $4, last_error = $5,
    delivered_at = CASE WHEN $2::delivery_state = 'delivered' THEN now() END
WHERE id = $1 AND attempts = $7 AND attempting_until IS NOT NULL;

-- name: disable_webhook_endpoint
-- The receiver answered 410 Gone: nothing more goes to this endpoint, until its owner turns
-- it on again. Its other deliveries still pending fail at their next attempt.
UPDATE webhook_endpoints SET disabled_at = now(), disabled_reason = $2
WHERE id = $1 AND disabled_at IS NULL;

-- name: list_job_deliveries
SELECT d.* FROM deliveries d JOIN jobs j ON j.id = d.job_id
WHERE d.job_id = $1 AND j.user_id = $2
ORDER BY d.created_at, d.id;

-- name: list_delivery_attempts
SELECT a.* FROM delivery_attempts a
WHERE a.delivery_id = ANY ($1::uuid[])
ORDER BY a.delivery_id, a.id;

-- name: resend_delivery
-- By hand: the delivery is due again now (for the dispatcher to send), its retry schedule
-- started again, and its next attempt counted as one made by hand. Not while an attempt is under way, and not for an
-- email that went (a person gets one email per job). Attempts whose outcome was never
-- recorded are forgotten: the user has asked for this one.
UPDATE deliveries d
SET state = 'pending', next_attempt_at = now(), schedule_step = 0, dispatched_at = NULL,
    resend_by_hand = true,
    attempts = (SELECT count(*) FROM delivery_attempts a WHERE a.delivery_id = d.id)
FROM jobs j
WHERE d.id = $1 AND d.job_id = $2 AND j.id = d.job_id AND j.user_id = $3
  AND (d.attempting_until IS NULL OR d.attempting_until < now())
  AND NOT (d.channel = 'email' AND d.state = 'delivered')
RETURNING d.*, 0 AS recorded_attempts;

-- name: wake_dispatcher
SELECT pg_notify('tdbuddy_deliveries', '');

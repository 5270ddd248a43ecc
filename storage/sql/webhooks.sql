-- Webhook endpoints of an account.

-- name: insert_webhook_endpoint
INSERT INTO webhook_endpoints (id, user_id, url, description, events, secret)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING *;

-- name: list_webhook_endpoints
SELECT * FROM webhook_endpoints WHERE user_id = $1 ORDER BY created_at, id;

-- name: get_webhook_endpoint
SELECT * FROM webhook_endpoints WHERE id = $1 AND user_id = $2;

-- name: delete_webhook_endpoint
DELETE FROM webhook_endpoints WHERE id = $1 AND user_id = $2 RETURNING id;

-- name: rotate_webhook_secret
-- The new secret signs from now on; the one it replaces also signs for $4 seconds more. Not
-- during an earlier rotation's grace: the secret still in grace would stop signing at once.
UPDATE webhook_endpoints
SET previous_secret = secret, secret = $3,
    previous_secret_expires_at = now() + make_interval(secs => $4)
WHERE id = $1 AND user_id = $2
  AND (previous_secret_expires_at IS NULL OR previous_secret_expires_at <= now())
RETURNING *;

-- name: enable_webhook_endpoint
UPDATE webhook_endpoints SET disabled_at = NULL, disabled_reason = NULL
WHERE id = $1 AND user_id = $2
RETURNING *;

-- name: insert_user
INSERT INTO users (name, email) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET email = COALESCE(EXCLUDED.email, users.email)
RETURNING id;

-- name: insert_api_key
INSERT INTO api_keys (user_id, prefix, key_hash) VALUES ($1, $2, $3) RETURNING id;

-- name: user_for_key_hash
SELECT u.id, u.name, k.id AS key_id
FROM api_keys k JOIN users u ON u.id = k.user_id
WHERE k.key_hash = $1 AND k.revoked_at IS NULL;

-- name: get_account
SELECT id, name, email, notify_email, notify_language, created_at FROM users WHERE id = $1;

-- name: update_notification_defaults
-- $2/$3 are applied only where $4/$5 say the field was given (a null clears it).
UPDATE users
SET notify_email = CASE WHEN $4 THEN $2 ELSE notify_email END,
    notify_language = CASE WHEN $5 THEN $3 ELSE notify_language END
WHERE id = $1
RETURNING id, name, email, notify_email, notify_language, created_at;

-- name: insert_user
-- A new user on plan $3 (the table's default, free, when NULL); an existing one keeps what
-- is not given.
INSERT INTO users (name, email, plan) VALUES ($1, $2, COALESCE($3, 'free'))
ON CONFLICT (name) DO UPDATE
SET email = COALESCE(EXCLUDED.email, users.email),
    plan = CASE WHEN $3 IS NULL THEN users.plan ELSE EXCLUDED.plan END
RETURNING id;

-- name: insert_api_key
INSERT INTO api_keys (user_id, prefix, key_hash) VALUES ($1, $2, $3) RETURNING id, created_at;

-- name: user_for_key_hash
SELECT u.id, u.name, k.id AS key_id, u.is_admin
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

-- name: list_users
SELECT u.id, u.name, u.email, u.plan, u.is_admin, u.created_at,
       count(k.id) FILTER (WHERE k.revoked_at IS NULL) AS live_keys
FROM users u LEFT JOIN api_keys k ON k.user_id = u.id
GROUP BY u.id ORDER BY u.id;

-- name: user_id_by_name
SELECT id FROM users WHERE name = $1;

-- name: set_user_admin
-- Announced to every API process at commit (migration 0012): it takes effect at once.
UPDATE users SET is_admin = $2 WHERE name = $1 RETURNING id;

-- name: list_api_keys
SELECT id, prefix, created_at, revoked_at FROM api_keys
WHERE user_id = $1 ORDER BY created_at DESC, id DESC;

-- name: revoke_api_key
-- Revoking a revoked key keeps its first revocation time.
UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now())
WHERE id = $1 AND user_id = $2
RETURNING id;

-- name: find_api_keys
-- Keys whose id or prefix is $1 (an operator's way to name one).
SELECT k.id, k.prefix, k.created_at, k.revoked_at, u.name AS user_name
FROM api_keys k JOIN users u ON u.id = k.user_id
WHERE k.prefix = $1 OR k.id::text = $1;

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

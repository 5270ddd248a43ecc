-- API processes keep the owners of recently used API keys in memory. Any change to a key
-- (revoked, deleted, with its user or not) or to a user's name is announced at commit, and
-- every API process forgets what it held: a revoked key stops working at once.

CREATE FUNCTION announce_api_key_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tdbuddy_api_keys', encode(OLD.key_hash, 'hex'));
    RETURN NULL;
END;
$$;

CREATE TRIGGER api_keys_changed
AFTER UPDATE OR DELETE ON api_keys FOR EACH ROW
EXECUTE FUNCTION announce_api_key_change();

-- '*': forget every key (a user's name is part of what is kept for each of its keys).
CREATE FUNCTION announce_user_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tdbuddy_api_keys', '*');
    RETURN NULL;
END;
$$;

CREATE TRIGGER users_renamed
AFTER UPDATE OF name ON users FOR EACH ROW
WHEN (NEW.name IS DISTINCT FROM OLD.name)
EXECUTE FUNCTION announce_user_change();

-- A worker that takes over a running job whose worker stopped (claim_job after the lease)
-- leaves its state 'running': only its attempt changes. That claim is a start all the same,
-- recorded as each claim's is (migration 0011).
DROP TRIGGER jobs_history_on_update ON jobs;
CREATE TRIGGER jobs_history_on_update
AFTER UPDATE OF state, attempt ON jobs FOR EACH ROW
WHEN (NEW.state IS DISTINCT FROM OLD.state
      OR (NEW.state = 'running' AND NEW.attempt IS DISTINCT FROM OLD.attempt))
EXECUTE FUNCTION record_job_state_change();

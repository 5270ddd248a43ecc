-- The ticks of periodic tasks (migration 0010): claimed by one scheduler, run by one worker.

-- name: claim_tick
-- A row when this call claimed tick $2 of task $1; none when someone had claimed it before.
INSERT INTO scheduled_ticks (task, tick) VALUES ($1, $2)
ON CONFLICT DO NOTHING
RETURNING tick;

-- name: mark_tick_sent
UPDATE scheduled_ticks SET sent_at = now() WHERE task = $1 AND tick = $2;

-- name: unclaim_tick
-- Its message could not be sent (the broker is down): the tick is free to claim again.
DELETE FROM scheduled_ticks WHERE task = $1 AND tick = $2 AND sent_at IS NULL;

-- name: claim_unsent_ticks
-- Ticks claimed more than $1 seconds ago and never sent: their scheduler died in between.
UPDATE scheduled_ticks SET claimed_at = now()
WHERE (task, tick) IN (
    SELECT task, tick FROM scheduled_ticks
    WHERE sent_at IS NULL AND claimed_at < now() - make_interval(secs => $1)
    FOR UPDATE SKIP LOCKED)
RETURNING task, tick;

-- name: begin_tick_run
-- A row when tick $2 of task $1 is still to run (its run is counted); none when it is done.
UPDATE scheduled_ticks SET runs = runs + 1
WHERE task = $1 AND tick = $2 AND done_at IS NULL
RETURNING runs;

-- name: finish_tick_run
UPDATE scheduled_ticks SET done_at = now() WHERE task = $1 AND tick = $2;

-- name: delete_old_ticks
-- Each task's newest tick stays whatever its age: it tells the scheduler the tick was done.
DELETE FROM scheduled_ticks t
WHERE tick < now() - make_interval(days => $1)
  AND tick < (SELECT max(tick) FROM scheduled_ticks n WHERE n.task = t.task);

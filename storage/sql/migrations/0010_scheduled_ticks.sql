-- Periodic tasks (schedules/periodic.py): one row per task and tick, inserted by the
-- scheduler that claims the tick. The primary key makes each tick sent once however many
-- schedulers run; the worker that runs it records the run here.
CREATE TABLE scheduled_ticks (
    task        text NOT NULL,
    -- When the task was due (a multiple of its interval, or its time of day, in UTC).
    tick        timestamptz NOT NULL,
    claimed_at  timestamptz NOT NULL DEFAULT now(),
    -- NULL: claimed but not yet with the broker. A claim left so (its scheduler died between
    -- the two) is sent again by any scheduler after a minute.
    sent_at     timestamptz,
    -- Runs a worker began: more than one only when a message came again after its worker
    -- died or failed. A run that finds done_at set does nothing.
    runs        integer NOT NULL DEFAULT 0,
    done_at     timestamptz,
    PRIMARY KEY (task, tick)
);

CREATE INDEX scheduled_ticks_unsent ON scheduled_ticks (claimed_at) WHERE sent_at IS NULL;

-- Schema version 6: who is writing a run, and which mean image it subtracted.
--
-- A run being computed has an owner: the host name and pid of the process
-- writing it and the time of its last heartbeat (refreshed at every commit
-- and on a timer). Another process refuses to resume or write that run while
-- the owner is alive: on the same host its pid still exists, on another host
-- its heartbeat is younger than the stale timeout (src/store/run-owner.ts).
-- A run that is not running has no owner (NULLs).

ALTER TABLE runs ADD COLUMN owner_host TEXT;      -- os.hostname() of the writing process
ALTER TABLE runs ADD COLUMN owner_pid INTEGER;    -- its process id
ALTER TABLE runs ADD COLUMN heartbeat_at TEXT;    -- ISO 8601, last sign of life

-- sha256 (hex) of the float32 [R, R, 3] mean image the run subtracted from
-- its inputs; NULL for runs that use none (merge) or were made before v6.
ALTER TABLE runs ADD COLUMN mean_sha256 TEXT;

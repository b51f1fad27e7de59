-- The start of each room's failure count window (spec/std-1.md
-- STD1-JOIN-18, STD1-JOIN-22; server/src/store/access.rs).
--
-- A lock bars the network origins that failed against the room since its
-- count was last zero. Those origins are kept in memory only, with the
-- time of their last failure; the window's start, stored here, tells every
-- server instance which of them still count. It is the room's creation
-- time, or the end of the last lock served.

ALTER TABLE rooms
    ADD COLUMN window_start timestamptz
        CHECK (window_start = date_trunc('second', window_start));

-- NULL means the window began when the room was created; the server sets
-- it at creation and whenever a served lock restarts the count.
-- A room whose last lock has been served and not followed by a failure
-- still holds that lock's end, which is where its window began. Any other
-- room keeps NULL: for a room that failed again after a served lock this
-- is earlier than the truth, which bars more origins, never fewer.
UPDATE rooms SET window_start = locked_until
 WHERE locked_until IS NOT NULL AND locked_until <= now();

-- Re-opening a slot for a new PIN (spec/std-1.md STD1-JOIN-24, STD1-JOIN-25;
-- server/src/store/access.rs, server/src/store/session_ops.rs).
--
-- A room's pairing code now names the slot it opens: slot 2 of a room that
-- has one record, as before, or the other party's slot when a party
-- re-opened it. A claim with the code on an occupied slot replaces that
-- slot's record in place (an UPDATE of the row keyed by room and slot), so
-- the slot's message, which refers to the slot, stays.

ALTER TABLE rooms
    ADD COLUMN pairing_slot smallint CHECK (pairing_slot IN (1, 2));

-- Every code written so far opened slot 2 of an unpaired room.
UPDATE rooms SET pairing_slot = 2 WHERE pairing_hash IS NOT NULL;

ALTER TABLE rooms
    ADD CONSTRAINT rooms_pairing_code_has_a_target
        CHECK ((pairing_hash IS NULL) = (pairing_slot IS NULL));

-- `send_message` now also checks that the session's access record is
-- still the slot's (STD1-JOIN-25): a session whose record a claim replaced
-- acts for nobody. `author_index` is the keyed sender index the session
-- was admitted with (server/src/store/keyed.rs). The new outcome
-- 'replaced' changes nothing. Otherwise the steps are those of 0003.
DROP FUNCTION stelgano_send_message(uuid, smallint, uuid, uuid, bytea, bytea, text, text, text, boolean);

CREATE FUNCTION stelgano_send_message(
    room         uuid,
    author       smallint,
    author_index bytea,
    replaces     uuid,
    message_id   uuid,
    ciphertext   bytea,
    iv           bytea,
    channel      text,
    frame_head   text,
    frame_tail   text,
    enforce_turn boolean
) RETURNS TABLE (outcome text, sent_at timestamptz, version bigint)
LANGUAGE plpgsql
AS $$
DECLARE
    ttl            timestamptz;
    room_version   bigint;
    op_now         timestamptz;
    current_id     uuid;
    current_author smallint;
    frame          text;
    parts          integer;
BEGIN
    SELECT r.ttl_expires_at, r.version INTO ttl, room_version
      FROM rooms r WHERE r.id = room FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'gone'::text, NULL::timestamptz, NULL::bigint;
        RETURN;
    END IF;
    op_now := date_trunc('second', clock_timestamp());
    IF ttl <= op_now THEN
        RETURN QUERY SELECT 'expired'::text, op_now, room_version;
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM access_records a
                    WHERE a.room_id = room AND a.slot = author
                      AND a.sender_index = author_index) THEN
        RETURN QUERY SELECT 'replaced'::text, op_now, room_version;
        RETURN;
    END IF;

    SELECT m.id, m.author_slot INTO current_id, current_author
      FROM messages m WHERE m.room_id = room;
    IF enforce_turn AND current_author = author THEN
        RETURN QUERY SELECT 'not_your_turn'::text, op_now, room_version;
        RETURN;
    END IF;
    IF current_id IS DISTINCT FROM replaces THEN
        RETURN QUERY SELECT 'conflict'::text, op_now, room_version;
        RETURN;
    END IF;

    DELETE FROM messages m WHERE m.room_id = room;
    INSERT INTO messages (room_id, id, author_slot, ciphertext, iv, sent_at)
    VALUES (room, message_id, author, ciphertext, iv, op_now);
    UPDATE rooms r SET version = r.version + 1 WHERE r.id = room
    RETURNING r.version INTO room_version;

    frame := frame_head
          || to_char(op_now AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
          || frame_tail;
    parts := greatest(1, (length(frame) + 7799) / 7800);
    FOR part IN 0 .. parts - 1 LOOP
        PERFORM pg_notify(
            channel,
            room::text || '|' || room_version || '|all|' || part || '|' || parts || '|'
                || substr(frame, part * 7800 + 1, 7800));
    END LOOP;

    RETURN QUERY SELECT 'sent'::text, op_now, room_version;
END;
$$;

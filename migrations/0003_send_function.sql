-- One round trip per `send_message` (server/src/store/send.rs, BENCHMARKS.md).
--
-- A reply is the hot path of the whole protocol, and as nine statements it
-- held a pooled connection, and the room's row lock, across nine round
-- trips. This function does the same steps in the same order inside the
-- caller's statement, which PostgreSQL runs as one transaction:
--   lock the room's row, then read the operation time      (STD1-SRV-6, STD1-SRV-7)
--   a room past its expiry time is left to the caller      (STD1-LIFE-8)
--   refuse a second message in a row                       (STD1-MSG-3)
--   refuse a stale `replaces`                              (STD1-MSG-2)
--   replace the current message                            (STD1-MSG-1, STD1-MSG-6)
--   increment the room version and NOTIFY the event        (server/src/store/events.rs)
--
-- The caller builds the `new_message` frame, which it alone knows how to
-- encode, and passes it as the text before and after its `sent_at` value;
-- the function fills in the one thing only the database knows, the
-- operation time, in the wire's single layout (STD1-WIRE-19). The event is
-- split into notification parts exactly as events.rs `encode` splits
-- them: `room|version|all|part|parts|text`, 7800 characters of frame text
-- per part (frames are ASCII).
--
-- Outcomes: 'sent' (with the operation time and the new version), 'gone'
-- (no such room), 'expired' (the room is past its time and untouched: the
-- caller deletes and announces it in its own transaction), 'not_your_turn',
-- 'conflict'. A refusal changes nothing.
--
-- `enforce_turn` exists for the conformance harness's fault injection
-- (server/src/faults.rs), which must be able to break STD1-MSG-3 on
-- purpose; the server always passes true otherwise.

CREATE FUNCTION stelgano_send_message(
    room         uuid,
    author       smallint,
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

-- sTELgano-std-1 room storage (spec/std-1.md §11.1, STD1-SRV-1).
--
-- Everything a server may keep about a room, and nothing else. Every room
-- invariant is a constraint of the store as well as a rule of the code
-- (STD1-SRV-5), so no interleaving of requests or instances can break it:
--   one live room per room_hash        rooms.room_hash UNIQUE       (STD1-JOIN-4)
--   at most two access records         access_records PK (room, slot), slot IN (1, 2)  (STD1-JOIN-6)
--   at most one message per room       messages PK room_id          (STD1-MSG-1)
--   message ids never reused           messages.id UNIQUE           (STD1-MSG-5)
-- Deleting a room deletes all of it through ON DELETE CASCADE (STD1-LIFE-3).
-- Times are whole seconds (STD1-SRV-7); hashes and IVs are raw bytes.

CREATE TABLE rooms (
    id             uuid        PRIMARY KEY,
    room_hash      bytea       NOT NULL UNIQUE CHECK (octet_length(room_hash) = 32),
    created_at     timestamptz NOT NULL CHECK (created_at = date_trunc('second', created_at)),
    ttl_expires_at timestamptz NOT NULL CHECK (ttl_expires_at = date_trunc('second', ttl_expires_at)),
    -- Present while the room is unpaired (STD1-JOIN-14).
    pairing_hash   bytea       CHECK (octet_length(pairing_hash) = 32),
    -- One failure count and lock per room (STD1-JOIN-18).
    failures       integer     NOT NULL DEFAULT 0 CHECK (failures BETWEEN 0 AND 10),
    locked_until   timestamptz,
    -- Counts the room's broadcasting operations; orders its events across
    -- server instances (server/src/store/events.rs).
    version        bigint      NOT NULL DEFAULT 0 CHECK (version >= 0),
    CHECK (ttl_expires_at > created_at)
);

-- The expiry sweep looks rooms up by time (STD1-LIFE-4).
CREATE INDEX rooms_ttl_expires_at ON rooms (ttl_expires_at);

CREATE TABLE access_records (
    room_id     uuid        NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    slot        smallint    NOT NULL CHECK (slot IN (1, 2)),
    access_hash bytea       NOT NULL CHECK (octet_length(access_hash) = 32),
    -- Bound at creation; sessions act with it (STD1-JOIN-7).
    sender_hash bytea       NOT NULL CHECK (octet_length(sender_hash) = 32),
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (room_id, slot),
    UNIQUE (room_id, access_hash),
    UNIQUE (room_id, sender_hash)
);

CREATE TABLE messages (
    -- The primary key on room_id is the N=1 invariant itself.
    room_id     uuid        PRIMARY KEY REFERENCES rooms (id) ON DELETE CASCADE,
    id          uuid        NOT NULL UNIQUE,
    author_slot smallint    NOT NULL,
    ciphertext  bytea       NOT NULL CHECK (octet_length(ciphertext) BETWEEN 16 AND 8192),
    iv          bytea       NOT NULL CHECK (octet_length(iv) = 12),
    sent_at     timestamptz NOT NULL,
    read_at     timestamptz CHECK (read_at >= sent_at),
    edited      boolean     NOT NULL DEFAULT false,
    FOREIGN KEY (room_id, author_slot) REFERENCES access_records (room_id, slot) ON DELETE CASCADE
);

-- Hashes stored keyed with a pepper kept outside the store (spec/std-1.md
-- §11.5, STD1-SRV-25, STD1-SRV-26; server/src/store/keyed.rs).
--
-- From here on `rooms.room_hash`, `rooms.pairing_hash` and
-- `access_records.access_hash` hold HMAC-SHA-256 values under keys derived
-- from the pepper, not the hashes clients send; the columns keep their
-- names and sizes. The sender hash, which clients are given back, is
-- stored sealed (nonce ‖ AES-256-GCM ciphertext ‖ tag, 12 + 32 + 16 bytes,
-- bound to its room and slot), with a keyed hash of it for the uniqueness
-- the schema enforces (STD1-SRV-5).
--
-- Rows written before this migration hold unkeyed hashes, which cannot be
-- keyed without the originals: every live room ends here (D-44). Its
-- sessions are ended by the restart that applies the migration, and its
-- parties find no room and may create a new one.

DELETE FROM rooms;

ALTER TABLE access_records
    DROP CONSTRAINT access_records_room_id_sender_hash_key,
    DROP COLUMN sender_hash,
    ADD COLUMN sender_sealed bytea NOT NULL CHECK (octet_length(sender_sealed) = 60),
    ADD COLUMN sender_index  bytea NOT NULL CHECK (octet_length(sender_index) = 32),
    ADD CONSTRAINT access_records_room_id_sender_index_key UNIQUE (room_id, sender_index);

-- The pepper's check value (STD1-SRV-26): one row, written by the first
-- instance to start, compared by every later one.
CREATE TABLE pepper_check (
    only_row    boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    check_value bytea   NOT NULL CHECK (octet_length(check_value) = 32)
);

-- Aggregate counters (spec/std-1.md STD1-SRV-10, STD1-SRV-22).
--
-- The whole invariant is in the shape of these two tables: a count is keyed
-- by a UTC day and a counter name the server fixes, or (for the optional
-- country a client sends with `create`) by the country alone, for the life
-- of the deployment. No column can hold a room, a hash, a session, an
-- address or a time finer than a day, and nothing references `rooms`.
-- The server adds to them in batches (server/src/telemetry.rs), never
-- inside a room's transaction (D-42).

CREATE TABLE telemetry_daily (
    day     date   NOT NULL,
    counter text   NOT NULL CHECK (counter ~ '^[a-z][a-z_]{0,39}$'),
    count   bigint NOT NULL CHECK (count >= 0),
    PRIMARY KEY (day, counter)
);

CREATE TABLE telemetry_countries (
    country_iso   text   PRIMARY KEY CHECK (country_iso ~ '^[A-Z]{2}$'),
    rooms_created bigint NOT NULL CHECK (rooms_created >= 0)
);

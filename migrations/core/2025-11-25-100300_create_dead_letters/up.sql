-- Messages that client-core gave up on after bounded redeliveries, kept for an operator to
-- list and replay.
CREATE TABLE dead_letters (
    id          UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    subject     TEXT NOT NULL,
    payload     BYTEA NOT NULL,
    last_error  TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    replayed_at TIMESTAMPTZ
);

-- Listing what still awaits a replay, oldest first.
CREATE INDEX dead_letters_pending_idx ON dead_letters (created_at) WHERE replayed_at IS NULL;

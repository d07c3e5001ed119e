-- One row per sync run; the RUNNING row of an organisation is its sync lease.
CREATE TYPE sync_status AS ENUM ('RUNNING', 'SUCCESS', 'FAILED');

CREATE TABLE winleadplus_sync_logs (
    id               UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id  UUID NOT NULL,
    status           sync_status NOT NULL,
    started_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at      TIMESTAMPTZ,
    -- Refreshed by the running sync; a RUNNING log whose heartbeat is too old is taken over.
    heartbeat_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    total_prospects  INTEGER NOT NULL DEFAULT 0,
    created          INTEGER NOT NULL DEFAULT 0,
    updated          INTEGER NOT NULL DEFAULT 0,
    skipped          INTEGER NOT NULL DEFAULT 0,
    failed           INTEGER NOT NULL DEFAULT 0,
    processed        INTEGER NOT NULL DEFAULT 0,
    dry_run          BOOLEAN NOT NULL DEFAULT false,
    -- Bounded lists; the *_dropped counters say how many did not fit.
    errors           TEXT[] NOT NULL DEFAULT '{}',
    warnings         TEXT[] NOT NULL DEFAULT '{}',
    errors_dropped   INTEGER NOT NULL DEFAULT 0,
    warnings_dropped INTEGER NOT NULL DEFAULT 0,
    message          TEXT,
    duration_ms      BIGINT
);

-- At most one running sync per organisation, across all replicas.
CREATE UNIQUE INDEX winleadplus_sync_logs_one_running_key
    ON winleadplus_sync_logs (organisation_id)
    WHERE status = 'RUNNING';

-- An organisation's logs, newest first.
CREATE INDEX winleadplus_sync_logs_organisation_started_idx
    ON winleadplus_sync_logs (organisation_id, started_at DESC);

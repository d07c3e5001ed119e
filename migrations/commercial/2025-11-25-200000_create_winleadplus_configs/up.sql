-- WinLeadPlus connection settings, one row per organisation.
CREATE TABLE winleadplus_configs (
    id                    UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id       UUID NOT NULL UNIQUE,
    api_endpoint          TEXT NOT NULL,
    -- The organisation's API token, encrypted by the application (never stored in clear).
    api_token_encrypted   BYTEA,
    enabled               BOOLEAN NOT NULL DEFAULT true,
    sync_interval_minutes INTEGER NOT NULL DEFAULT 60
        CONSTRAINT winleadplus_configs_sync_interval_range
        CHECK (sync_interval_minutes BETWEEN 5 AND 1440),
    last_sync_at          TIMESTAMPTZ,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Which CRM client (and contracts) each WinLeadPlus prospect became, and the hash of the
-- prospect data last applied: the same hash on the next sync means "unchanged, skip".
CREATE TABLE winleadplus_mappings (
    id                      UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id         UUID NOT NULL,
    winleadplus_prospect_id BIGINT NOT NULL,
    crm_client_id           UUID NOT NULL,
    crm_contrat_ids         UUID[] NOT NULL DEFAULT '{}',
    data_hash               VARCHAR(64) NOT NULL,
    source_version          BIGINT NOT NULL DEFAULT 0,
    last_synced_at          TIMESTAMPTZ NOT NULL,
    created_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- One mapping per (organisation, prospect); also serves "all mappings of an organisation".
    CONSTRAINT winleadplus_mappings_prospect_key UNIQUE (organisation_id, winleadplus_prospect_id)
);

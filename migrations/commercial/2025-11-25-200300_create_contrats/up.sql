-- Contracts imported from WinLeadPlus, and their lines.
-- Column size limits mirror `mapper::limits`: change both together.
CREATE TABLE contrats (
    id                    UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id       UUID NOT NULL,
    -- `WLP-CONTRAT-{id}` for imported contracts.
    reference             VARCHAR(100) NOT NULL,
    external_id           VARCHAR(50),
    -- The CRM client (in crm_core: no foreign key across databases).
    client_id             UUID,
    titre                 VARCHAR(255) NOT NULL,
    statut                VARCHAR(50) NOT NULL,
    montant               NUMERIC(14, 2),
    date_signature        DATE,
    date_debut            DATE,
    devise                VARCHAR(10) NOT NULL,
    frequence_facturation VARCHAR(50),
    fournisseur           VARCHAR(255),
    commercial_id         VARCHAR(100),
    notes                 TEXT,
    source                VARCHAR(50) NOT NULL,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Upserts target this constraint: importing a contract twice updates it.
    CONSTRAINT contrats_reference_key UNIQUE (organisation_id, reference)
);

-- A client's contracts.
CREATE INDEX contrats_organisation_client_idx ON contrats (organisation_id, client_id);

-- Column size limits mirror `mapper::limits`: change both together.
CREATE TABLE lignes_contrat (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    contrat_id    UUID NOT NULL REFERENCES contrats (id) ON DELETE CASCADE,
    -- Order of the line within its contract (set by the application).
    position      INTEGER NOT NULL,
    nom           VARCHAR(255) NOT NULL,
    prix_unitaire NUMERIC(14, 2),
    quantite      INTEGER NOT NULL DEFAULT 1,
    categorie     VARCHAR(100),
    offre_id      VARCHAR(50),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A contract's lines (and the foreign key's cascade).
CREATE INDEX lignes_contrat_contrat_id_idx ON lignes_contrat (contrat_id, position);

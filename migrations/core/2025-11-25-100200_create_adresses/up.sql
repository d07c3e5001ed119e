-- Postal addresses of CRM clients; at most one `PRINCIPALE` address per client.
-- Column size limits mirror `mapper::limits`: change both together.
CREATE TABLE adresses (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    client_base_id  UUID NOT NULL REFERENCES clientbases (id) ON DELETE CASCADE,
    ligne1          VARCHAR(255),
    ligne2          VARCHAR(255),
    code_postal     VARCHAR(20),
    ville           VARCHAR(100),
    pays            VARCHAR(100),
    type            VARCHAR(20) NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Loading a client's addresses (and the foreign key's cascade).
CREATE INDEX adresses_client_base_id_idx ON adresses (client_base_id);

-- At most one principal address per client: upserts target this index.
CREATE UNIQUE INDEX adresses_one_principale_key
    ON adresses (client_base_id)
    WHERE type = 'PRINCIPALE';

-- CRM clients ("client base"), one row per client of an organisation.
-- Column size limits mirror `mapper::limits`: change both together.
CREATE TABLE clientbases (
    id                          UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id             UUID NOT NULL,
    type_client                 VARCHAR(50) NOT NULL,
    nom                         VARCHAR(100) NOT NULL,
    prenom                      VARCHAR(100) NOT NULL,
    date_naissance              DATE,
    compte_code                 VARCHAR(50),
    partenaire_id               UUID,
    date_creation               TIMESTAMPTZ NOT NULL DEFAULT now(),
    telephone                   VARCHAR(50),
    email                       VARCHAR(255),
    statut                      VARCHAR(50) NOT NULL,
    societe_id                  UUID,
    profession                  VARCHAR(100),
    iban                        VARCHAR(34),
    mandat_sepa                 BOOLEAN,
    kyc_status                  VARCHAR(50),
    gdpr_consent                BOOLEAN,
    gdpr_consent_date           TIMESTAMPTZ,
    langue                      VARCHAR(20),
    has_conciergerie            BOOLEAN NOT NULL DEFAULT false,
    has_justi_plus              BOOLEAN NOT NULL DEFAULT false,
    has_wincash                 BOOLEAN NOT NULL DEFAULT false,
    uuid_wincash                UUID,
    uuid_justi_plus             UUID,
    date_premiere_souscription  DATE,
    canal_acquisition           VARCHAR(100),
    source                      VARCHAR(50),
    commercial_id               VARCHAR(100),
    bic                         VARCHAR(11),
    civilite                    VARCHAR(20),
    csp                         VARCHAR(100),
    regime_social               VARCHAR(100),
    lieu_naissance              VARCHAR(100),
    pays_naissance              VARCHAR(100),
    etape_courante              VARCHAR(100),
    is_politically_exposed      BOOLEAN,
    numss                       VARCHAR(30),
    gdpr_consent_communications BOOLEAN,
    statut_prospect             VARCHAR(50),
    -- Digits-only phone, filled by the application, used to match an existing client.
    telephone_normalized        VARCHAR(50),
    -- Where an imported client comes from (e.g. `WinLeadPlus`) and its id there.
    external_source             VARCHAR(50),
    external_id                 VARCHAR(50),
    -- Version of the source data last applied (clock-based, set by the application):
    -- an update older than this is ignored.
    source_version              BIGINT NOT NULL DEFAULT 0,
    created_at                  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at                  TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at                  TIMESTAMPTZ,
    CONSTRAINT clientbases_external_ref_complete
        CHECK ((external_source IS NULL) = (external_id IS NULL))
);

-- One client per (organisation, source, external id): makes imports idempotent.
CREATE UNIQUE INDEX clientbases_external_ref_key
    ON clientbases (organisation_id, external_source, external_id)
    WHERE external_id IS NOT NULL;

-- Listing an organisation's live clients, newest or oldest first, keyset-paginated.
CREATE INDEX clientbases_organisation_listing_idx
    ON clientbases (organisation_id, created_at, id)
    WHERE deleted_at IS NULL;

-- The same, filtered by source (`WinLeadPlus`, or none for clients created in the CRM).
CREATE INDEX clientbases_organisation_source_idx
    ON clientbases (organisation_id, source, created_at, id)
    WHERE deleted_at IS NULL;

-- Matching an existing client by normalized phone and name.
CREATE INDEX clientbases_match_idx
    ON clientbases (organisation_id, telephone_normalized, lower(nom));

-- The text that the client search matches against: lower-cased, accents removed.
-- Query with `clientbase_search_text(nom, prenom, email, telephone) LIKE '%' || f_unaccent(lower($1)) || '%'`
-- (escape `%`, `_` and `\` in the term) so that the trigram index below is used.
CREATE FUNCTION clientbase_search_text(nom text, prenom text, email text, telephone text)
    RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN public.f_unaccent(lower(
        coalesce(nom, '') || ' ' || coalesce(prenom, '') || ' '
        || coalesce(email, '') || ' ' || coalesce(telephone, '')
    ));

CREATE INDEX clientbases_search_trgm_idx
    ON clientbases USING gin (clientbase_search_text(nom, prenom, email, telephone) gin_trgm_ops);

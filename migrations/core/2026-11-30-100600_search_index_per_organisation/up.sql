-- Search and List.search always name one organisation and skip deleted clients. The trigram
-- index over every organisation's clients made PostgreSQL fetch the matches of all of them and
-- then keep the organisation's: with a million clients in crm_core, a common term cost a
-- bitmap of 200,000 rows for 2,000 kept. With the organisation as the first column of the
-- same GIN index (btree_gin gives uuid a GIN operator class), the index itself intersects the
-- organisation's entries with the term's trigrams.
-- `btree_gin` is a trusted contrib extension: a database owner may create it.
CREATE EXTENSION IF NOT EXISTS btree_gin WITH SCHEMA public;

DROP INDEX clientbases_search_trgm_idx;

CREATE INDEX clientbases_org_search_trgm_idx
    ON clientbases USING gin (
        organisation_id,
        clientbase_search_text(nom, prenom, email, telephone) gin_trgm_ops
    )
    WHERE deleted_at IS NULL;

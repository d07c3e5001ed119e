DROP INDEX clientbases_org_search_trgm_idx;

CREATE INDEX clientbases_search_trgm_idx
    ON clientbases USING gin (clientbase_search_text(nom, prenom, email, telephone) gin_trgm_ops);
DROP EXTENSION IF EXISTS btree_gin;

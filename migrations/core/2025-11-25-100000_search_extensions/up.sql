-- Case- and accent-insensitive search over clients.
-- `unaccent` and `pg_trgm` are trusted contrib extensions: a database owner may create them.
CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public;
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

-- `unaccent(text)` is only STABLE (its dictionary could change), so it cannot appear in an
-- index expression. This wrapper names the dictionary explicitly and schema-qualifies both, which
-- makes it safe to declare IMMUTABLE (the usual, documented workaround).
CREATE FUNCTION public.f_unaccent(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN public.unaccent('public.unaccent'::regdictionary, $1);

DROP TABLE IF EXISTS clientbases;
DROP FUNCTION IF EXISTS clientbase_search_text(text, text, text, text);

ALTER TABLE clientbases
    DROP COLUMN archived_at,
    DROP COLUMN source_before_link,
    DROP COLUMN import_linked;

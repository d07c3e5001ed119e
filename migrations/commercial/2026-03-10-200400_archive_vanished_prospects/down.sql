ALTER TABLE winleadplus_sync_logs
    DROP COLUMN archived;

ALTER TABLE winleadplus_mappings
    DROP COLUMN archived_at;

DROP TABLE IF EXISTS winleadplus_sync_logs;
DROP TYPE IF EXISTS sync_status;

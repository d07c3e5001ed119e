-- Prospects removed from WinLeadPlus (issue #15): their mapping is kept and marked archived
-- (cleared when the prospect comes back), and each sync log counts the prospects it archived.
ALTER TABLE winleadplus_mappings
    ADD COLUMN archived_at TIMESTAMPTZ;

ALTER TABLE winleadplus_sync_logs
    ADD COLUMN archived INTEGER NOT NULL DEFAULT 0;

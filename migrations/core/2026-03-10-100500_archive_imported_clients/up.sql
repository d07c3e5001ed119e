-- Prospects removed from WinLeadPlus are archived, never deleted (issue #15), and restored
-- when they come back. A client the import created is soft-deleted (`deleted_at`) and marked
-- `archived_at`, so a restore undoes that archive and never a CRM user's own Delete (which
-- clears the mark). A manual client the import only linked is unlinked instead: the link
-- remembers that it was one (`import_linked`) and the `source` it had before the link.
-- Column size limits mirror `mapper::limits`: change both together.
ALTER TABLE clientbases
    ADD COLUMN import_linked      BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN source_before_link VARCHAR(50),
    ADD COLUMN archived_at        TIMESTAMPTZ;

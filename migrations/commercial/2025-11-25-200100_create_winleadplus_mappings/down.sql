DROP TABLE IF EXISTS winleadplus_mappings;

DROP TABLE IF EXISTS winleadplus_configs;

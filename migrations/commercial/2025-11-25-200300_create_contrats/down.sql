DROP TABLE IF EXISTS lignes_contrat;
DROP TABLE IF EXISTS contrats;

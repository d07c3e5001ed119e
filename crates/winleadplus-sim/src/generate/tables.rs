//! The word lists behind generated prospects: French names, cities with their postcodes
//! (leading zeros included), birth places, banks, salespeople and the offer catalogue.

/// Men's first names.
pub(crate) const MALE: &[&str] = &[
    "Jean", "Pierre", "Michel", "André", "Philippe", "Alain", "Nicolas", "Christophe",
    "Patrick", "Julien", "Thomas", "Antoine", "David", "Éric", "Frédéric", "Laurent",
    "Stéphane", "Sébastien", "Olivier", "Pascal", "Mathieu", "Hugo", "Lucas", "Louis",
    "Gabriel", "Raphaël", "Arthur", "Jérôme", "François", "Mohamed", "Karim", "Yannick",
    "Bernard", "Gérard", "Maxime", "Théo", "Noël", "Benoît",
];

/// Women's first names.
pub(crate) const FEMALE: &[&str] = &[
    "Marie", "Nathalie", "Isabelle", "Sylvie", "Catherine", "Françoise", "Sandrine",
    "Valérie", "Christine", "Stéphanie", "Céline", "Julie", "Aurélie", "Émilie", "Camille",
    "Léa", "Manon", "Chloé", "Inès", "Sarah", "Véronique", "Hélène", "Anne", "Laetitia",
    "Élodie", "Margaux", "Zoé", "Jade", "Louise", "Fatima", "Amélie", "Agnès", "Brigitte",
    "Océane", "Mélanie",
];

/// Family names.
pub(crate) const SURNAMES: &[&str] = &[
    "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois",
    "Moreau", "Laurent", "Simon", "Michel", "Lefebvre", "Leroy", "Roux", "David",
    "Bertrand", "Morel", "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine",
    "Rousseau", "Vincent", "Muller", "Lefèvre", "Faure", "André", "Mercier", "Blanc",
    "Guérin", "Boyer", "Garnier", "Chevalier", "François", "Legrand", "Gauthier", "Garcia",
    "Perrin", "Robin", "Clément", "Morin", "Nicolas", "Henry", "Roussel", "Mathieu",
    "Gautier", "Masson", "Marchand", "Duval", "Denis", "Dumont", "Lemaire", "Noël",
    "Meyer", "Dufour", "Meunier", "Brun", "Blanchard", "Giraud", "Joly", "Rivière",
    "Lucas", "Brunet", "Gaillard", "Barbier", "Arnaud", "Martinez", "Gérard", "Roche",
    "Renard", "Schmitt", "Roy", "Leroux", "Colin", "Vidal", "Caron", "Picard", "Roger",
    "Fabre", "Aubert", "Lemoine", "Renaud", "Dumas", "Lacroix", "Olivier", "Hubert",
    "Le Gall", "Le Goff", "Da Silva", "Nguyen", "Haddad", "Benali", "Diallo", "Traoré",
    "Payet", "Hoarau", "Grondin", "Lévêque", "Bénard", "Maréchal", "Étienne", "Prévost",
];

/// Where prospects live: (city, postcode).
pub(crate) const CITIES: &[(&str, &str)] = &[
    ("Paris", "75001"), ("Paris", "75011"), ("Paris", "75015"), ("Paris", "75018"),
    ("Paris", "75020"), ("Marseille", "13001"), ("Marseille", "13008"), ("Lyon", "69003"),
    ("Lyon", "69007"), ("Toulouse", "31000"), ("Nice", "06000"), ("Nice", "06200"),
    ("Nantes", "44000"), ("Montpellier", "34000"), ("Strasbourg", "67000"),
    ("Bordeaux", "33000"), ("Lille", "59000"), ("Rennes", "35000"), ("Reims", "51100"),
    ("Toulon", "83000"), ("Saint-Étienne", "42000"), ("Le Havre", "76600"),
    ("Grenoble", "38000"), ("Dijon", "21000"), ("Angers", "49000"), ("Nîmes", "30000"),
    ("Villeurbanne", "69100"), ("Clermont-Ferrand", "63000"), ("Le Mans", "72000"),
    ("Aix-en-Provence", "13090"), ("Brest", "29200"), ("Tours", "37000"),
    ("Amiens", "80000"), ("Limoges", "87000"), ("Annecy", "74000"), ("Perpignan", "66000"),
    ("Boulogne-Billancourt", "92100"), ("Metz", "57000"), ("Besançon", "25000"),
    ("Orléans", "45000"), ("Rouen", "76000"), ("Mulhouse", "68100"), ("Caen", "14000"),
    ("Nancy", "54000"), ("Argenteuil", "95100"), ("Montreuil", "93100"),
    ("Roubaix", "59100"), ("Avignon", "84000"), ("Poitiers", "86000"), ("Pau", "64000"),
    ("La Rochelle", "17000"), ("Bourg-en-Bresse", "01000"), ("Oyonnax", "01100"),
    ("Laon", "02000"), ("Saint-Quentin", "02100"), ("Moulins", "03000"),
    ("Vichy", "03200"), ("Digne-les-Bains", "04000"), ("Gap", "05000"),
    ("Antibes", "06600"), ("Cannes", "06400"), ("Privas", "07000"),
    ("Charleville-Mézières", "08000"), ("Foix", "09000"), ("Ajaccio", "20000"),
    ("Bastia", "20200"), ("Saint-Denis", "97400"), ("Fort-de-France", "97200"),
];

/// Birth places in France: (city, department code of the NIR).
pub(crate) const BIRTH_PLACES_FR: &[(&str, &str)] = &[
    ("Paris", "75"), ("Marseille", "13"), ("Lyon", "69"), ("Toulouse", "31"),
    ("Lille", "59"), ("Bordeaux", "33"), ("Nantes", "44"), ("Strasbourg", "67"),
    ("Rennes", "35"), ("Nice", "06"), ("Bourg-en-Bresse", "01"), ("Limoges", "87"),
    ("Brest", "29"), ("Metz", "57"), ("Rouen", "76"), ("Tours", "37"), ("Dijon", "21"),
    ("Grenoble", "38"), ("Laon", "02"), ("Montpellier", "34"),
];

/// Birth places abroad: (city, ISO country code, INSEE country code of the NIR).
pub(crate) const BIRTH_PLACES_ABROAD: &[(&str, &str, u32)] = &[
    ("Alger", "DZ", 352), ("Casablanca", "MA", 350), ("Tunis", "TN", 351),
    ("Dakar", "SN", 341), ("Lisbonne", "PT", 139), ("Bruxelles", "BE", 131),
    ("Porto", "PT", 139), ("Bamako", "ML", 335),
];

/// Street types.
pub(crate) const STREET_TYPES: &[&str] = &[
    "rue", "rue", "rue", "avenue", "boulevard", "allée", "chemin", "impasse", "place",
    "route", "quai",
];

/// Street names (after the type).
pub(crate) const STREET_NAMES: &[&str] = &[
    "de la République", "Victor Hugo", "Jean Jaurès", "du Général de Gaulle", "Pasteur",
    "des Lilas", "du Château", "de la Gare", "de l'Église", "Gambetta", "Foch",
    "des Tilleuls", "de Bretagne", "du Moulin", "des Écoles", "de la Paix", "Nationale",
    "Saint-Michel", "Carnot", "Voltaire", "des Acacias", "du Stade", "de Verdun",
    "Émile Zola", "de la Liberté", "des Vignes", "du Port",
];

/// Second address lines (the empty one is frequent, as in the real API).
pub(crate) const ADDRESS_LINE2: &[&str] = &[
    "", "", "", "", "Bât. B", "Appartement 12", "Résidence Les Pins", "Lieu-dit Les Granges",
    "Escalier 3, 2e étage", "BP 42", "Chez M. et Mme Roux",
];

/// E-mail domains.
pub(crate) const EMAIL_DOMAINS: &[&str] = &[
    "gmail.com", "gmail.com", "orange.fr", "free.fr", "laposte.net", "outlook.fr",
    "hotmail.fr", "sfr.fr", "yahoo.fr", "wanadoo.fr", "icloud.com",
];

/// Socio-professional categories.
pub(crate) const CSP: &[&str] = &[
    "Cadre", "Employé", "Ouvrier", "Artisan, commerçant", "Profession libérale", "Retraité",
    "Étudiant", "Agriculteur exploitant", "Sans activité professionnelle",
    "Profession intermédiaire", "Chef d'entreprise",
];

/// Social security regimes.
pub(crate) const REGIMES: &[&str] = &[
    "Régime général", "Régime général", "Travailleur non salarié (TNS)",
    "Régime agricole (MSA)", "Alsace-Moselle", "Retraité du régime général", "Étudiant",
    "Fonction publique",
];

/// Steps of the sales funnel.
pub(crate) const ETAPES: &[&str] = &[
    "NOUVEAU", "A_QUALIFIER", "CONTACTE", "RDV_PLANIFIE", "PROPOSITION_ENVOYEE",
    "SIGNATURE_EN_COURS", "GAGNE", "PERDU",
];

/// Prospect statuses.
pub(crate) const STATUTS_PROSPECT: &[&str] = &["PROSPECT", "PROSPECT", "CLIENT", "INACTIF", "NE_PAS_CONTACTER"];

/// Contract statuses.
pub(crate) const STATUTS_CONTRAT: &[&str] = &["ACTIF", "ACTIF", "ACTIF", "EN_ATTENTE", "RESILIE", "SUSPENDU"];

/// Free-text contract notes (`None`: `null` in the payload).
pub(crate) const NOTES: &[Option<&str>] = &[
    None,
    None,
    Some("Paiement par prélèvement SEPA le 5 de chaque mois."),
    Some("Attente du RIB signé et de la copie de la pièce d'identité recto-verso."),
    Some("Souscription effectuée par téléphone, enregistrement conservé."),
    Some("Le client a demandé un délai de rétractation supplémentaire."),
    Some("Résiliation de l'ancien contrat prise en charge par nos soins (loi Hamon)."),
    Some("Rappeler en fin de mois pour la mise en service."),
];

/// Banks: (bank code of the RIB, BIC without branch suffix).
pub(crate) const BANKS: &[(u32, &str)] = &[
    (30004, "BNPAFRPP"), (30003, "SOGEFRPP"), (30002, "CRLYFRPP"), (30006, "AGRIFRPP"),
    (10107, "BREDFRPP"), (20041, "PSSTFRPP"), (30066, "CMCIFRPP"), (17515, "CEPAFRPP"),
    (16958, "QNTOFRP1"), (40618, "BOUSFRPP"), (10278, "CMCIFR2A"), (18206, "AGRIFRPP"),
];

/// A salesperson of the WinLeadPlus organisation.
pub(crate) struct Commercial {
    pub(crate) id: &'static str,
    pub(crate) prenom: &'static str,
    pub(crate) nom: &'static str,
    pub(crate) telephone: &'static str,
}

/// The salespeople prospects are assigned to.
pub(crate) const COMMERCIAUX: &[Commercial] = &[
    Commercial { id: "931710f1-9014-46ec-a18f-40b4361f3a30", prenom: "Antoine", nom: "Legrand", telephone: "06 70 04 89 62" },
    Commercial { id: "551497ca-de37-4939-86ec-387b715f7e2a", prenom: "Chloé", nom: "Durand", telephone: "07 01 57 55 30" },
    Commercial { id: "7c0eec21-dbb6-4ae7-9915-8029b3c31e30", prenom: "Karim", nom: "Benali", telephone: "06 11 42 87 09" },
    Commercial { id: "d5e56383-6eb4-4459-9c5b-961b3587ef44", prenom: "Sophie", nom: "Marchand", telephone: "06 45 20 13 78" },
    Commercial { id: "31d73df7-6217-436a-b408-192bf5270b9b", prenom: "Bernard", nom: "Roger", telephone: "07 35 84 21 53" },
    Commercial { id: "0f54736b-1d19-4a53-b9e7-c5e34df70ee3", prenom: "Élodie", nom: "Faure", telephone: "06 98 31 02 44" },
    Commercial { id: "6fc92800-261d-4c10-8cb9-1f0aa66121c1", prenom: "Thomas", nom: "Nguyen", telephone: "07 62 75 19 80" },
    Commercial { id: "2f076553-5f4c-4df8-ad00-27444c73e642", prenom: "Isabelle", nom: "Lacroix", telephone: "06 03 58 66 21" },
];

/// An offer of the catalogue.
pub(crate) struct Offre {
    pub(crate) id: u32,
    pub(crate) nom: &'static str,
    pub(crate) categorie: &'static str,
    /// Base price in cents.
    pub(crate) prix_cents: i64,
    pub(crate) fournisseur: &'static str,
    pub(crate) logo: &'static str,
}

/// The offer catalogue.
pub(crate) const OFFRES: &[Offre] = &[
    Offre { id: 101, nom: "Mutuelle Santé Essentiel", categorie: "SANTE", prix_cents: 3290, fournisseur: "Harmonie Mutuelle", logo: "harmonie-mutuelle" },
    Offre { id: 102, nom: "Mutuelle Santé Confort Plus", categorie: "SANTE", prix_cents: 5450, fournisseur: "Harmonie Mutuelle", logo: "harmonie-mutuelle" },
    Offre { id: 201, nom: "Assurance Habitation Locataire", categorie: "HABITATION", prix_cents: 999, fournisseur: "MAIF", logo: "maif" },
    Offre { id: 202, nom: "Assurance Habitation Propriétaire", categorie: "HABITATION", prix_cents: 2490, fournisseur: "AXA", logo: "axa" },
    Offre { id: 301, nom: "Électricité Verte Prix Fixe 2 ans", categorie: "ENERGIE", prix_cents: 6800, fournisseur: "ENGIE", logo: "engie" },
    Offre { id: 302, nom: "Gaz Naturel Indexé", categorie: "ENERGIE", prix_cents: 4730, fournisseur: "ENGIE", logo: "engie" },
    Offre { id: 303, nom: "Duo Électricité + Gaz", categorie: "ENERGIE", prix_cents: 11240, fournisseur: "TotalEnergies", logo: "totalenergies" },
    Offre { id: 401, nom: "Fibre 1G", categorie: "TELECOM", prix_cents: 2990, fournisseur: "Orange", logo: "orange" },
    Offre { id: 402, nom: "Mobile 100Go", categorie: "TELECOM", prix_cents: 1500, fournisseur: "Bouygues Telecom", logo: "bouygues-telecom" },
    Offre { id: 501, nom: "Prévoyance Obsèques Capital 5000", categorie: "PREVOYANCE", prix_cents: 1940, fournisseur: "Groupama", logo: "groupama" },
    Offre { id: 502, nom: "Garantie Accidents de la Vie", categorie: "PREVOYANCE", prix_cents: 1490, fournisseur: "MAAF", logo: "maaf" },
    Offre { id: 601, nom: "Assurance Emprunteur", categorie: "CREDIT", prix_cents: 3675, fournisseur: "Cardif", logo: "cardif" },
    Offre { id: 701, nom: "Assurance Auto Tous Risques", categorie: "AUTO", prix_cents: 5820, fournisseur: "Allianz", logo: "allianz" },
];

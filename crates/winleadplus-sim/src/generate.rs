//! Deterministic generation of realistic WinLeadPlus prospects: prospect `i` depends only on
//! (seed, i), and across a data set every key spelling and value shape of docs/WINLEADPLUS_API.md
//! shows up (both contract shapes, the three date forms, numbers as French strings, missing
//! optional fields, about 7% IBANs that fail the mod-97 check).

#[rustfmt::skip]
mod tables;

use serde_json::{Map, Value, json};

use crate::checks::{break_iban, french_iban, nir};
use crate::rng::Rng;
use tables::{COMMERCIAUX, OFFRES, Offre};

/// The `idProspect` of generated prospect 0; prospect `i` has `FIRST_ID + i`.
pub const FIRST_ID: i64 = 100_000;

/// The seed used when none is given.
pub const DEFAULT_SEED: u64 = 42;

/// Share of generated IBANs that fail the mod-97 check.
pub const INVALID_IBAN_SHARE: f64 = 0.07;

/// Independent random streams, so that one decision does not shift the others.
const STREAM_PROSPECT: u64 = 1;
const STREAM_IBAN_VALIDITY: u64 = 2;
const STREAM_MUTATION: u64 = 3;
const STREAM_MUTATION_PICK: u64 = 4;

/// `count` prospects generated with `seed`: ids `FIRST_ID ..= FIRST_ID + count - 1`, in order.
pub fn generate(count: usize, seed: u64) -> Vec<Value> {
    (0..count as u64).map(|i| prospect(seed, i)).collect()
}

/// Generated prospect number `index` (0-based) of the data set of `seed`: the same value for
/// the same arguments, whatever else was generated before.
pub fn prospect(seed: u64, index: u64) -> Value {
    let id = prospect_id(index);
    let mut r = Rng::for_item(seed, index, STREAM_PROSPECT);
    let mut p = Map::new();

    // About 2% of ids arrive as numeric strings, which the API allows.
    let id_value = if r.chance(0.02) {
        Value::String(id.to_string())
    } else {
        Value::from(id)
    };
    p.insert("idProspect".into(), id_value);

    let female = r.chance(0.5);
    let prenom = *r.pick(if female { tables::FEMALE } else { tables::MALE });
    let nom = *r.pick(tables::SURNAMES);
    let nom_written = match r.weighted(&[90, 7, 3]) {
        0 => nom.to_owned(),
        1 => nom.to_uppercase(),
        _ => format!(" {nom} "),
    };
    p.insert("nom".into(), nom_written.into());
    p.insert("prenom".into(), prenom.into());
    match r.weighted(&[94, 4, 2]) {
        0 => {
            p.insert("email".into(), email(&mut r, prenom, nom).into());
        }
        1 => {}
        _ => {
            p.insert("email".into(), Value::Null);
        }
    }
    if !r.chance(0.03) {
        p.insert("telephone".into(), phone(&mut r).into());
    }
    let civilite = match (female, r.chance(0.04)) {
        (true, false) => "Mme",
        (true, true) => "Mlle",
        (false, false) => "M.",
        (false, true) => "M",
    };
    p.insert("civilite".into(), civilite.into());

    let birth = Date::random(&mut r, 1940, 2005);
    if !r.chance(0.05) {
        let key = if r.chance(0.8) {
            "dateNaissance"
        } else {
            "date_naissance"
        };
        let text = match r.weighted(&[70, 20, 10]) {
            0 => birth.iso(),
            1 => birth.french(),
            _ => birth.timestamp(&mut r),
        };
        p.insert(key.into(), text.into());
    }

    address(&mut r, &mut p);

    p.insert("csp".into(), nullable(&mut r, 0.05, tables::CSP));
    p.insert("regimeSocial".into(), (*r.pick(tables::REGIMES)).into());
    p.insert("etapeCourante".into(), (*r.pick(tables::ETAPES)).into());
    p.insert(
        "statutProspect".into(),
        (*r.pick(tables::STATUTS_PROSPECT)).into(),
    );

    let (department, commune) = if r.chance(0.85) {
        let (city, dept) = *r.pick(tables::BIRTH_PLACES_FR);
        if !r.chance(0.1) {
            p.insert("lieuNaissance".into(), city.into());
            p.insert("paysNaissance".into(), "FR".into());
        }
        (dept, r.between(1, 600) as u32)
    } else {
        let (city, country, code) = *r.pick(tables::BIRTH_PLACES_ABROAD);
        p.insert("lieuNaissance".into(), city.into());
        p.insert("paysNaissance".into(), country.into());
        ("99", code)
    };
    if !r.chance(0.15) {
        let sex = if female { 2 } else { 1 };
        let order = r.between(1, 999) as u32;
        p.insert(
            "numss".into(),
            nir(sex, birth.year, birth.month, department, commune, order).into(),
        );
    }
    p.insert("is_politically_exposed".into(), r.chance(0.01).into());
    p.insert(
        "consentementRGPDTraitementDonnees".into(),
        (!r.chance(0.03)).into(),
    );
    if r.chance(0.5) {
        p.insert(
            "consentementRGPDCommunicationsCommerciales".into(),
            r.chance(0.6).into(),
        );
    }
    let created = Date::random(&mut r, 2019, 2025);
    p.insert("createdAt".into(), created.timestamp_ms(&mut r).into());

    commercial(&mut r, &mut p);
    payment(&mut r, &mut p, seed, id);
    contracts(&mut r, &mut p, id);

    Value::Object(p)
}

/// The `idProspect` of generated prospect `index`.
pub fn prospect_id(index: u64) -> i64 {
    FIRST_ID.saturating_add(i64::try_from(index).unwrap_or(i64::MAX))
}

/// Whether the generator meant the IBAN of prospect `id` to be valid (the ~7% others fail
/// the mod-97 check on purpose).
pub fn iban_meant_valid(seed: u64, id: i64) -> bool {
    let mut r = Rng::for_item(seed, id as u64, STREAM_IBAN_VALIDITY);
    !r.chance(INVALID_IBAN_SHARE)
}

/// A generator for the new values of prospect `id` in a mutation with `seed`; `salt` stands
/// for the current values, so that mutating twice with the same seed still changes them.
pub(crate) fn mutation_rng(seed: u64, id: i64, salt: u64) -> Rng {
    Rng::for_item(seed ^ salt.rotate_left(17), id as u64, STREAM_MUTATION)
}

/// A generator for choosing which of `candidates` prospects a mutation with `seed` changes.
pub(crate) fn mutation_pick_rng(seed: u64, candidates: usize) -> Rng {
    Rng::for_item(seed, candidates as u64, STREAM_MUTATION_PICK)
}

/// A French phone number as people type it.
pub(crate) fn phone(r: &mut Rng) -> String {
    let first = *r.pick(&[6, 6, 6, 7, 7, 1, 2, 3, 4, 5, 9]);
    let pairs: Vec<String> = (0..4).map(|_| format!("{:02}", r.below(100))).collect();
    match r.weighted(&[70, 15, 15]) {
        0 => format!("0{first} {}", pairs.join(" ")),
        1 => format!("+33 {first} {}", pairs.join(" ")),
        _ => format!("0{first}{}", pairs.concat()),
    }
}

/// An e-mail address built from the person's name.
pub(crate) fn email(r: &mut Rng, prenom: &str, nom: &str) -> String {
    let first = ascii_slug(prenom);
    let last = ascii_slug(nom);
    let domain = *r.pick(tables::EMAIL_DOMAINS);
    let n = r.between(1, 99);
    match r.weighted(&[40, 15, 15, 15, 15]) {
        0 => format!("{first}.{last}@{domain}"),
        1 => format!("{first}.{last}{n}@{domain}"),
        2 => format!("{first}_{last}{n}@{domain}"),
        3 => format!("{first}-{last}@{domain}"),
        _ => format!("{}{last}@{domain}", first.chars().next().unwrap_or('x')),
    }
}

/// Another step of the sales funnel than `current`.
pub(crate) fn other_etape(r: &mut Rng, current: Option<&str>) -> &'static str {
    let choices: Vec<&'static str> = tables::ETAPES
        .iter()
        .copied()
        .filter(|e| Some(*e) != current)
        .collect();
    let i = r.below(choices.len() as u64) as usize;
    choices.get(i).copied().unwrap_or("NOUVEAU")
}

/// Lower-case ASCII for e-mail addresses: accents dropped, spaces and apostrophes removed.
fn ascii_slug(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            let c = match c {
                'à' | 'â' | 'ä' | 'À' | 'Â' => 'a',
                'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' => 'e',
                'î' | 'ï' | 'Î' => 'i',
                'ô' | 'ö' | 'Ô' => 'o',
                'ù' | 'û' | 'ü' => 'u',
                'ç' | 'Ç' => 'c',
                c => c,
            };
            c.is_ascii_alphanumeric().then(|| c.to_ascii_lowercase())
        })
        .collect()
}

/// A table value, or `null` with probability `p_null`.
fn nullable(r: &mut Rng, p_null: f64, table: &[&str]) -> Value {
    if r.chance(p_null) {
        Value::Null
    } else {
        (*r.pick(table)).into()
    }
}

/// The postal address, in one of the three spellings of line 1 and two of the postcode.
fn address(r: &mut Rng, p: &mut Map<String, Value>) {
    if r.chance(0.02) {
        return; // no address at all
    }
    let number = r.between(1, 240);
    let street = format!(
        "{} {}",
        r.pick(tables::STREET_TYPES),
        r.pick(tables::STREET_NAMES)
    );
    match r.weighted(&[45, 35, 15, 5]) {
        0 => {
            p.insert("adresse1".into(), format!("{number} {street}").into());
        }
        1 => {
            p.insert(
                "adressePostaleLigne1".into(),
                format!("{number} {street}").into(),
            );
        }
        2 => {
            p.insert("adresse".into(), street.into());
            p.insert("streetnumber".into(), number.to_string().into());
        }
        _ => {
            // The number both in the line and beside it: must not be doubled.
            p.insert("adresse".into(), format!("{number} {street}").into());
            p.insert("streetnumber".into(), number.to_string().into());
        }
    }
    if r.chance(0.6) {
        p.insert(
            "adressePostaleLigne2".into(),
            (*r.pick(tables::ADDRESS_LINE2)).into(),
        );
    }
    let (city, postcode) = *r.pick(tables::CITIES);
    let key = if r.chance(0.7) {
        "codePostal"
    } else {
        "code_postal"
    };
    p.insert(key.into(), postcode.into());
    p.insert("ville".into(), city.into());
    if !r.chance(0.1) {
        p.insert("pays".into(), "FR".into());
    }
}

/// The salesperson, as `commercialId`, a `commercial` object or `commercial_id`.
fn commercial(r: &mut Rng, p: &mut Map<String, Value>) {
    let c = r.pick(COMMERCIAUX);
    match r.weighted(&[45, 35, 15, 5]) {
        0 => {
            p.insert("commercialId".into(), c.id.into());
        }
        1 => {
            let email = format!(
                "{}.{}@courtage-horizon.fr",
                ascii_slug(c.prenom),
                ascii_slug(c.nom)
            );
            p.insert(
                "commercial".into(),
                json!({ "id": c.id, "nom": c.nom, "prenom": c.prenom, "email": email, "telephone": c.telephone }),
            );
        }
        2 => {
            p.insert("commercial_id".into(), c.id.into());
        }
        _ => {} // not assigned
    }
}

/// `informationsPaiement`: one entry, with each key in one of its two spellings.
fn payment(r: &mut Rng, p: &mut Map<String, Value>, seed: u64, id: i64) {
    match r.weighted(&[93, 5, 2]) {
        0 => {}
        1 => {
            p.insert("informationsPaiement".into(), json!([]));
            return;
        }
        _ => return,
    }
    let (bank, bic) = *r.pick(tables::BANKS);
    let branch = r.between(1, 99_999) as u32;
    let account = r.below(100_000_000_000);
    let mut iban = french_iban(bank, branch, account);
    if !iban_meant_valid(seed, id) {
        iban = break_iban(&iban);
    }
    let iban = match r.weighted(&[85, 10, 5]) {
        0 => iban,
        1 => group_by_four(&iban),
        _ => iban.to_lowercase(),
    };
    let bic = if r.chance(0.5) {
        format!("{bic}XXX")
    } else {
        bic.to_owned()
    };
    let mut entry = Map::new();
    let iban_key = if r.chance(0.65) { "iban" } else { "IBAN" };
    entry.insert(iban_key.into(), iban.into());
    let bic_key = if r.chance(0.65) { "BIC" } else { "bic" };
    entry.insert(bic_key.into(), bic.into());
    if !r.chance(0.05) {
        let mandat_key = if r.chance(0.65) {
            "mandatSepa"
        } else {
            "mandat_sepa"
        };
        entry.insert(mandat_key.into(), (!r.chance(0.2)).into());
    }
    p.insert("informationsPaiement".into(), json!([entry]));
}

/// `FR76 3000 6000 …`, as printed on a RIB.
fn group_by_four(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Hands out the ids of one prospect's contracts and subscriptions: `id * 100 + n`, unique
/// across the whole data set because prospect ids are.
struct Ids {
    base: i64,
    next_contract: i64,
    next_souscription: i64,
}

impl Ids {
    fn contract(&mut self) -> i64 {
        self.next_contract += 1;
        self.base
            .saturating_mul(100)
            .saturating_add(self.next_contract)
    }

    fn souscription(&mut self) -> i64 {
        self.next_souscription += 1;
        self.base
            .saturating_mul(100)
            .saturating_add(self.next_souscription)
    }
}

/// Contracts in the older shape (top-level `contrats` + `abonnements`), the newer one
/// (`Souscription` and its spellings, each with `offre` and nested contracts), both or none.
fn contracts(r: &mut Rng, p: &mut Map<String, Value>, id: i64) {
    let mut ids = Ids {
        base: id,
        next_contract: 0,
        next_souscription: 0,
    };
    let (older, newer) = match r.weighted(&[30, 55, 10, 5]) {
        0 => (true, false),
        1 => (false, true),
        2 => (true, true),
        _ => (false, false),
    };
    let empty_arrays = r.chance(0.7);
    if older {
        let n = 1 + r.weighted(&[70, 30]);
        let offres: Vec<&Offre> = (0..n).map(|_| r.pick(OFFRES)).collect();
        let list: Vec<Value> = offres
            .iter()
            .map(|o| contract(r, &mut ids, o, None))
            .collect();
        p.insert("contrats".into(), list.into());
        let prix_key = if r.chance(0.5) {
            "prix_base"
        } else {
            "prixBase"
        };
        let lines: Vec<Value> = offres
            .iter()
            .map(|o| {
                let mut line = Map::new();
                line.insert("offreId".into(), o.id.into());
                line.insert("nom".into(), o.nom.into());
                line.insert("categorie".into(), o.categorie.into());
                line.insert(prix_key.into(), amount(r, o.prix_cents));
                Value::Object(line)
            })
            .collect();
        p.insert("abonnements".into(), lines.into());
    } else if empty_arrays {
        p.insert("contrats".into(), json!([]));
        p.insert("abonnements".into(), json!([]));
    }
    let key = *r.pick(&[
        "Souscription",
        "Souscription",
        "Souscription",
        "Souscription",
        "Souscription",
        "Souscription",
        "Souscription",
        "Souscription",
        "Souscription",
        "Souscription",
        "souscriptions",
        "souscriptions",
        "Souscriptions",
        "souscription",
    ]);
    if newer {
        let n = 1 + r.weighted(&[60, 30, 10]);
        let list: Vec<Value> = (0..n).map(|_| souscription(r, &mut ids)).collect();
        p.insert(key.into(), list.into());
    } else if empty_arrays {
        p.insert(key.into(), json!([]));
    }
}

/// One subscription of the newer shape, with its offer and one or two contracts.
fn souscription(r: &mut Rng, ids: &mut Ids) -> Value {
    let o = r.pick(OFFRES);
    let annual = r.chance(0.15);
    let monthly = o.prix_cents * r.between(85, 115) as i64 / 100;
    let total = if annual { monthly * 12 } else { monthly };
    let mut s = Map::new();
    s.insert("idSouscription".into(), ids.souscription().into());
    s.insert("offreId".into(), o.id.into());
    s.insert("totalAmount".into(), amount(r, total));
    s.insert(
        "dateSouscription".into(),
        Date::random(r, 2019, 2025).iso().into(),
    );
    s.insert(
        "offre".into(),
        json!({
            "offreId": o.id,
            "nom": o.nom,
            "categorie": o.categorie,
            "prix_base": cents_number(o.prix_cents),
            "fournisseur": o.fournisseur,
            "logo_url": format!("https://cdn.winleadplus.fr/logos/{}.png", o.logo),
        }),
    );
    let key = *r.pick(&[
        "contrats", "contrats", "contrats", "contrats", "contrats", "contrats", "contrats",
        "contrats", "contrats", "contrats", "Contrats", "Contrats", "contrat", "Contrat",
    ]);
    let n = 1 + r.weighted(&[85, 15]);
    let frequence = if annual { "ANNUELLE" } else { "MENSUELLE" };
    let list: Vec<Value> = (0..n)
        .map(|_| contract(r, ids, o, Some((total, frequence))))
        .collect();
    s.insert(key.into(), list.into());
    Value::Object(s)
}

/// One contract: `idContrat` or `id`, both date and frequency spellings, some optional keys
/// left out. `nested` carries the subscription's amount and billing frequency.
fn contract(r: &mut Rng, ids: &mut Ids, o: &Offre, nested: Option<(i64, &str)>) -> Value {
    let mut c = Map::new();
    let id_key = if r.chance(0.7) { "idContrat" } else { "id" };
    c.insert(id_key.into(), ids.contract().into());
    if !r.chance(0.03) {
        c.insert(
            "titre".into(),
            format!("{} - {}", o.nom, o.fournisseur).into(),
        );
    }
    if !r.chance(0.03) {
        c.insert("statut".into(), (*r.pick(tables::STATUTS_CONTRAT)).into());
    }
    let (cents, frequence) = match nested {
        Some((total, frequence)) => (total, frequence),
        None if r.chance(0.1) => (o.prix_cents * 12, "ANNUELLE"),
        None => (o.prix_cents * r.between(90, 110) as i64 / 100, "MENSUELLE"),
    };
    c.insert("montant".into(), amount(r, cents));
    if !r.chance(0.05) {
        let key = if r.chance(0.75) {
            "dateSignature"
        } else {
            "date_signature"
        };
        c.insert(key.into(), Date::random(r, 2019, 2025).iso().into());
    }
    if !r.chance(0.1) {
        c.insert("devise".into(), "EUR".into());
    }
    let key = if r.chance(0.8) {
        "frequenceFacturation"
    } else {
        "frequence_facturation"
    };
    c.insert(key.into(), frequence.into());
    c.insert("commercialId".into(), r.pick(COMMERCIAUX).id.into());
    c.insert(
        "notes".into(),
        r.pick(tables::NOTES).map_or(Value::Null, Value::from),
    );
    Value::Object(c)
}

/// An amount in cents as the API writes it: usually a JSON number, sometimes a string with a
/// dot, a decimal comma, or a comma and a space between thousands (`"1 234,50"`).
fn amount(r: &mut Rng, cents: i64) -> Value {
    let euros = cents / 100;
    let rest = cents % 100;
    // Large amounts are where the French thousands separator shows up.
    let weights = if euros >= 1000 {
        [50, 5, 10, 35]
    } else {
        [78, 6, 10, 6]
    };
    match r.weighted(&weights) {
        0 => cents_number(cents),
        1 => format!("{euros}.{rest:02}").into(),
        2 => format!("{euros},{rest:02}").into(),
        _ => format!("{},{rest:02}", group_thousands(euros)).into(),
    }
}

/// Cents as a JSON number of euros (`2990` → `29.9`).
fn cents_number(cents: i64) -> Value {
    Value::from(cents as f64 / 100.0)
}

/// `1234` → `"1 234"`.
fn group_thousands(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// A calendar date.
#[derive(Debug, Clone, Copy)]
struct Date {
    year: u32,
    month: u32,
    day: u32,
}

impl Date {
    fn random(r: &mut Rng, first_year: u32, last_year: u32) -> Date {
        let year = r.between(u64::from(first_year), u64::from(last_year)) as u32;
        let month = r.between(1, 12) as u32;
        let day = r.between(1, u64::from(days_in_month(year, month))) as u32;
        Date { year, month, day }
    }

    /// `1982-04-15`.
    fn iso(self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// `15/04/1982`.
    fn french(self) -> String {
        format!("{:02}/{:02}/{:04}", self.day, self.month, self.year)
    }

    /// An RFC 3339 timestamp at midnight, UTC or Paris time.
    fn timestamp(self, r: &mut Rng) -> String {
        let zone = *r.pick(&["Z", "+01:00", "+02:00"]);
        format!("{}T00:00:00{zone}", self.iso())
    }

    /// An RFC 3339 timestamp with milliseconds, as `createdAt` is written.
    fn timestamp_ms(self, r: &mut Rng) -> String {
        format!(
            "{}T{:02}:{:02}:{:02}.{:03}Z",
            self.iso(),
            r.below(24),
            r.below(60),
            r.below(60),
            r.below(1000)
        )
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests;

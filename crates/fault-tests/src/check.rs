//! The checker: the simulator's prospects against what the product wrote, field by field,
//! for each organisation (every organisation of a stack syncs the same simulator).
//!
//! For each prospect the mapper accepts (`mapper::map_prospect` gives the expectation):
//! - crm_core: exactly one live client with `external_source = source = 'WinLeadPlus'` and
//!   `external_id` = the prospect id, `statut = 'ACTIF'`, and these columns equal to the
//!   mapped client: `type_client, nom, prenom, date_naissance, compte_code, telephone, email,
//!   canal_acquisition, commercial_id, civilite, etape_courante, statut_prospect, numss, iban,
//!   bic`; when the mapping has an address, one `PRINCIPALE` address with its `ligne1, ligne2,
//!   code_postal, ville, pays`;
//! - crm_commercial: one mapping with the current `data_hash`, the client's id and the ids of
//!   its contracts; one contract per reference, for that client, with its `external_id,
//!   titre, statut, montant, date_signature, devise, fournisseur`, and its lines in order
//!   (`nom, prix_unitaire, quantite, offre_id`).
//!
//! And nothing else: no client, mapping or contract that no prospect accounts for, no dead
//! letter, no sync left RUNNING.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use mapper::{ContratRecord, MappedProspect};
use rust_decimal::Decimal;
use serde_json::Value;
use tokio_postgres::{NoTls, SimpleQueryMessage};
use uuid::Uuid;

/// Problems listed in a report (the count is always exact).
const LISTED_PROBLEMS: usize = 40;

/// What a check found.
#[derive(Debug, Default, Clone)]
pub struct CheckReport {
    /// Organisations checked.
    pub organisations: usize,
    /// Prospects the mapper accepts, per organisation.
    pub prospects: usize,
    /// Prospects the mapper refuses (no client expected).
    pub unmappable: usize,
    /// Clients, contracts and lines found, all organisations together.
    pub clients: usize,
    pub contrats: usize,
    pub lignes: usize,
    /// How many differences were found.
    pub problem_count: usize,
    /// The first of them.
    pub problems: Vec<String>,
}

impl CheckReport {
    /// Whether the state is exactly what the prospects say.
    pub fn is_exact(&self) -> bool {
        self.problem_count == 0
    }

    fn problem(&mut self, text: String) {
        self.problem_count += 1;
        if self.problems.len() < LISTED_PROBLEMS {
            self.problems.push(text);
        }
    }
}

impl std::fmt::Display for CheckReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} organisation(s) × {} prospects ({} unmappable): {} clients, {} contracts, {} lines; ",
            self.organisations,
            self.prospects,
            self.unmappable,
            self.clients,
            self.contrats,
            self.lignes
        )?;
        if self.is_exact() {
            write!(f, "exact")
        } else {
            write!(f, "{} difference(s):", self.problem_count)?;
            for p in &self.problems {
                write!(f, "\n  - {p}")?;
            }
            Ok(())
        }
    }
}

/// Compares the prospects with crm_core and crm_commercial.
#[derive(Debug, Clone)]
pub struct Checker {
    core_url: String,
    commercial_url: String,
}

/// The client columns compared with the mapped client, in this order after `id, external_id,
/// external_source, source, statut, live`.
const CLIENT_COLUMNS: [&str; 15] = [
    "type_client",
    "nom",
    "prenom",
    "date_naissance",
    "compte_code",
    "telephone",
    "email",
    "canal_acquisition",
    "commercial_id",
    "civilite",
    "etape_courante",
    "statut_prospect",
    "numss",
    "iban",
    "bic",
];

impl Checker {
    /// A checker of these two databases.
    pub fn new(core_url: String, commercial_url: String) -> Self {
        Self {
            core_url,
            commercial_url,
        }
    }

    /// Checks until the state is exact (updates land asynchronously) or `timeout` passes;
    /// the report when exact, else an error carrying the last one.
    pub async fn eventually(
        &self,
        prospects: &[Value],
        orgs: &[Uuid],
        timeout: Duration,
    ) -> anyhow::Result<CheckReport> {
        let deadline = Instant::now() + timeout;
        loop {
            let report = self.check(prospects, orgs).await?;
            if report.is_exact() {
                return Ok(report);
            }
            if Instant::now() > deadline {
                bail!("the state is not exact after {timeout:?}: {report}");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// One comparison of `prospects` with what every organisation of `orgs` holds.
    pub async fn check(&self, prospects: &[Value], orgs: &[Uuid]) -> anyhow::Result<CheckReport> {
        let mut report = CheckReport {
            organisations: orgs.len(),
            ..CheckReport::default()
        };
        let mut expected: BTreeMap<String, MappedProspect> = BTreeMap::new();
        for raw in prospects {
            match mapper::map_prospect(raw) {
                Ok(mapped) => {
                    let id = mapped.external_id.to_string();
                    if expected.insert(id.clone(), mapped).is_some() {
                        report.problem(format!("the simulator serves prospect {id} twice"));
                    }
                }
                Err(_) => report.unmappable += 1,
            }
        }
        report.prospects = expected.len();
        let core = connect(&self.core_url).await?;
        let commercial = connect(&self.commercial_url).await?;

        let dead = query_rows(&core, "SELECT count(*) FROM dead_letters").await?;
        if let Some(n) = dead.first().and_then(|r| r.first()).cloned().flatten()
            && n != "0"
        {
            report.problem(format!("{n} dead letter(s) in crm_core"));
        }
        let running = query_rows(
            &commercial,
            "SELECT organisation_id::text, id::text FROM winleadplus_sync_logs WHERE status = 'RUNNING'",
        )
        .await?;
        for row in running {
            report.problem(format!("a sync is still RUNNING: {row:?}"));
        }
        for org in orgs {
            check_organisation(&core, &commercial, *org, &expected, &mut report).await?;
        }
        Ok(report)
    }
}

/// A client as read: its id and the compared columns.
struct ClientRow {
    id: String,
    external_source: Option<String>,
    source: Option<String>,
    statut: Option<String>,
    live: bool,
    columns: Vec<Option<String>>,
}

#[allow(clippy::too_many_lines)]
async fn check_organisation(
    core: &tokio_postgres::Client,
    commercial: &tokio_postgres::Client,
    org: Uuid,
    expected: &BTreeMap<String, MappedProspect>,
    report: &mut CheckReport,
) -> anyhow::Result<()> {
    // crm_core: clients by external id.
    let sql = format!(
        "SELECT id::text, external_id, external_source, source, statut, \
           (deleted_at IS NULL)::text, {} \
         FROM clientbases WHERE organisation_id = '{org}'",
        CLIENT_COLUMNS
            .iter()
            .map(|c| format!("{c}::text"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut clients: HashMap<String, Vec<ClientRow>> = HashMap::new();
    for row in query_rows(core, &sql).await? {
        report.clients += 1;
        let mut cells = row.into_iter();
        let mut next = || cells.next().flatten();
        let id = next().unwrap_or_default();
        let external_id = next();
        let client = ClientRow {
            id,
            external_source: next(),
            source: next(),
            statut: next(),
            live: next().as_deref() == Some("true"),
            columns: (0..CLIENT_COLUMNS.len()).map(|_| next()).collect(),
        };
        match external_id {
            Some(ext) => clients.entry(ext).or_default().push(client),
            None => report.problem(format!("{org}: client {} has no external id", client.id)),
        }
    }
    let addresses: HashMap<String, Vec<Vec<Option<String>>>> = {
        let sql = format!(
            "SELECT a.client_base_id::text, a.ligne1, a.ligne2, a.code_postal, a.ville, a.pays \
             FROM adresses a JOIN clientbases c ON c.id = a.client_base_id \
             WHERE c.organisation_id = '{org}' AND a.type = 'PRINCIPALE'"
        );
        let mut map: HashMap<String, Vec<Vec<Option<String>>>> = HashMap::new();
        for row in query_rows(core, &sql).await? {
            let key = row.first().cloned().flatten().unwrap_or_default();
            map.entry(key).or_default().push(row[1..].to_vec());
        }
        map
    };

    // crm_commercial: mappings, contracts, lines.
    let sql = format!(
        "SELECT winleadplus_prospect_id::text, crm_client_id::text, data_hash, \
           array_to_string(crm_contrat_ids, ',') \
         FROM winleadplus_mappings WHERE organisation_id = '{org}'"
    );
    let mut mappings: HashMap<String, Vec<Vec<Option<String>>>> = HashMap::new();
    for row in query_rows(commercial, &sql).await? {
        let key = row.first().cloned().flatten().unwrap_or_default();
        mappings.entry(key).or_default().push(row);
    }
    let sql = format!(
        "SELECT reference, id::text, client_id::text, external_id, titre, statut, montant::text, \
           date_signature::text, devise, fournisseur \
         FROM contrats WHERE organisation_id = '{org}'"
    );
    let mut contrats: HashMap<String, Vec<Option<String>>> = HashMap::new();
    for row in query_rows(commercial, &sql).await? {
        report.contrats += 1;
        let key = row.first().cloned().flatten().unwrap_or_default();
        if contrats.insert(key.clone(), row).is_some() {
            report.problem(format!("{org}: contract {key} twice"));
        }
    }
    let sql = format!(
        "SELECT l.contrat_id::text, l.nom, l.prix_unitaire::text, l.quantite::text, l.offre_id \
         FROM lignes_contrat l JOIN contrats c ON c.id = l.contrat_id \
         WHERE c.organisation_id = '{org}' ORDER BY l.contrat_id, l.position"
    );
    let mut lignes: HashMap<String, Vec<Vec<Option<String>>>> = HashMap::new();
    for row in query_rows(commercial, &sql).await? {
        report.lignes += 1;
        let key = row.first().cloned().flatten().unwrap_or_default();
        lignes.entry(key).or_default().push(row[1..].to_vec());
    }

    let mut expected_references = BTreeSet::new();
    for (id, mapped) in expected {
        let p = |what: String| format!("{org}: prospect {id}: {what}");
        // The client.
        let client = match clients.get(id).map(Vec::as_slice) {
            None | Some([]) => {
                report.problem(p("no client".to_owned()));
                None
            }
            Some([one]) => Some(one),
            Some(many) => {
                report.problem(p(format!("{} clients", many.len())));
                None
            }
        };
        if let Some(client) = client {
            for (what, value) in [
                ("external_source", &client.external_source),
                ("source", &client.source),
            ] {
                if value.as_deref() != Some(mapper::SOURCE) {
                    report.problem(p(format!("{what} is {value:?}")));
                }
            }
            if client.statut.as_deref() != Some("ACTIF") {
                report.problem(p(format!("statut is {:?}", client.statut)));
            }
            if !client.live {
                report.problem(p("the client is deleted".to_owned()));
            }
            let wanted = client_columns(mapped);
            for ((column, found), wanted) in CLIENT_COLUMNS.iter().zip(&client.columns).zip(wanted)
            {
                if *found != wanted {
                    report.problem(p(format!(
                        "{column}: {} in crm_core, {} expected",
                        shown(column, found),
                        shown(column, &wanted)
                    )));
                }
            }
            if let Some(address) = &mapped.address {
                let wanted = vec![
                    address.ligne1.clone(),
                    address.ligne2.clone(),
                    address.code_postal.clone(),
                    address.ville.clone(),
                    Some(address.pays.clone()),
                ];
                match addresses.get(&client.id).map(Vec::as_slice) {
                    Some([found]) if *found == wanted => {}
                    found => report.problem(p(format!(
                        "principal address {found:?}, {wanted:?} expected"
                    ))),
                }
            }
        }

        // The mapping.
        let contrat_ids: Vec<Option<String>> = mapped
            .contrats
            .iter()
            .map(|c| {
                contrats
                    .get(&c.reference)
                    .and_then(|row| row.get(1).cloned().flatten())
            })
            .collect();
        match mappings.get(id).map(Vec::as_slice) {
            Some([row]) => {
                let cell = |i: usize| row.get(i).cloned().flatten();
                if cell(2).as_deref() != Some(mapped.data_hash.as_str()) {
                    report.problem(p(format!(
                        "mapping hash {:?}, {} expected",
                        cell(2),
                        mapped.data_hash
                    )));
                }
                if let Some(client) = client
                    && cell(1).as_deref() != Some(client.id.as_str())
                {
                    report.problem(p(format!(
                        "mapping to client {:?}, crm_core has {}",
                        cell(1),
                        client.id
                    )));
                }
                let mapped_ids: BTreeSet<String> = cell(3)
                    .unwrap_or_default()
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                let wanted: BTreeSet<String> = contrat_ids.iter().flatten().cloned().collect();
                if mapped_ids != wanted {
                    report.problem(p(format!(
                        "mapping's contracts {mapped_ids:?}, {wanted:?} expected"
                    )));
                }
            }
            None | Some([]) => report.problem(p("no mapping".to_owned())),
            Some(many) => report.problem(p(format!("{} mappings", many.len()))),
        }

        // The contracts and their lines.
        for contrat in &mapped.contrats {
            expected_references.insert(contrat.reference.clone());
            let Some(row) = contrats.get(&contrat.reference) else {
                report.problem(p(format!("no contract {}", contrat.reference)));
                continue;
            };
            let cell = |i: usize| row.get(i).cloned().flatten();
            if let Some(client) = client
                && cell(2).as_deref() != Some(client.id.as_str())
            {
                report.problem(p(format!(
                    "contract {} belongs to {:?}, not to client {}",
                    contrat.reference,
                    cell(2),
                    client.id
                )));
            }
            let found: Vec<Option<String>> = (3..10).map(cell).collect();
            let wanted = contrat_columns(contrat);
            if !same_contrat(&found, &wanted) {
                report.problem(p(format!(
                    "contract {}: {found:?} in crm_commercial, {wanted:?} expected",
                    contrat.reference
                )));
            }
            let found_lines = cell(1)
                .and_then(|id| lignes.get(&id).cloned())
                .unwrap_or_default();
            let wanted_lines: Vec<Vec<Option<String>>> = contrat
                .lignes
                .iter()
                .map(|l| {
                    vec![
                        Some(l.nom.clone()),
                        l.prix_unitaire.map(|d| d.to_string()),
                        Some(l.quantite.to_string()),
                        l.offre_id.clone(),
                    ]
                })
                .collect();
            let same = found_lines.len() == wanted_lines.len()
                && found_lines.iter().zip(&wanted_lines).all(|(f, w)| {
                    f.len() == w.len()
                        && f.iter()
                            .zip(w)
                            .enumerate()
                            .all(|(i, (f, w))| same_cell(i == 1, f, w))
                });
            if !same {
                report.problem(p(format!(
                    "contract {}: lines {found_lines:?}, {wanted_lines:?} expected",
                    contrat.reference
                )));
            }
        }
    }

    // Nothing that no prospect accounts for.
    for (ext, rows) in &clients {
        if !expected.contains_key(ext) {
            report.problem(format!(
                "{org}: {} client(s) for {ext}, which no prospect has",
                rows.len()
            ));
        }
    }
    for ext in mappings.keys() {
        if !expected.contains_key(ext) {
            report.problem(format!("{org}: a mapping for {ext}, which no prospect has"));
        }
    }
    for reference in contrats.keys() {
        if !expected_references.contains(reference) {
            report.problem(format!(
                "{org}: contract {reference}, which no prospect has"
            ));
        }
    }
    Ok(())
}

/// The compared columns of the mapped client, as PostgreSQL prints them.
fn client_columns(m: &MappedProspect) -> Vec<Option<String>> {
    let c = &m.client;
    vec![
        Some(c.type_client.clone()),
        Some(c.nom.clone()),
        Some(c.prenom.clone()),
        c.date_naissance.map(|d| d.to_string()),
        Some(c.compte_code.clone()),
        c.telephone.clone(),
        c.email.clone(),
        Some(c.canal_acquisition.clone()),
        c.commercial_id.clone(),
        c.civilite.clone(),
        c.etape_courante.clone(),
        c.statut_prospect.clone(),
        c.numss.clone(),
        c.iban.clone(),
        c.bic.clone(),
    ]
}

/// `external_id, titre, statut, montant, date_signature, devise, fournisseur`.
fn contrat_columns(c: &ContratRecord) -> Vec<Option<String>> {
    vec![
        Some(c.external_id.clone()),
        Some(c.titre.clone()),
        Some(c.statut.clone()),
        c.montant.map(|d| d.to_string()),
        c.date_signature.map(|d| d.to_string()),
        Some(c.devise.clone()),
        Some(c.fournisseur.clone()),
    ]
}

fn same_contrat(found: &[Option<String>], wanted: &[Option<String>]) -> bool {
    found.len() == wanted.len()
        && found
            .iter()
            .zip(wanted)
            .enumerate()
            .all(|(i, (f, w))| same_cell(i == 3, f, w))
}

/// Equal cells; a decimal compares by value (`12.5` and `12.50`).
fn same_cell(decimal: bool, found: &Option<String>, wanted: &Option<String>) -> bool {
    match (decimal, found, wanted) {
        (true, Some(f), Some(w)) => match (Decimal::from_str(f), Decimal::from_str(w)) {
            (Ok(f), Ok(w)) => f == w,
            _ => f == w,
        },
        _ => found == wanted,
    }
}

/// A value for a message, masked when the column is sensitive.
fn shown(column: &str, value: &Option<String>) -> String {
    match (column, value) {
        (_, None) => "NULL".to_owned(),
        ("iban", Some(v)) => format!("{:?}", mapper::mask::mask_iban(v)),
        ("bic", Some(v)) => format!("{:?}", mapper::mask::mask_bic(v)),
        ("numss", Some(v)) => format!("{:?}", mapper::mask::mask_numss(v)),
        (_, Some(v)) => format!("{v:?}"),
    }
}

/// A connection (no TLS: the test server's URLs have no `sslmode`).
async fn connect(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) =
        tokio::time::timeout(Duration::from_secs(10), tokio_postgres::connect(url, NoTls))
            .await
            .context("connecting to PostgreSQL timed out")?
            .context("cannot connect to PostgreSQL")?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("checker connection: {e}");
        }
    });
    Ok(client)
}

/// The rows of a query, every cell as text.
async fn query_rows(
    client: &tokio_postgres::Client,
    sql: &str,
) -> anyhow::Result<Vec<Vec<Option<String>>>> {
    let messages = client
        .simple_query(sql)
        .await
        .with_context(|| format!("{sql}: failed"))?;
    Ok(messages
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| row.get(i).map(str::to_owned))
                    .collect(),
            ),
            _ => None,
        })
        .collect())
}

/// The number in the first column of the first row of `sql`, on the database at `url`.
pub async fn query_i64(url: &str, sql: &str) -> anyhow::Result<i64> {
    let client = connect(url).await?;
    let rows = query_rows(&client, sql).await?;
    rows.first()
        .and_then(|r| r.first().cloned().flatten())
        .with_context(|| format!("{sql}: no value"))?
        .parse()
        .with_context(|| format!("{sql}: not a number"))
}

/// The first column of every row of `sql`, on the database at `url`.
pub async fn query_column(url: &str, sql: &str) -> anyhow::Result<Vec<String>> {
    let client = connect(url).await?;
    Ok(query_rows(&client, sql)
        .await?
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
        .collect())
}

/// Runs statements on the database at `url`.
pub async fn execute(url: &str, sql: &str) -> anyhow::Result<()> {
    let client = connect(url).await?;
    client
        .batch_execute(sql)
        .await
        .with_context(|| format!("{sql}: failed"))
}

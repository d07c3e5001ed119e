//! Search and List timings of client-core on the pre-loaded table: one of the 50 other
//! organisations, realistic terms derived from how its clients were generated (see
//! `rig::preload_other_clients`), a few warm-up calls, then each call timed alone over gRPC.

use std::time::Instant;

use anyhow::Context;
use proto::clients::client_base_service_client::ClientBaseServiceClient;
use proto::clients::{ListClientsBaseRequest, PaginationRequest, SearchClientRequest};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use uuid::Uuid;

use super::report::sorted;
use super::rig::{OTHER_ORGANISATIONS, Rig};
use crate::stack::Authorized;

/// Calls timed per kind.
pub(super) const CALLS: usize = 50;
/// Calls made first and not timed, per kind.
pub(super) const WARM_UP: usize = 5;
/// The target: a `List` with a search, p95.
pub(super) const LIST_SEARCH_P95_MS: f64 = 50.0;

/// The timings of one kind of call.
#[derive(Debug, Clone, Serialize)]
pub(super) struct CallTiming {
    pub(super) call: &'static str,
    #[serde(flatten)]
    pub(super) summary: Summary,
    pub(super) target_p95_ms: Option<f64>,
    /// `None` without a target.
    pub(super) met: Option<bool>,
    /// `Search` and `List` with a search: the same by kind of term.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) by_term: Vec<TermTiming>,
}

/// The timings of one kind of search term.
#[derive(Debug, Clone, Serialize)]
pub(super) struct TermTiming {
    pub(super) term: &'static str,
    #[serde(flatten)]
    pub(super) summary: Summary,
}

/// Percentiles of some calls' times, and the rows they matched.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Summary {
    pub(super) p50_ms: f64,
    pub(super) p95_ms: f64,
    pub(super) max_ms: f64,
    /// Median of the rows a call matched (`List`: the total; `Search`: 1 when found).
    pub(super) median_hits: f64,
}

impl Summary {
    /// From (milliseconds, rows matched) pairs.
    fn of<'a>(samples: impl Iterator<Item = &'a (usize, f64, f64)> + Clone) -> Self {
        let millis = sorted(samples.clone().map(|s| s.1));
        Self {
            p50_ms: percentile(&millis, 0.5),
            p95_ms: percentile(&millis, 0.95),
            max_ms: millis.last().copied().unwrap_or(0.0),
            median_hits: percentile(&sorted(samples.map(|s| s.2)), 0.5),
        }
    }
}

/// What `Search` is given, in turn.
const SEARCHES: [&str; 3] = ["a spaced phone", "a name in capitals", "a phone and a name"];

/// The search terms of `List`, as a CRM user types them, in turn.
const TERMS: [&str; 5] = [
    "a surname's start",
    "a first name in lower case",
    "an e-mail's start",
    "a phone's last 6 digits",
    "a surname in capitals",
];

/// Search/List timings on one organisation of the pre-loaded table.
#[derive(Debug, Clone, Serialize)]
pub(super) struct QueryTimings {
    /// Clients of other organisations in crm_core (the pre-load).
    pub(super) other_clients: usize,
    pub(super) organisation: String,
    /// Live clients of that organisation.
    pub(super) clients_in_organisation: i32,
    pub(super) calls: usize,
    pub(super) warm_up: usize,
    pub(super) timings: Vec<CallTiming>,
}

/// The kinds of call timed.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// The gRPC health check: the same server and connection, no database.
    Health,
    Search,
    ListSearch,
    ListAll,
}

impl Kind {
    /// The variants of the call, made in turn.
    fn variants(self) -> &'static [&'static str] {
        match self {
            Self::Health | Self::ListAll => &[],
            Self::Search => &SEARCHES,
            Self::ListSearch => &TERMS,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Health => "Health check (no database)",
            Self::Search => "Search (phone and/or name)",
            Self::ListSearch => "List with a search",
            Self::ListAll => "List without a search",
        }
    }
}

/// Times `Search`, `List` with a search term and `List` without one on the first of the
/// pre-loaded organisations, which holds the clients `i = 50, 100, 150, …`.
pub(super) async fn time_queries(rig: &Rig, other_clients: usize) -> anyhow::Result<QueryTimings> {
    let organisation = *rig
        .other_organisations
        .first()
        .context("no pre-loaded organisation")?;
    let channel = rig.core_channel(&[organisation]).await?;
    let mut clients = Clients {
        base: ClientBaseServiceClient::new(channel.clone()),
        health: HealthClient::new(channel),
    };
    let rows = u64::try_from(other_clients / OTHER_ORGANISATIONS)?.max(1);
    let mut rng = StdRng::seed_from_u64(16);
    let mut timings = Vec::new();
    let mut clients_in_organisation = 0;
    for kind in [Kind::Health, Kind::Search, Kind::ListSearch, Kind::ListAll] {
        // Term kind, milliseconds, rows matched.
        let mut samples = Vec::with_capacity(CALLS);
        for call in 0..WARM_UP + CALLS {
            let i = OTHER_ORGANISATIONS as u64 * rng.random_range(1..=rows);
            let started = Instant::now();
            let matched = one_call(&mut clients, organisation, kind, call, i, &mut rng).await?;
            let elapsed = started.elapsed().as_secs_f64() * 1000.0;
            if call >= WARM_UP {
                let variant = call % kind.variants().len().max(1);
                samples.push((variant, elapsed, f64::from(matched)));
            }
            if matches!(kind, Kind::ListAll) {
                clients_in_organisation = matched;
            }
        }
        let summary = Summary::of(samples.iter());
        let target = matches!(kind, Kind::ListSearch).then_some(LIST_SEARCH_P95_MS);
        let by_term = kind
            .variants()
            .iter()
            .enumerate()
            .map(|(t, &term)| TermTiming {
                term,
                summary: Summary::of(samples.iter().filter(move |s| s.0 == t)),
            })
            .collect();
        timings.push(CallTiming {
            call: kind.name(),
            met: target.map(|t| summary.p95_ms <= t),
            summary,
            target_p95_ms: target,
            by_term,
        });
    }
    Ok(QueryTimings {
        other_clients,
        organisation: organisation.to_string(),
        clients_in_organisation,
        calls: CALLS,
        warm_up: WARM_UP,
        timings,
    })
}

/// The services called, on one connection.
struct Clients {
    base: ClientBaseServiceClient<Authorized>,
    health: HealthClient<Authorized>,
}

/// One call of `kind` about client `i` (the `call`-th of its kind); the rows it matched.
async fn one_call(
    clients: &mut Clients,
    organisation: Uuid,
    kind: Kind,
    call: usize,
    i: u64,
    rng: &mut StdRng,
) -> anyhow::Result<i32> {
    let nom = format!("Nom{}", i % 9973);
    let phone = format!("06{:08}", i % 100_000_000);
    match kind {
        Kind::Health => {
            let status = clients
                .health
                .check(HealthCheckRequest {
                    service: "clients.ClientBaseService".to_owned(),
                })
                .await
                .context("Health/Check")?
                .into_inner()
                .status;
            Ok(i32::from(status == i32::from(ServingStatus::Serving)))
        }
        Kind::Search => {
            // As a caller types them: a spaced phone, a name in capitals, or both.
            let spaced = phone
                .as_bytes()
                .chunks(2)
                .map(|pair| String::from_utf8_lossy(pair).into_owned())
                .collect::<Vec<_>>()
                .join(" ");
            // In the order of SEARCHES.
            let (telephone, nom) = match call % SEARCHES.len() {
                0 => (spaced, String::new()),
                1 => (String::new(), nom.to_uppercase()),
                _ => (spaced, nom),
            };
            let found = clients
                .base
                .search(SearchClientRequest {
                    organisation_id: organisation.to_string(),
                    telephone,
                    nom,
                })
                .await
                .context("Search")?
                .into_inner()
                .found;
            Ok(i32::from(found))
        }
        Kind::ListSearch | Kind::ListAll => {
            // In the order of TERMS.
            let search = matches!(kind, Kind::ListSearch).then(|| match call % TERMS.len() {
                // A surname's first characters.
                0 => nom
                    .chars()
                    .take(nom.len().saturating_sub(1).max(4))
                    .collect(),
                // A first name, in lower case.
                1 => format!("prenom{}", i % 997),
                // The start of an e-mail address.
                2 => format!("client{i}@"),
                // The last six digits of a phone number.
                3 => phone.chars().skip(phone.len().saturating_sub(6)).collect(),
                // A whole surname in capitals.
                _ => nom.to_uppercase(),
            });
            let sort_by = ["", "nom", "updated_at"][call % 3].to_owned();
            let total = clients
                .base
                .list(ListClientsBaseRequest {
                    organisation_id: organisation.to_string(),
                    search,
                    pagination: Some(PaginationRequest {
                        page: rng.random_range(1..=5),
                        limit: 20,
                        sort_by,
                        sort_order: String::new(),
                    }),
                    ..Default::default()
                })
                .await
                .context("List")?
                .into_inner()
                .pagination
                .map_or(0, |p| p.total);
            Ok(total)
        }
    }
}

/// The nearest-rank percentile of sorted values (0 when empty).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<f64> = (1..=50).map(f64::from).collect();
        assert_eq!(percentile(&values, 0.5), 25.0);
        assert_eq!(percentile(&values, 0.95), 48.0);
        assert_eq!(percentile(&[7.0], 0.95), 7.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }
}

//! The benchmark's results, the targets, the verdicts, and the printed report.

#![allow(clippy::print_stdout, reason = "a command-line task reports on stdout")]

use serde::{Serialize, Serializer};

use super::queries::QueryTimings;
use super::rig::OTHER_ORGANISATIONS;

/// The absolute targets, seconds, for initial sync, unchanged re-sync and re-sync
/// after 10 % changed, by number of prospects.
const TARGETS: [(usize, [f64; 3]); 2] = [(10_000, [1.0, 0.25, 0.4]), (100_000, [10.0, 2.0, 3.0])];
/// End to end ÷ floor, for the same three scenarios.
const RATIO_TARGETS: [f64; 3] = [3.0, 2.0, 2.0];
/// Largest initial sync ÷ smallest across the growth points.
pub(super) const GROWTH_TARGET: f64 = 1.25;
/// Run 1's initial sync (into freshly created databases) ÷ the median.
pub(super) const FIRST_IMPORT_TARGET: f64 = 1.25;
/// Peak RSS caps, MB, of sync-service and client-core: the figures at 100,000
/// prospects, which also bound every smaller size.
const RSS_CAPS_MB: [(&str, f64); 2] = [("sync-service", 200.0), ("client-core", 150.0)];
const RSS_CAPS_UP_TO: usize = 100_000;

/// Median, smallest and largest of a few runs.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Stat {
    pub(super) median: f64,
    pub(super) min: f64,
    pub(super) max: f64,
}

pub(super) fn stat(values: &[f64]) -> Stat {
    let v = sorted(values.iter().copied());
    Stat {
        median: v.get(v.len() / 2).copied().unwrap_or(0.0),
        min: v.first().copied().unwrap_or(0.0),
        max: v.last().copied().unwrap_or(0.0),
    }
}

/// The values in ascending order.
pub(super) fn sorted(values: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    v
}

/// Whether a scenario held its targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Met,
    /// The absolute figure is missed on this machine, the ratio to the floor is met.
    MissedRatioMet,
    /// The absolute figure is met, the ratio to the floor is not.
    MissedAbsoluteMet,
    Missed,
    /// No absolute target at this size: the ratio alone.
    RatioMet,
    RatioMissed,
}

impl Verdict {
    fn of(end_to_end: f64, target: Option<f64>, ratio: f64, ratio_target: f64) -> Self {
        let ratio_met = ratio <= ratio_target;
        match (target.map(|t| end_to_end <= t), ratio_met) {
            (Some(true), true) => Self::Met,
            (Some(false), true) => Self::MissedRatioMet,
            (Some(true), false) => Self::MissedAbsoluteMet,
            (Some(false), false) => Self::Missed,
            (None, true) => Self::RatioMet,
            (None, false) => Self::RatioMissed,
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Met => "met",
            Self::MissedRatioMet => "missed (ratio met)",
            Self::MissedAbsoluteMet => "missed (absolute met)",
            Self::Missed => "missed",
            Self::RatioMet => "ratio met",
            Self::RatioMissed => "ratio missed",
        })
    }
}

impl Serialize for Verdict {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "missed" }
}

#[derive(Debug, Clone, Serialize)]
pub(super) struct Scenario {
    pub(super) name: &'static str,
    /// `SyncProspects` wall time, seconds.
    pub(super) sync: Stat,
    /// From the call until client-core applied every create and update, seconds.
    pub(super) end_to_end: Stat,
    /// Prospects per second, end to end (median).
    pub(super) prospects_per_second: f64,
    /// The floor of this scenario, seconds (median).
    pub(super) floor: f64,
    /// end_to_end / floor (medians).
    pub(super) ratio: f64,
    /// created, updated, skipped, failed of the last run.
    pub(super) counts: [i32; 4],
    /// The end-to-end target at this size, seconds (none for other sizes).
    pub(super) target_secs: Option<f64>,
    pub(super) ratio_target: f64,
    pub(super) verdict: Verdict,
}

impl Scenario {
    /// A scenario's figures against its targets; `index` is its place in initial,
    /// unchanged, changed.
    pub(super) fn new(
        index: usize,
        name: &'static str,
        prospects: usize,
        sync: Stat,
        end_to_end: Stat,
        floor: f64,
        counts: [i32; 4],
    ) -> Self {
        let target_secs = TARGETS
            .iter()
            .find(|(size, _)| *size == prospects)
            .and_then(|(_, targets)| targets.get(index).copied());
        let ratio_target = RATIO_TARGETS.get(index).copied().unwrap_or(2.0);
        let ratio = end_to_end.median / floor.max(1e-9);
        Self {
            name,
            sync,
            prospects_per_second: prospects as f64 / end_to_end.median.max(1e-9),
            verdict: Verdict::of(end_to_end.median, target_secs, ratio, ratio_target),
            end_to_end,
            floor,
            ratio,
            counts,
            target_secs,
            ratio_target,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub(super) struct Floor {
    pub(super) fetch_parse: Stat,
    pub(super) copy_all: Stat,
    pub(super) publish_all: Stat,
    pub(super) copy_changed: Stat,
    pub(super) publish_changed: Stat,
    pub(super) body_bytes: u64,
    pub(super) message_bytes: usize,
}

/// Run 1's initial sync, the first import into freshly created databases, against the median.
#[derive(Debug, Clone, Serialize)]
pub(super) struct FirstImport {
    pub(super) secs: f64,
    pub(super) median: f64,
    pub(super) ratio: f64,
    pub(super) target: f64,
    pub(super) met: bool,
}

impl FirstImport {
    /// From the initial syncs' end-to-end times, in run order.
    pub(super) fn of(initial: &[f64]) -> Self {
        let secs = initial.first().copied().unwrap_or(0.0);
        let median = stat(initial).median;
        let ratio = secs / median.max(1e-9);
        Self {
            secs,
            median,
            ratio,
            target: FIRST_IMPORT_TARGET,
            met: ratio <= FIRST_IMPORT_TARGET,
        }
    }
}

/// A service's peak RSS against its cap.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Rss {
    pub(super) service: &'static str,
    pub(super) peak_mb: f64,
    /// None above 100,000 prospects.
    pub(super) cap_mb: Option<f64>,
    pub(super) met: Option<bool>,
}

impl Rss {
    pub(super) fn checked(prospects: usize, sync_service: f64, client_core: f64) -> Vec<Self> {
        RSS_CAPS_MB
            .iter()
            .zip([sync_service, client_core])
            .map(|(&(service, cap), peak_mb)| {
                let cap_mb = (prospects <= RSS_CAPS_UP_TO).then_some(cap);
                Self {
                    service,
                    peak_mb,
                    cap_mb,
                    met: cap_mb.map(|c| peak_mb <= c),
                }
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize)]
pub(super) struct SizeResult {
    pub(super) prospects: usize,
    /// Clients of other organisations in crm_core before the runs.
    pub(super) other_clients: usize,
    pub(super) batch_size: u16,
    pub(super) scenarios: Vec<Scenario>,
    pub(super) first_import: FirstImport,
    pub(super) floor: Floor,
    #[serde(flatten)]
    pub(super) conditions: Conditions,
}

/// What one measurement (a size, a growth point) ran under, and its memory.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Conditions {
    /// How long writing the other organisations' clients took, seconds.
    pub(super) preload_secs: f64,
    /// The machine's 1-minute load average before and after: on a shared machine, other
    /// users' work weighs on the times.
    pub(super) load_average: [f64; 2],
    pub(super) rss: Vec<Rss>,
}

/// One growth point: the initial sync with crm_core pre-loaded with `other_clients`.
#[derive(Debug, Clone, Serialize)]
pub(super) struct GrowthPoint {
    pub(super) other_clients: usize,
    /// End to end, seconds.
    pub(super) initial: Stat,
    pub(super) first_import: FirstImport,
    #[serde(flatten)]
    pub(super) conditions: Conditions,
}

#[derive(Debug, Clone, Serialize)]
pub(super) struct Growth {
    pub(super) prospects: usize,
    pub(super) points: Vec<GrowthPoint>,
    /// Largest median initial sync ÷ smallest.
    pub(super) max_over_min: f64,
    pub(super) target: f64,
    pub(super) met: bool,
}

impl Growth {
    pub(super) fn new(prospects: usize, points: Vec<GrowthPoint>) -> Self {
        let medians = || points.iter().map(|p| p.initial.median);
        let max = medians().fold(0.0, f64::max);
        let min = medians().fold(f64::INFINITY, f64::min);
        let max_over_min = if points.is_empty() {
            1.0
        } else {
            max / min.max(1e-9)
        };
        Self {
            prospects,
            max_over_min,
            target: GROWTH_TARGET,
            met: max_over_min <= GROWTH_TARGET,
            points,
        }
    }
}

/// Everything `target/bench/results.json` holds.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Report {
    pub(super) runs: usize,
    pub(super) batch_size: u16,
    pub(super) change: f64,
    pub(super) sizes: Vec<SizeResult>,
    /// None when skipped.
    pub(super) growth: Option<Growth>,
    /// Search/List on the largest pre-loaded table; none when nothing was pre-loaded.
    pub(super) queries: Option<QueryTimings>,
}

fn target(t: Option<f64>, unit: &str) -> String {
    t.map_or_else(|| "-".to_owned(), |t| format!("≤ {t} {unit}"))
}

/// A Markdown table's header.
fn header(columns: &[&str]) {
    println!("\n| {} |", columns.join(" | "));
    println!("|{}", "---|".repeat(columns.len()));
}

fn verdict(met: Option<bool>) -> &'static str {
    met.map_or("-", self::met)
}

impl Report {
    /// Prospects, other clients, first import and conditions of every size, then of every
    /// growth point.
    fn measurements(&self) -> impl Iterator<Item = (usize, usize, &FirstImport, &Conditions)> {
        let sizes = self
            .sizes
            .iter()
            .map(|r| (r.prospects, r.other_clients, &r.first_import, &r.conditions));
        let growth = self.growth.iter().flat_map(|g| {
            g.points
                .iter()
                .map(|p| (g.prospects, p.other_clients, &p.first_import, &p.conditions))
        });
        sizes.chain(growth)
    }

    pub(super) fn print(&self) {
        self.print_scenarios();
        self.print_growth();
        self.print_first_imports();
        self.print_queries();
        self.print_rss();
        let loads: Vec<String> = self
            .measurements()
            .map(|(prospects, other, _, c)| {
                let [before, after] = c.load_average;
                format!("{prospects}/{other} {before:.1}→{after:.1}")
            })
            .collect();
        println!(
            "\nLoad average (1 min) before→after each measurement (prospects/other clients), on {} cores: {}",
            std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
            loads.join(", ")
        );
    }

    fn print_scenarios(&self) {
        if self.sizes.is_empty() {
            return;
        }
        println!(
            "\nEnd to end, median of {} runs (a fresh organisation each run):",
            self.runs
        );
        header(&[
            "prospects",
            "other clients",
            "scenario",
            "end to end",
            "min–max",
            "floor",
            "e2e ÷ floor",
            "target",
            "ratio target",
            "verdict",
        ]);
        for r in &self.sizes {
            for s in &r.scenarios {
                println!(
                    "| {} | {} | {} | {:.3} s | {:.3}–{:.3} | {:.3} s | {:.2} | {} | ≤ {} | {} |",
                    r.prospects,
                    r.other_clients,
                    s.name,
                    s.end_to_end.median,
                    s.end_to_end.min,
                    s.end_to_end.max,
                    s.floor,
                    s.ratio,
                    target(s.target_secs, "s"),
                    s.ratio_target,
                    s.verdict
                );
            }
        }
        for r in &self.sizes {
            println!(
                "{} prospects: floor parts fetch+parse {:.3} s, COPY {:.3} s, publish {:.3} s; sync (median) {}",
                r.prospects,
                r.floor.fetch_parse.median,
                r.floor.copy_all.median,
                r.floor.publish_all.median,
                r.scenarios
                    .iter()
                    .map(|s| format!("{} {:.3} s", s.name, s.sync.median))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }

    fn print_growth(&self) {
        let Some(g) = &self.growth else {
            println!("\nGrowth check: skipped.");
            return;
        };
        println!(
            "\nGrowth check: initial sync of {} prospects by clients of {OTHER_ORGANISATIONS} other organisations in crm_core (median of {} runs):",
            g.prospects, self.runs
        );
        header(&["other clients", "pre-load", "initial (median)", "min–max"]);
        for p in &g.points {
            println!(
                "| {} | {:.1} s | {:.3} s | {:.3}–{:.3} |",
                p.other_clients,
                p.conditions.preload_secs,
                p.initial.median,
                p.initial.min,
                p.initial.max
            );
        }
        println!(
            "largest ÷ smallest: {:.2} (target ≤ {}): {}",
            g.max_over_min,
            g.target,
            met(g.met)
        );
    }

    fn print_first_imports(&self) {
        println!(
            "\nFirst import into freshly created databases (run 1's initial sync) against the median:"
        );
        if self.runs < 2 {
            println!("(with --runs 1, run 1 is the median: the ratio is 1 by definition)");
        }
        header(&[
            "prospects",
            "other clients",
            "run 1",
            "median",
            "run 1 ÷ median",
            "target",
            "verdict",
        ]);
        for (prospects, other, f, _) in self.measurements() {
            println!(
                "| {prospects} | {other} | {:.3} s | {:.3} s | {:.2} | ≤ {} | {} |",
                f.secs,
                f.median,
                f.ratio,
                f.target,
                met(f.met)
            );
        }
    }

    fn print_queries(&self) {
        let Some(q) = &self.queries else {
            println!("\nSearch/List timings: skipped (nothing pre-loaded in crm_core).");
            return;
        };
        println!(
            "\nSearch/List on crm_core with {} clients of other organisations: organisation {} ({} clients), {} calls of each after {} warm-up calls:",
            q.other_clients, q.organisation, q.clients_in_organisation, q.calls, q.warm_up
        );
        header(&[
            "call",
            "p50",
            "p95",
            "max",
            "rows matched (median)",
            "target p95",
            "verdict",
        ]);
        for t in &q.timings {
            println!(
                "| {} | {:.1} ms | {:.1} ms | {:.1} ms | {} | {} | {} |",
                t.call,
                t.summary.p50_ms,
                t.summary.p95_ms,
                t.summary.max_ms,
                t.summary.median_hits,
                target(t.target_p95_ms, "ms"),
                verdict(t.met)
            );
        }
        for t in &q.timings {
            if t.by_term.is_empty() {
                continue;
            }
            let terms: Vec<String> = t
                .by_term
                .iter()
                .map(|b| {
                    format!(
                        "{} p50 {:.1} ms, max {:.1} ms ({} rows)",
                        b.term, b.summary.p50_ms, b.summary.max_ms, b.summary.median_hits
                    )
                })
                .collect();
            println!("{} by term: {}", t.call, terms.join("; "));
        }
    }

    fn print_rss(&self) {
        println!("\nPeak RSS (VmHWM):");
        header(&[
            "prospects",
            "other clients",
            "service",
            "peak RSS",
            "cap",
            "verdict",
        ]);
        for (prospects, other, _, conditions) in self.measurements() {
            for r in &conditions.rss {
                println!(
                    "| {prospects} | {other} | {} | {:.0} MB | {} | {} |",
                    r.service,
                    r.peak_mb,
                    target(r.cap_mb, "MB"),
                    verdict(r.met)
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(index: usize, prospects: usize, e2e: f64, floor: f64) -> Scenario {
        let e2e = stat(&[e2e]);
        Scenario::new(index, "s", prospects, e2e.clone(), e2e, floor, [0; 4])
    }

    #[test]
    fn a_verdict_weighs_the_absolute_target_and_the_ratio() {
        assert_eq!(scenario(0, 10_000, 0.9, 0.4).verdict, Verdict::Met);
        assert_eq!(
            scenario(0, 10_000, 1.1, 0.4).verdict,
            Verdict::MissedRatioMet
        );
        assert_eq!(
            scenario(0, 10_000, 0.9, 0.2).verdict,
            Verdict::MissedAbsoluteMet
        );
        assert_eq!(scenario(0, 10_000, 1.1, 0.2).verdict, Verdict::Missed);
        // Re-syncs: 0.25 s and 3 s, ratio 2.
        assert_eq!(
            scenario(1, 10_000, 0.3, 0.2).verdict,
            Verdict::MissedRatioMet
        );
        assert_eq!(scenario(2, 100_000, 3.1, 1.0).verdict, Verdict::Missed);
        // No absolute target at 2,000: the ratio alone.
        let s = scenario(0, 2000, 0.5, 0.1);
        assert_eq!((s.target_secs, s.verdict), (None, Verdict::RatioMissed));
        assert_eq!(scenario(0, 2000, 0.2, 0.1).verdict, Verdict::RatioMet);
        assert_eq!(Verdict::MissedRatioMet.to_string(), "missed (ratio met)");
    }

    #[test]
    fn first_import_growth_and_rss_against_their_targets() {
        let first = FirstImport::of(&[1.3, 1.0, 1.1]);
        assert!((first.ratio - 1.3 / 1.1).abs() < 1e-9 && first.met);
        assert!(!FirstImport::of(&[1.5, 1.0, 1.1]).met);
        let point = |other_clients, median| GrowthPoint {
            other_clients,
            initial: stat(&[median]),
            first_import: FirstImport::of(&[median]),
            conditions: Conditions {
                preload_secs: 0.0,
                load_average: [0.0; 2],
                rss: vec![],
            },
        };
        let growth = Growth::new(10_000, vec![point(0, 1.0), point(1_000_000, 1.3)]);
        assert!((growth.max_over_min - 1.3).abs() < 1e-9 && !growth.met);
        assert!(Growth::new(10_000, vec![point(0, 1.0), point(100_000, 1.2)]).met);
        let rss = Rss::checked(100_000, 201.0, 150.0);
        assert_eq!((rss[0].met, rss[1].met), (Some(false), Some(true)));
        assert_eq!(Rss::checked(200_000, 1.0, 1.0)[0].cap_mb, None);
    }
}

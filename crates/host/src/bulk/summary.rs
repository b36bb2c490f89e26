//! What a bulk run came to: counts per outcome and per provider, time and rate.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

use crate::model::{Outcome, RequestResult};
use crate::provider::FlowStatus;

/// Counts for one provider.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProviderCounts {
    /// Lines that succeeded.
    pub succeeded: u64,
    /// Lines that failed.
    pub failed: u64,
    /// Lines a dry run planned.
    pub planned: u64,
    /// Lines per outcome.
    pub outcomes: BTreeMap<Outcome, u64>,
    /// Throttled answers (429, 503 with `Retry-After`) its lines got.
    pub throttled: u64,
    /// What its flow controller said at the end: the rate it allowed.
    pub flow: Option<FlowStatus>,
}

/// The tally of a bulk run.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Lines finished in this run, per outcome.
    pub outcomes: BTreeMap<Outcome, u64>,
    /// Lines finished in this run, per provider (lines with no provider are
    /// counted under `-`).
    pub providers: BTreeMap<String, ProviderCounts>,
    /// Lines that succeeded.
    pub succeeded: u64,
    /// Lines that failed.
    pub failed: u64,
    /// Lines planned by a dry run.
    pub planned: u64,
    /// Lines settled by an earlier run with the same journal (not sent now).
    pub settled_earlier: u64,
    /// Of those, the ones that did not succeed.
    pub settled_earlier_failed: u64,
    /// How long the run took.
    pub elapsed: Duration,
    /// Whether the run was stopped before the end of its input.
    pub interrupted: bool,
}

impl Summary {
    /// Counts a finished line; `success` says whether it counts as success.
    pub fn record(&mut self, result: &RequestResult, success: bool) {
        *self.outcomes.entry(result.outcome).or_default() += 1;
        let name = if result.provider.is_empty() {
            "-"
        } else {
            result.provider.as_str()
        };
        let provider = self.providers.entry(name.to_owned()).or_default();
        *provider.outcomes.entry(result.outcome).or_default() += 1;
        provider.throttled += u64::from(result.throttled);
        if success {
            self.succeeded += 1;
            provider.succeeded += 1;
        } else {
            self.failed += 1;
            provider.failed += 1;
        }
    }

    /// Notes what each provider's flow controller says (see
    /// [`Host::flow_status`](crate::Host::flow_status)), for the providers this
    /// run sent lines to.
    pub fn record_flow(&mut self, status: impl IntoIterator<Item = (String, FlowStatus)>) {
        for (name, status) in status {
            if let Some(counts) = self.providers.get_mut(&name) {
                counts.flow = Some(status);
            }
        }
    }

    /// Counts a line a dry run planned.
    pub fn record_planned(&mut self, provider: &str) {
        self.planned += 1;
        self.providers
            .entry(provider.to_owned())
            .or_default()
            .planned += 1;
    }

    /// Whether every line of the input succeeded, those settled by earlier
    /// runs included.
    pub fn all_succeeded(&self) -> bool {
        self.failed == 0 && self.settled_earlier_failed == 0 && !self.interrupted
    }

    /// Lines handled in this run.
    pub fn handled(&self) -> u64 {
        self.succeeded + self.failed + self.planned
    }

    /// Lines handled per second.
    pub fn rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.handled() as f64 / secs
        } else {
            0.0
        }
    }

    /// The summary as a JSON object, under the key `summary`.
    pub fn to_json(&self) -> Value {
        let count_map = |outcomes: &BTreeMap<Outcome, u64>| -> Value {
            outcomes
                .iter()
                .map(|(kind, n)| (kind.as_str().to_owned(), Value::from(*n)))
                .collect::<serde_json::Map<_, _>>()
                .into()
        };
        let providers: serde_json::Map<String, Value> = self
            .providers
            .iter()
            .map(|(name, counts)| {
                (
                    name.clone(),
                    json!({
                        "succeeded": counts.succeeded,
                        "failed": counts.failed,
                        "planned": counts.planned,
                        "outcomes": count_map(&counts.outcomes),
                        "throttled": counts.throttled,
                        "rate": counts.flow.and_then(|flow| flow.rate).map(|rate| (rate * 100.0).round() / 100.0),
                    }),
                )
            })
            .collect();
        json!({"summary": {
            "lines": self.handled(),
            "succeeded": self.succeeded,
            "failed": self.failed,
            "planned": self.planned,
            "settled_earlier": self.settled_earlier,
            "settled_earlier_failed": self.settled_earlier_failed,
            "outcomes": count_map(&self.outcomes),
            "providers": providers,
            "elapsed_secs": (self.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
            "lines_per_sec": self.rate().round(),
            "interrupted": self.interrupted,
        }})
    }

    /// The summary for people, a few lines.
    pub fn to_human(&self) -> String {
        self.human(false)
    }

    /// The summary of a dry run for people, in dry-run words: `288 planned,
    /// 6 invalid (dry run, nothing sent)`, never "succeeded" or "failed" (a
    /// dry run that planned nothing, its every line invalid, included).
    pub fn to_human_dry_run(&self) -> String {
        self.human(true)
    }

    fn human(&self, dry_run: bool) -> String {
        let mut text = String::new();
        let verb = if self.interrupted {
            "stopped after"
        } else {
            "done:"
        };
        let _ = write!(
            text,
            "{verb} {} lines in {:.1}s ({:.0} lines/s)",
            self.handled(),
            self.elapsed.as_secs_f64(),
            self.rate()
        );
        if dry_run || self.planned > 0 {
            let _ = write!(
                text,
                "; {} planned, {} invalid (dry run, nothing sent)",
                self.planned, self.failed
            );
        } else if self.succeeded + self.failed > 0 {
            let _ = write!(
                text,
                "; {} succeeded, {} failed",
                self.succeeded, self.failed
            );
        }
        if self.settled_earlier > 0 {
            let _ = write!(
                text,
                "; {} settled by an earlier run ({} of them not succeeded)",
                self.settled_earlier, self.settled_earlier_failed
            );
        }
        text.push('\n');
        if !self.outcomes.is_empty() {
            let outcomes: Vec<String> = self
                .outcomes
                .iter()
                .map(|(kind, n)| format!("{kind} {n}"))
                .collect();
            let _ = writeln!(text, "  outcomes: {}", outcomes.join(", "));
        }
        for (name, counts) in &self.providers {
            let planned = (counts.planned > 0).then(|| format!("planned {}", counts.planned));
            let outcomes: Vec<String> = planned
                .into_iter()
                .chain(
                    counts
                        .outcomes
                        .iter()
                        .map(|(kind, n)| format!("{kind} {n}")),
                )
                .collect();
            let _ = write!(text, "  {name}: {}", outcomes.join(", "));
            if let Some(pace) = counts.pace() {
                let _ = write!(text, "; {pace}");
            }
            text.push('\n');
            if let Some(accepted) = counts.outcomes.get(&Outcome::Accepted) {
                let _ = writeln!(
                    text,
                    "  {name}: {accepted} accepted by {name}, which carries the revocation out \
                     later: its answer does not prove them dead yet"
                );
            }
        }
        text
    }
}

impl ProviderCounts {
    /// How the provider's pace was set, when something set it: `held at
    /// about 1.6/s by the provider, 12 throttled`.
    fn pace(&self) -> Option<String> {
        let rate = self.flow.and_then(|flow| flow.rate);
        let ceiling = self.flow.and_then(|flow| flow.ceiling);
        match rate {
            Some(rate) if self.throttled > 0 => Some(format!(
                "held at about {} by the provider, {} throttled",
                per_second(rate),
                self.throttled
            )),
            Some(rate) if ceiling.is_some_and(|ceiling| rate >= ceiling) => {
                Some(format!("kept to the ceiling of {}", per_second(rate)))
            }
            Some(rate) => Some(format!("paced at about {}", per_second(rate))),
            None if self.throttled > 0 => Some(format!("{} throttled", self.throttled)),
            None => None,
        }
    }
}

/// `1.6/s`, `48/s`.
fn per_second(rate: f64) -> String {
    if rate < 10.0 {
        format!("{rate:.1}/s")
    } else {
        format!("{rate:.0}/s")
    }
}

#[cfg(test)]
mod tests {
    use revoker_plugin_api::Params;

    use super::*;
    use crate::model::Request;

    fn result(provider: &str, outcome: Outcome) -> RequestResult {
        RequestResult::unsent(&Request::new(provider, "op", Params::new()), outcome, "")
    }

    #[test]
    fn counts_per_outcome_and_provider() {
        let mut summary = Summary::default();
        summary.record(&result("pinata", Outcome::Revoked), true);
        summary.record(&result("pinata", Outcome::NotFound), false);
        summary.record(&result("dolfin", Outcome::AlreadyRevoked), true);
        summary.record(&RequestResult::invalid_line("bad"), false);
        summary.elapsed = Duration::from_secs(2);
        assert_eq!((summary.succeeded, summary.failed), (2, 2));
        let json = summary.to_json();
        assert_eq!(json["summary"]["lines"], 4);
        assert_eq!(json["summary"]["lines_per_sec"], 2.0);
        assert_eq!(json["summary"]["outcomes"]["not-found"], 1);
        assert_eq!(json["summary"]["providers"]["pinata"]["failed"], 1);
        assert_eq!(
            json["summary"]["providers"]["-"]["outcomes"]["invalid-request"],
            1
        );
        let human = summary.to_human();
        assert!(
            human.starts_with("done: 4 lines in 2.0s (2 lines/s); 2 succeeded, 2 failed"),
            "{human}"
        );
        assert!(
            human.contains("  pinata: revoked 1, not-found 1\n"),
            "{human}"
        );
    }

    #[test]
    fn a_dry_run_is_said_in_dry_run_words_even_when_nothing_was_planned() {
        let mut summary = Summary::default();
        summary.record(&RequestResult::invalid_line("bad"), false);
        let human = summary.to_human_dry_run();
        assert!(
            human.starts_with(
                "done: 1 lines in 0.0s (0 lines/s); 0 planned, 1 invalid (dry run, nothing sent)"
            ),
            "{human}"
        );
        assert!(!human.contains("succeeded"), "{human}");
        summary.record_planned("dolfin");
        assert!(summary.to_human().contains("1 planned, 1 invalid"));
    }

    #[test]
    fn accepted_lines_are_said_to_be_taken_not_proven_dead() {
        let mut summary = Summary::default();
        summary.record(&result("tokenhub", Outcome::Accepted), true);
        summary.record(&result("tokenhub", Outcome::Accepted), true);
        assert!(summary.all_succeeded());
        let human = summary.to_human();
        assert!(
            human.contains(
                "  tokenhub: 2 accepted by tokenhub, which carries the revocation out later: \
                 its answer does not prove them dead yet\n"
            ),
            "{human}"
        );
    }

    #[test]
    fn says_what_rate_each_provider_allowed() {
        let mut summary = Summary::default();
        let mut throttled = result("pinata", Outcome::Revoked);
        throttled.throttled = 12;
        summary.record(&throttled, true);
        summary.record(&result("dolfin", Outcome::Revoked), true);
        summary.record(&result("langwatch", Outcome::Revoked), true);
        let flow = |rate: Option<f64>, ceiling: Option<f64>| FlowStatus {
            rate,
            ceiling,
            throttled: 0,
            held_for: None,
            in_flight: 0,
            sent_rate: None,
        };
        summary.record_flow([
            ("pinata".to_owned(), flow(Some(1.63), None)),
            ("dolfin".to_owned(), flow(Some(10.0), Some(10.0))),
            ("langwatch".to_owned(), flow(None, None)),
            ("github".to_owned(), flow(Some(5.0), None)),
        ]);
        let human = summary.to_human();
        assert!(
            human.contains(
                "  pinata: revoked 1; held at about 1.6/s by the provider, 12 throttled\n"
            ),
            "{human}"
        );
        assert!(
            human.contains("  dolfin: revoked 1; kept to the ceiling of 10/s\n"),
            "{human}"
        );
        assert!(human.contains("  langwatch: revoked 1\n"), "{human}");
        assert!(
            !human.contains("github"),
            "only providers the run sent to: {human}"
        );
        let json = summary.to_json();
        assert_eq!(json["summary"]["providers"]["pinata"]["throttled"], 12);
        assert_eq!(json["summary"]["providers"]["pinata"]["rate"], 1.63);
        assert_eq!(
            json["summary"]["providers"]["langwatch"]["rate"],
            Value::Null
        );
    }
}

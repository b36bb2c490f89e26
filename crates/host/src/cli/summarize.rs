//! `revoker summarize REPORT.jsonl --format markdown|html`: a bulk run's
//! report turned into what an incident ticket or a manager reads: the
//! verdict, counts by outcome and provider, the time span, the failures with
//! their reasons and what to do next, the created keys' ids, and for a
//! `bulk --findings` run each finding side by side with its fate.
//!
//! Everything taken from the report is data: escaped with
//! [`markdown_escape`] or `html_escape(terminal_safe(…))` where it is
//! written. A created key's value is never read into the summary: of a
//! `created` object only the fields named as ids are kept (see [`is_id_field`]),
//! since a report holds the value itself and no mark of which field it is.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{self, BufRead, Read as _};
use std::path::Path;
use std::time::SystemTime;

use clap::{Arg, ArgMatches, Command};
use revoker_host::Outcome;
use revoker_host::text::{html_escape, markdown_escape, terminal_safe};
use serde::Serialize;
use serde_json::{Map, Value};

use super::output::OutputFormat;
use super::{Exit, Fatal};

/// How many failures and created keys are listed; the rest are counted.
const LIST_CAP: usize = 1000;
/// A report line longer than this is unreadable (skipped, never held).
const MAX_LINE_BYTES: usize = 1 << 20;
/// A detail longer than this many characters is cut, with `…`.
const MAX_DETAIL_CHARS: usize = 500;
/// A name (provider, operation, parameter) longer than this is cut.
const MAX_NAME_CHARS: usize = 100;
/// Distinct providers and unrecognised outcomes counted by name; the rest
/// are counted under [`OTHER`].
const MAX_DISTINCT: usize = 64;
const OTHER: &str = "(other)";
/// The provider column of lines that were not requests.
const NO_PROVIDER: &str = "(none)";
/// The outcome of a dry run's planned line (a report line with no outcome
/// and `"dry_run": true`).
const PLANNED: &str = "planned";

/// The `summarize` subcommand's arguments.
pub(crate) fn command() -> Command {
    Command::new("summarize")
        .about("Summarize a bulk run's report (--report FILE) for an incident ticket: Markdown or HTML")
        .long_about(
            "Summarize a bulk run's report for an incident ticket: the verdict, counts by outcome \
             and provider, the time span, each failure with its reason and what to do next, and \
             the created keys' ids (never their values); for a `bulk --findings` run, each \
             finding of the scanner's report with its fate and what to do next. Markdown \
             renders as tables on GitHub and GitLab; HTML is one self-contained file (no \
             scripts, no external assets).",
        )
        .arg(
            Arg::new("report")
                .required(true)
                .value_name("REPORT")
                .help("The JSONL report a bulk run wrote (--report FILE), or - for stdin"),
        )
        .arg(
            Arg::new("format")
                .long("format")
                .value_name("FORMAT")
                .value_parser(["markdown", "html"])
                .default_value("markdown")
                .help("Markdown (a ticket, an issue) or HTML (one self-contained file); --output json gives the summary as JSON"),
        )
}

/// Runs `revoker summarize`.
pub(crate) fn run(matches: &ArgMatches, format: OutputFormat) -> Result<Exit, Fatal> {
    let path = matches.get_one::<String>("report").expect("required");
    let read_error = |e: io::Error| {
        Fatal::usage(format!(
            "cannot read the report {}: {e}",
            terminal_safe(path)
        ))
    };
    let mut summary = if path == "-" {
        ReportSummary::read(io::stdin().lock()).map_err(read_error)?
    } else {
        let file = std::fs::File::open(path).map_err(read_error)?;
        let mut summary = ReportSummary::read(io::BufReader::new(&file)).map_err(read_error)?;
        if summary.time_span.is_none() {
            summary.time_span = file_times(&file);
        }
        summary
    };
    summary.report = Some(
        Path::new(path)
            .file_name()
            .map_or_else(|| path.clone(), |name| name.to_string_lossy().into_owned()),
    );
    let text = match (
        format,
        matches.get_one::<String>("format").map(String::as_str),
    ) {
        (OutputFormat::Json, _) => super::output::json_line(&summary),
        (_, Some("html")) => summary.to_html(),
        _ => summary.to_markdown(),
    };
    super::print(&text);
    Ok(Exit::Success)
}

/// One failed line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Failure {
    line: Option<u64>,
    provider: Option<String>,
    operation: Option<String>,
    /// The request's parameters, as the report recorded them (a secret
    /// parameter is recorded redacted).
    params: Vec<(String, String)>,
    outcome: String,
    status: Option<u64>,
    request_id: Option<String>,
    attempts: Option<u64>,
    detail: Option<String>,
}

/// One created key, without its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct CreatedKey {
    line: Option<u64>,
    provider: Option<String>,
    /// Its id fields only (see [`is_id_field`]).
    ids: Vec<(String, String)>,
}

/// A finding of a scanner's report and its fate, as the report of a
/// `bulk --findings` run ends with (one record per distinct secret, by its
/// fingerprint: never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct FindingFate {
    finding: String,
    provider: Option<String>,
    /// `revoked`, `accepted`, `failed`, `not-sent`, `needs-id`, …
    fate: String,
    /// A failed call's outcome.
    outcome: Option<String>,
    /// Where it was found, as text (at most [`FINDING_LOCATIONS`]).
    locations: Vec<String>,
    locations_total: u64,
    /// What to do next, in revoker's words when it wrote the report.
    next: Option<String>,
}

/// How many locations of a finding are listed.
const FINDING_LOCATIONS: usize = 10;

/// The fates a finding is done with: revoked, or accepted by a provider
/// that revokes later.
fn is_done_fate(fate: &str) -> bool {
    matches!(fate, "revoked" | "accepted")
}

/// A location of a finding record as text: `file:line commit … in repo <url>
/// [reference] (report line 3)`, each part cut to a bounded length.
fn location_text(location: &Value) -> Option<String> {
    let field = |name: &str| {
        location
            .get(name)
            .and_then(scalar)
            .filter(|s| !s.is_empty())
            .map(|s| cut(&s, MAX_NAME_CHARS * 2))
    };
    let mut parts = Vec::new();
    match (field("file"), field("line")) {
        (Some(file), Some(line)) => parts.push(format!("{file}:{line}")),
        (Some(file), None) => parts.push(file),
        (None, Some(line)) => parts.push(format!("line {line}")),
        (None, None) => {}
    }
    if let Some(commit) = field("commit") {
        parts.push(format!("commit {commit}"));
    }
    if let Some(repository) = field("repository") {
        parts.push(format!("in {repository}"));
    }
    if let Some(url) = field("url") {
        parts.push(format!("<{url}>"));
    }
    if let Some(reference) = field("reference") {
        parts.push(format!("[{reference}]"));
    }
    if let Some(at) = field("at") {
        parts.push(format!("(report {at})"));
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// When the run happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct TimeSpan {
    first: String,
    last: String,
    millis: i64,
    /// Where the times come from: the report's lines, or the file's times.
    source: &'static str,
}

/// A bulk run's report, summarized. Holds no created key's value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
struct ReportSummary {
    /// The report's file name, for the title.
    report: Option<String>,
    /// Readable lines (one per input line).
    lines: u64,
    succeeded: u64,
    failed: u64,
    planned: u64,
    /// `counts[outcome][provider]`.
    counts: BTreeMap<String, BTreeMap<String, u64>>,
    failures: Vec<Failure>,
    /// The findings of a `bulk --findings` run, with their fates.
    findings: Vec<FindingFate>,
    findings_total: u64,
    /// Of those, the ones neither revoked nor accepted.
    findings_not_done: u64,
    created: Vec<CreatedKey>,
    created_total: u64,
    /// Report lines that could not be read: (report line, why).
    unreadable: Vec<(u64, String)>,
    unreadable_total: u64,
    time_span: Option<TimeSpan>,
    throttled: u64,
    /// Input lines below the highest one in the report that it does not
    /// hold: a run stopped before it finished them (a report holds the
    /// lines a run finished).
    missing: u64,
    #[serde(skip)]
    numbered: u64,
    #[serde(skip)]
    highest: u64,
    #[serde(skip)]
    span_millis: Option<((i64, String), (i64, String))>,
    #[serde(skip)]
    other_outcomes: BTreeSet<String>,
    #[serde(skip)]
    providers_seen: BTreeSet<String>,
}

fn cut(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// `s` with its first letter in lower case (revoker's own words only).
fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn is_success(outcome: &str) -> bool {
    outcome.parse::<Outcome>().is_ok_and(Outcome::is_success)
}

/// Whether a created key's field is an id, and so shown: its name, lower
/// case without `-` and `_`, is `id` or ends in `id`, and says nothing of a
/// secret. Anything else (`value`, `key`, `token`, `secret`, `SecretAccessKey`,
/// …) is left out: a report does not mark which field is the secret, so
/// only what is known to be an id is kept.
fn is_id_field(name: &str) -> bool {
    let flat: String = name
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .collect::<String>()
        .to_ascii_lowercase();
    flat.ends_with("id")
        && !["secret", "password", "token", "value"]
            .iter()
            .any(|w| flat.contains(w))
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A created object's id fields, leaving out any whose value is also the
/// value of a field that is not an id (a provider whose "id" is the key).
fn created_ids(created: &Map<String, Value>) -> Vec<(String, String)> {
    let others: Vec<String> = created
        .iter()
        .filter(|(name, _)| !is_id_field(name))
        .filter_map(|(_, v)| scalar(v))
        .collect();
    created
        .iter()
        .filter(|(name, _)| is_id_field(name))
        .filter_map(|(name, v)| {
            let value = scalar(v)?;
            (!value.is_empty() && !others.contains(&value))
                .then(|| (cut(name, MAX_NAME_CHARS), cut(&value, MAX_NAME_CHARS)))
        })
        .collect()
}

impl ReportSummary {
    /// Reads a JSONL report, a line at a time (each at most
    /// [`MAX_LINE_BYTES`]); only the lists are held, capped at [`LIST_CAP`].
    /// A line that is not a JSON object with an outcome (or a dry run's
    /// planned request) is counted as unreadable, with why.
    fn read(mut reader: impl BufRead) -> io::Result<Self> {
        let mut summary = Self::default();
        let mut buf = Vec::new();
        let mut report_line = 0u64;
        loop {
            buf.clear();
            let n = reader
                .by_ref()
                .take(MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut buf)?;
            if n == 0 {
                break;
            }
            report_line += 1;
            if buf.last() != Some(&b'\n') && buf.len() > MAX_LINE_BYTES {
                skip_line(&mut reader)?;
                summary.unreadable(report_line, format!("longer than {MAX_LINE_BYTES} bytes"));
                continue;
            }
            let Ok(line) = std::str::from_utf8(&buf) else {
                summary.unreadable(report_line, "not UTF-8".to_owned());
                continue;
            };
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            match serde_json::from_str::<Value>(line) {
                Ok(Value::Object(object)) => summary.record(report_line, &object),
                Ok(_) => summary.unreadable(report_line, "not a JSON object".to_owned()),
                Err(e) => summary.unreadable(report_line, format!("not JSON: {e}")),
            }
        }
        summary.missing = summary.highest.saturating_sub(summary.numbered);
        summary.time_span = summary
            .span_millis
            .take()
            .map(|((a, first), (b, last))| TimeSpan {
                first,
                last,
                millis: b - a,
                source: "the report's lines",
            });
        Ok(summary)
    }

    fn unreadable(&mut self, report_line: u64, why: String) {
        self.unreadable_total += 1;
        if self.unreadable.len() < LIST_CAP {
            self.unreadable.push((report_line, why));
        }
    }

    fn record(&mut self, report_line: u64, object: &Map<String, Value>) {
        let str_field = |name: &str| {
            object
                .get(name)
                .and_then(Value::as_str)
                .map(|s| cut(s, MAX_NAME_CHARS))
        };
        let u64_field = |name: &str| object.get(name).and_then(Value::as_u64);
        if let Some(finding) = object.get("finding").and_then(Value::as_str) {
            let fate = str_field("fate").unwrap_or_else(|| "unknown".to_owned());
            self.findings_total += 1;
            if !is_done_fate(&fate) {
                self.findings_not_done += 1;
            }
            if self.findings.len() < LIST_CAP {
                let locations = match object.get("locations") {
                    Some(Value::Array(all)) => all
                        .iter()
                        .take(FINDING_LOCATIONS)
                        .filter_map(location_text)
                        .collect(),
                    _ => Vec::new(),
                };
                self.findings.push(FindingFate {
                    finding: cut(finding, MAX_NAME_CHARS),
                    provider: str_field("provider"),
                    fate,
                    outcome: str_field("outcome"),
                    locations,
                    locations_total: u64_field("locations_total").unwrap_or(0),
                    next: object
                        .get("next")
                        .and_then(Value::as_str)
                        .map(|s| cut(s, MAX_DETAIL_CHARS)),
                });
            }
            return;
        }
        let outcome = match object.get("outcome").and_then(Value::as_str) {
            Some(outcome) => cut(outcome, MAX_NAME_CHARS),
            None if object.get("dry_run") == Some(&Value::Bool(true)) => PLANNED.to_owned(),
            // The last line of `bulk --output json`: the run's own tally, not
            // an input line.
            None if object.len() == 1 && object.contains_key("summary") => return,
            None => {
                self.unreadable(report_line, "no \"outcome\"".to_owned());
                return;
            }
        };
        self.lines += 1;
        let provider = str_field("provider");
        let line = u64_field("line");
        if let Some(line) = line {
            self.numbered += 1;
            self.highest = self.highest.max(line);
        }

        // Counts, by a bounded number of names.
        let known = outcome == PLANNED || outcome.parse::<Outcome>().is_ok();
        let outcome_key = if known || self.other_outcomes.contains(&outcome) {
            outcome.clone()
        } else if self.other_outcomes.len() < MAX_DISTINCT {
            self.other_outcomes.insert(outcome.clone());
            outcome.clone()
        } else {
            OTHER.to_owned()
        };
        let provider_key = match &provider {
            None => NO_PROVIDER.to_owned(),
            Some(p) if self.providers_seen.contains(p) => p.clone(),
            Some(p) if self.providers_seen.len() < MAX_DISTINCT => {
                self.providers_seen.insert(p.clone());
                p.clone()
            }
            Some(_) => OTHER.to_owned(),
        };
        *self
            .counts
            .entry(outcome_key)
            .or_default()
            .entry(provider_key)
            .or_default() += 1;
        self.throttled = self
            .throttled
            .saturating_add(u64_field("throttled").unwrap_or(0));
        for name in ["started_at", "finished_at"] {
            if let Some(at) = object.get(name).and_then(Value::as_str)
                && let Some(ms) = parse_rfc3339(at)
            {
                let at = cut(at, 40);
                match &mut self.span_millis {
                    None => self.span_millis = Some(((ms, at.clone()), (ms, at))),
                    Some((first, last)) => {
                        if ms < first.0 {
                            *first = (ms, at);
                        } else if ms > last.0 {
                            *last = (ms, at);
                        }
                    }
                }
            }
        }

        if outcome == PLANNED {
            self.planned += 1;
        } else if is_success(&outcome) {
            self.succeeded += 1;
        } else {
            // Whatever is not known to be a success is a failure, an outcome
            // this revoker does not know included.
            self.failed += 1;
            if self.failures.len() < LIST_CAP {
                let params = match object.get("params") {
                    Some(Value::Object(params)) => params
                        .iter()
                        .filter_map(|(k, v)| {
                            Some((cut(k, MAX_NAME_CHARS), cut(&scalar(v)?, MAX_NAME_CHARS)))
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                let detail = match object.get("detail") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => Some(cut(s, MAX_DETAIL_CHARS)),
                    Some(other) => Some(cut(&other.to_string(), MAX_DETAIL_CHARS)),
                };
                self.failures.push(Failure {
                    line,
                    provider: provider.clone(),
                    operation: str_field("operation"),
                    params,
                    outcome: outcome.clone(),
                    status: u64_field("status"),
                    request_id: str_field("request_id"),
                    attempts: u64_field("attempts"),
                    detail,
                });
            }
        }
        if let Some(Value::Object(created)) = object.get("created") {
            self.created_total += 1;
            if self.created.len() < LIST_CAP {
                self.created.push(CreatedKey {
                    line,
                    provider,
                    ids: created_ids(created),
                });
            }
        }
    }

    fn dry_run(&self) -> bool {
        self.planned > 0 && self.succeeded == 0
    }

    /// `All 294 lines succeeded`, `12 of 294 lines NOT done`, or a dry
    /// run's `Dry run: 288 planned, 6 invalid; nothing was sent`.
    fn verdict(&self) -> String {
        let mut verdict = if self.lines == 0 {
            "The report has no readable lines".to_owned()
        } else if self.dry_run() {
            format!(
                "Dry run: {} planned, {} invalid; nothing was sent",
                self.planned, self.failed
            )
        } else if self.failed == 0 {
            format!("All {} lines of the report succeeded", self.lines)
        } else {
            format!(
                "{} of {} lines NOT done ({} succeeded)",
                self.failed, self.lines, self.succeeded
            )
        };
        if self.findings_total > 0 {
            let findings = if self.findings_not_done == 0 {
                format!(
                    "All {} findings of the scanner's report revoked",
                    self.findings_total
                )
            } else {
                format!(
                    "{} of {} findings of the scanner's report NOT revoked",
                    self.findings_not_done, self.findings_total
                )
            };
            verdict = format!("{findings}; {}", lower_first(&verdict));
        }
        if self.missing > 0 {
            let _ = write!(
                verdict,
                ", and {} input lines below line {} are not in the report (not finished)",
                self.missing, self.highest
            );
        }
        if self.unreadable_total > 0 {
            let _ = write!(
                verdict,
                ", and {} report line{} could not be read",
                self.unreadable_total,
                if self.unreadable_total == 1 { "" } else { "s" }
            );
        }
        verdict
    }

    fn good(&self) -> bool {
        self.findings_not_done == 0
            && self.lines > 0
            && self.failed == 0
            && self.unreadable_total == 0
            && self.missing == 0
            && !self.dry_run()
    }

    /// Providers in column order: by name, then the ones without a name.
    fn providers(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .counts
            .values()
            .flat_map(|by| by.keys().cloned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        all.sort_by_key(|p| (p == NO_PROVIDER || p == OTHER, p == OTHER, p.clone()));
        all
    }

    /// Outcomes in row order: the vocabulary's, then planned, then others.
    fn outcomes(&self) -> Vec<String> {
        let mut rows: Vec<String> = Outcome::ALL
            .iter()
            .map(|o| o.as_str().to_owned())
            .chain([PLANNED.to_owned()])
            .filter(|o| self.counts.contains_key(o))
            .collect();
        rows.extend(
            self.counts
                .keys()
                .filter(|o| !rows.contains(o))
                .cloned()
                .collect::<Vec<_>>(),
        );
        rows
    }

    fn count(&self, outcome: &str, provider: &str) -> u64 {
        self.counts
            .get(outcome)
            .and_then(|by| by.get(provider))
            .copied()
            .unwrap_or(0)
    }

    fn outcome_total(&self, outcome: &str) -> u64 {
        self.counts.get(outcome).map_or(0, |by| by.values().sum())
    }

    fn provider_total(&self, provider: &str) -> u64 {
        self.counts.values().filter_map(|by| by.get(provider)).sum()
    }

    /// The failed outcomes, each with its count and listed line numbers.
    fn failure_classes(&self) -> Vec<(String, u64, Vec<u64>)> {
        self.outcomes()
            .into_iter()
            .filter(|o| o != PLANNED && !is_success(o))
            .map(|o| {
                let lines = self
                    .failures
                    .iter()
                    .filter(|f| f.outcome == o)
                    .filter_map(|f| f.line)
                    .collect();
                let total = self.outcome_total(&o);
                (o, total, lines)
            })
            .collect()
    }

    /// Facts of numbers and times only: nothing else from the report.
    fn facts(&self) -> Vec<String> {
        let mut facts = vec![format!(
            "Lines: {} ({} succeeded, {} failed{})",
            self.lines,
            self.succeeded,
            self.failed,
            if self.planned > 0 {
                format!(", {} planned by a dry run", self.planned)
            } else {
                String::new()
            }
        )];
        if let Some(span) = &self.time_span {
            facts.push(format!(
                "Time span: {} to {} ({}; from {})",
                span.first,
                span.last,
                human_duration(span.millis),
                span.source
            ));
        }
        if self.throttled > 0 {
            facts.push(format!(
                "Throttled answers (the provider's rate limit, waited out): {}",
                self.throttled
            ));
        }
        if self.created_total > 0 {
            facts.push(format!("Keys created: {}", self.created_total));
        }
        facts
    }

    fn title(&self) -> String {
        match &self.report {
            Some(name) => format!("Revoker run summary: {name}"),
            None => "Revoker run summary".to_owned(),
        }
    }

    /// GitHub-flavoured Markdown: every string from the report through
    /// [`markdown_escape`].
    fn to_markdown(&self) -> String {
        let md = |s: &str| markdown_escape(s);
        let opt = |s: &Option<String>| s.as_deref().map(markdown_escape).unwrap_or_default();
        let num = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
        // The verdict, the facts and the advice are revoker's own words and
        // numbers (and times that parsed as RFC 3339): only names from the
        // report are escaped.
        let mut out = match &self.report {
            Some(name) => format!("# Revoker run summary: {}\n\n", md(name)),
            None => "# Revoker run summary\n\n".to_owned(),
        };
        let _ = writeln!(out, "**{}.**\n", self.verdict());
        for fact in self.facts() {
            let _ = writeln!(out, "- {fact}");
        }
        out.push('\n');

        if !self.findings.is_empty() {
            out.push_str(
                "## Findings\n\nEach secret the scanner found, named by its fingerprint (never \
                 the secret), with its fate and what to do next.\n\n\
                 | Finding | Provider | Fate | Found at | What to do next |\n\
                 | --- | --- | --- | --- | --- |\n",
            );
            for f in &self.findings {
                let mut at: Vec<String> = f.locations.iter().map(|l| md(l)).collect();
                let more = f.locations_total.saturating_sub(f.locations.len() as u64);
                if more > 0 {
                    at.push(format!("… and {more} more"));
                }
                let fate = match &f.outcome {
                    Some(outcome) => format!("{} ({})", md(&f.fate), md(outcome)),
                    None => md(&f.fate),
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {fate} | {} | {} |",
                    md(&f.finding),
                    opt(&f.provider),
                    at.join("; "),
                    opt(&f.next),
                );
            }
            let rest = self.findings_total - self.findings.len() as u64;
            if rest > 0 {
                let _ = writeln!(out, "\n…and {rest} more findings: see the report.");
            }
            out.push('\n');
        }

        let providers = self.providers();
        if !providers.is_empty() {
            out.push_str("## Counts by outcome and provider\n\n| Outcome |");
            for p in &providers {
                let _ = write!(out, " {} |", md(p));
            }
            out.push_str(" Total |\n| --- |");
            for _ in 0..=providers.len() {
                out.push_str(" ---: |");
            }
            out.push('\n');
            for o in self.outcomes() {
                let _ = write!(out, "| {} |", md(&o));
                for p in &providers {
                    let _ = write!(out, " {} |", self.count(&o, p));
                }
                let _ = writeln!(out, " {} |", self.outcome_total(&o));
            }
            out.push_str("| **Total** |");
            for p in &providers {
                let _ = write!(out, " **{}** |", self.provider_total(p));
            }
            let _ = writeln!(out, " **{}** |\n", self.lines);
        }

        if !self.failures.is_empty() {
            out.push_str("## Failures\n\n");
            out.push_str(
                "| Line | Provider | Operation | Parameters | Outcome | HTTP | Attempts | Request id | Reason |\n",
            );
            out.push_str("| ---: | --- | --- | --- | --- | ---: | ---: | --- | --- |\n");
            for f in &self.failures {
                let params: Vec<String> = f
                    .params
                    .iter()
                    .map(|(k, v)| format!("{}={}", md(k), md(v)))
                    .collect();
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    num(f.line),
                    opt(&f.provider),
                    opt(&f.operation),
                    params.join(" "),
                    md(&f.outcome),
                    num(f.status),
                    num(f.attempts),
                    opt(&f.request_id),
                    opt(&f.detail),
                );
            }
            let rest = self.failed - self.failures.len() as u64;
            if rest > 0 {
                let _ = writeln!(out, "\n…and {rest} more failures: see the report.");
            }
            out.push('\n');
        }

        if self.created_total > 0 {
            out.push_str(
                "## Created keys\n\nIds only: a key's value is never part of this summary.\n\n",
            );
            out.push_str("| Line | Provider | Ids |\n| ---: | --- | --- |\n");
            for c in &self.created {
                let ids: Vec<String> = c
                    .ids
                    .iter()
                    .map(|(k, v)| format!("{}={}", md(k), md(v)))
                    .collect();
                let _ = writeln!(
                    out,
                    "| {} | {} | {} |",
                    num(c.line),
                    opt(&c.provider),
                    ids.join(" ")
                );
            }
            let rest = self.created_total - self.created.len() as u64;
            if rest > 0 {
                let _ = writeln!(out, "\n…and {rest} more created keys.");
            }
            out.push('\n');
        }

        if self.unreadable_total > 0 {
            out.push_str(
                "## Report lines that could not be read\n\n| Report line | Why |\n| ---: | --- |\n",
            );
            for (line, why) in &self.unreadable {
                let _ = writeln!(out, "| {line} | {} |", md(why));
            }
            out.push('\n');
        }

        let next = self.next_steps();
        if !next.is_empty() {
            out.push_str("## What to do next\n\n");
            for (outcome, text) in next {
                match outcome {
                    Some(o) => {
                        let _ = writeln!(out, "- **{}**{text}", md(&o));
                    }
                    None => {
                        let _ = writeln!(out, "- {text}");
                    }
                }
            }
        }
        out
    }

    /// What to do next: per failed outcome (its name, then the count, the
    /// lines and the advice), and for unreadable report lines.
    fn next_steps(&self) -> Vec<(Option<String>, String)> {
        let mut steps: Vec<(Option<String>, String)> = self
            .failure_classes()
            .into_iter()
            .map(|(o, n, lines)| {
                let text = format!(" ({n}{}): {}", line_list(&lines), advice(&o));
                (Some(o), text)
            })
            .collect();
        if self.findings_not_done > 0 {
            steps.push((
                None,
                format!(
                    "{} findings of the scanner's report are not revoked: the Findings table says \
                     what to do about each (a secret revoked by hand is not in this report).",
                    self.findings_not_done
                ),
            ));
        }
        if self.missing > 0 {
            steps.push((
                None,
                "Some input lines are not in the report: the run stopped before it finished them \
                 (Ctrl-C, a kill, a fatal error). Re-run the same command with the same --journal \
                 to finish the job; a report holds only the lines a run finished, so lines after \
                 the last one here may be missing too."
                    .to_owned(),
            ));
        }
        if self.unreadable_total > 0 {
            steps.push((
                None,
                "Report lines that could not be read are not counted above: the report may be \
                 cut off or edited; a re-run with the same --journal rewrites it."
                    .to_owned(),
            ));
        }
        if self.dry_run() {
            steps.push((
                None,
                "This was a dry run: nothing was sent. Run the same command without --dry-run \
                 (with --journal FILE) to revoke."
                    .to_owned(),
            ));
        }
        steps
    }

    /// One self-contained HTML5 file: inline `<style>`, no script, no
    /// external asset, and a Content-Security-Policy that allows neither.
    fn to_html(&self) -> String {
        let h = |s: &str| html_escape(&terminal_safe(s)).into_owned();
        let opt = |s: &Option<String>| s.as_deref().map(h).unwrap_or_default();
        let num = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
        let badge = |o: &str| format!("<span class=\"badge {}\">{}</span>", badge_class(o), h(o));
        let mut out = String::from(concat!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
        ));
        let _ = writeln!(out, "<title>{}</title>", h(&self.title()));
        out.push_str(concat!(
            "<style>\n",
            "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:80rem;padding:0 1rem;color:#1f2328;line-height:1.5}\n",
            "h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d0d7de}\n",
            "table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #d0d7de;padding:.25rem .6rem;text-align:left;vertical-align:top}\n",
            "th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}td.reason{max-width:30rem;overflow-wrap:anywhere}\n",
            ".verdict{font-size:1.2rem;font-weight:600;padding:.6rem 1rem;border-radius:6px}\n",
            ".good{background:#dafbe1;color:#116329}.bad{background:#ffebe9;color:#a40e26}\n",
            ".badge{display:inline-block;padding:0 .5rem;border-radius:1rem;font-size:.85rem;font-weight:600;white-space:nowrap}\n",
            ".ok{background:#dafbe1;color:#116329}.fail{background:#ffebe9;color:#a40e26}.retry{background:#fff8c5;color:#7d4e00}.other{background:#eaeef2;color:#424a53}\n",
            "code{font-family:ui-monospace,monospace}\n",
            "</style>\n</head>\n<body>\n",
        ));
        let _ = writeln!(out, "<h1>{}</h1>", h(&self.title()));
        let _ = writeln!(
            out,
            "<p class=\"verdict {}\">{}.</p>\n<ul class=\"facts\">",
            if self.good() { "good" } else { "bad" },
            h(&self.verdict())
        );
        for fact in self.facts() {
            let _ = writeln!(out, "<li>{}</li>", h(&fact));
        }
        out.push_str("</ul>\n");

        if !self.findings.is_empty() {
            out.push_str(concat!(
                "<h2>Findings</h2>\n<p>Each secret the scanner found, named by its fingerprint ",
                "(never the secret), with its fate and what to do next.</p>\n",
                "<table id=\"findings\">\n<thead><tr><th>Finding</th><th>Provider</th><th>Fate</th>",
                "<th>Found at</th><th>What to do next</th></tr></thead>\n<tbody>\n"
            ));
            for f in &self.findings {
                let mut at: Vec<String> = f.locations.iter().map(|l| h(l)).collect();
                let more = f.locations_total.saturating_sub(f.locations.len() as u64);
                if more > 0 {
                    at.push(format!("… and {more} more"));
                }
                let fate = format!(
                    "<span class=\"badge {}\">{}</span>",
                    fate_class(&f.fate),
                    h(&f.fate)
                );
                let fate = match &f.outcome {
                    Some(outcome) => format!("{fate} ({})", h(outcome)),
                    None => fate,
                };
                let _ = writeln!(
                    out,
                    "<tr><td><code>{}</code></td><td>{}</td><td>{fate}</td><td>{}</td><td class=\"reason\">{}</td></tr>",
                    h(&f.finding),
                    opt(&f.provider),
                    at.join("<br>"),
                    opt(&f.next),
                );
            }
            out.push_str("</tbody>\n</table>\n");
        }

        let providers = self.providers();
        if !providers.is_empty() {
            out.push_str("<h2>Counts by outcome and provider</h2>\n<table id=\"counts\">\n<thead><tr><th>Outcome</th>");
            for p in &providers {
                let _ = write!(out, "<th>{}</th>", h(p));
            }
            out.push_str("<th>Total</th></tr></thead>\n<tbody>\n");
            for o in self.outcomes() {
                let _ = write!(out, "<tr><td>{}</td>", badge(&o));
                for p in &providers {
                    let _ = write!(out, "<td class=\"n\">{}</td>", self.count(&o, p));
                }
                let _ = writeln!(out, "<td class=\"n\">{}</td></tr>", self.outcome_total(&o));
            }
            out.push_str("<tr><th>Total</th>");
            for p in &providers {
                let _ = write!(out, "<th class=\"n\">{}</th>", self.provider_total(p));
            }
            let _ = writeln!(
                out,
                "<th class=\"n\">{}</th></tr>\n</tbody>\n</table>",
                self.lines
            );
        }

        if !self.failures.is_empty() {
            out.push_str(concat!(
                "<h2>Failures</h2>\n<table id=\"failures\">\n<thead><tr><th>Line</th><th>Provider</th>",
                "<th>Operation</th><th>Parameters</th><th>Outcome</th><th>HTTP</th><th>Attempts</th>",
                "<th>Request id</th><th>Reason</th></tr></thead>\n<tbody>\n"
            ));
            for f in &self.failures {
                let params: Vec<String> = f
                    .params
                    .iter()
                    .map(|(k, v)| format!("{}=<code>{}</code>", h(k), h(v)))
                    .collect();
                let _ = writeln!(
                    out,
                    "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td><code>{}</code></td><td class=\"reason\">{}</td></tr>",
                    num(f.line),
                    opt(&f.provider),
                    opt(&f.operation),
                    params.join(" "),
                    badge(&f.outcome),
                    num(f.status),
                    num(f.attempts),
                    opt(&f.request_id),
                    opt(&f.detail),
                );
            }
            out.push_str("</tbody>\n</table>\n");
            let rest = self.failed - self.failures.len() as u64;
            if rest > 0 {
                let _ = writeln!(out, "<p>…and {rest} more failures: see the report.</p>");
            }
        }

        if self.created_total > 0 {
            out.push_str("<h2>Created keys</h2>\n<p>Ids only: a key's value is never part of this summary.</p>\n");
            out.push_str("<table id=\"created\">\n<thead><tr><th>Line</th><th>Provider</th><th>Ids</th></tr></thead>\n<tbody>\n");
            for c in &self.created {
                let ids: Vec<String> = c
                    .ids
                    .iter()
                    .map(|(k, v)| format!("{}=<code>{}</code>", h(k), h(v)))
                    .collect();
                let _ = writeln!(
                    out,
                    "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
                    num(c.line),
                    opt(&c.provider),
                    ids.join(" ")
                );
            }
            out.push_str("</tbody>\n</table>\n");
        }

        if self.unreadable_total > 0 {
            out.push_str("<h2>Report lines that could not be read</h2>\n<table id=\"unreadable\">\n<thead><tr><th>Report line</th><th>Why</th></tr></thead>\n<tbody>\n");
            for (line, why) in &self.unreadable {
                let _ = writeln!(
                    out,
                    "<tr><td class=\"n\">{line}</td><td>{}</td></tr>",
                    h(why)
                );
            }
            out.push_str("</tbody>\n</table>\n");
        }

        let next = self.next_steps();
        if !next.is_empty() {
            out.push_str("<h2>What to do next</h2>\n<ul id=\"next\">\n");
            for (outcome, text) in next {
                match outcome {
                    Some(o) => {
                        let _ = writeln!(out, "<li>{}{}</li>", badge(&o), h(&text));
                    }
                    None => {
                        let _ = writeln!(out, "<li>{}</li>", h(&text));
                    }
                }
            }
            out.push_str("</ul>\n");
        }
        out.push_str("</body>\n</html>\n");
        out
    }
}

/// What to do about the lines of one failed outcome.
pub(crate) fn advice(outcome: &str) -> &'static str {
    match outcome {
        "rate-limited" | "transport-error" | "provider-error" => {
            "re-run the same command with the same --journal: the lines that succeeded are \
             skipped and these are sent again"
        }
        "unauthorized" => {
            "fix the credential (is it the provider's admin key, and still valid?), then re-run \
             the same command with the same --journal"
        }
        "forbidden" => {
            "give the credential the right to revoke these keys (or use one that has it), then \
             re-run the same command with the same --journal"
        }
        "not-found" => {
            "the provider does not know these keys: they may belong to another account or \
             project, or the id is wrong; check at the provider (--not-found ok counts them as \
             done when you know they are gone)"
        }
        "invalid-request" => {
            "fix these input lines (see the reason), then re-run the same command with the same \
             --journal"
        }
        "unknown" => {
            "a create whose fate is unknown: check at the provider whether the key exists before \
             creating another; the journal never sends it again"
        }
        "plugin-error" => {
            "the plugin failed or was refused, not the provider: see the reason, fix or replace \
             the plugin (report it to its author), then re-run with the same --journal"
        }
        _ => "this revoker does not know this outcome: read these lines in the report",
    }
}

/// A fixed CSS class for a finding's fate, never taken from the text itself.
fn fate_class(fate: &str) -> &'static str {
    match fate {
        f if is_done_fate(f) => "ok",
        "failed" => "fail",
        "not-sent" => "retry",
        _ => "other",
    }
}

/// A fixed CSS class for an outcome, never taken from the text itself.
fn badge_class(outcome: &str) -> &'static str {
    match outcome {
        o if is_success(o) => "ok",
        PLANNED => "other",
        "rate-limited" | "transport-error" | "provider-error" => "retry",
        o if o.parse::<Outcome>().is_ok() => "fail",
        _ => "other",
    }
}

/// `; lines 4, 7, 9 and 3 more`: numbers only.
fn line_list(lines: &[u64]) -> String {
    const SHOWN: usize = 20;
    if lines.is_empty() {
        return String::new();
    }
    let word = if lines.len() == 1 { "line" } else { "lines" };
    let shown: Vec<String> = lines.iter().take(SHOWN).map(u64::to_string).collect();
    let mut text = format!("; {word} {}", shown.join(", "));
    if lines.len() > SHOWN {
        let _ = write!(text, " and {} more", lines.len() - SHOWN);
    }
    text
}

/// Skips the rest of an overlong line without holding it.
fn skip_line(reader: &mut impl BufRead) -> io::Result<()> {
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(());
        }
        if let Some(p) = chunk.iter().position(|&b| b == b'\n') {
            reader.consume(p + 1);
            return Ok(());
        }
        let len = chunk.len();
        reader.consume(len);
    }
}

/// The report file's birth and last change, when its lines carry no times.
fn file_times(file: &std::fs::File) -> Option<TimeSpan> {
    let metadata = file.metadata().ok()?;
    let modified = metadata.modified().ok()?;
    let created = metadata.created().unwrap_or(modified);
    let millis = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .ok()
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    };
    let (first, last) = (millis(created)?, millis(modified)?);
    Some(TimeSpan {
        first: format_rfc3339(first),
        last: format_rfc3339(last),
        millis: last.saturating_sub(first),
        source: "the report file's creation and last write",
    })
}

/// `2026-12-01T15:00:00Z` from milliseconds since the Unix epoch (UTC).
fn format_rfc3339(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = revoker_host::civil::civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// Milliseconds since the Unix epoch of an RFC 3339 time
/// (`2026-12-01T15:00:00Z`, `2026-12-01t15:00:00.123+02:00`).
fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| std::str::from_utf8(part).ok()?.parse().ok())
            .flatten()
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut millis = 0i64;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 3 {
                millis = millis * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start)..3 {
            millis *= 10;
        }
    }
    let offset_min = match b.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), ..] if b.len() == i + 6 && b[i + 3] == b':' => {
            let (h, m) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            let offset = h * 60 + m;
            if *sign == b'+' { offset } else { -offset }
        }
        _ => return None,
    };
    let days = revoker_host::civil::days_from_civil(year, month, day);
    Some((days * 86_400 + hour * 3600 + min * 60 + sec - offset_min * 60) * 1000 + millis)
}

fn human_duration(millis: i64) -> String {
    let secs = millis / 1000;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}h {m}m {s}s")
    } else if m > 0 {
        format!("{m}m {s}s")
    } else if secs > 0 {
        format!("{s}s")
    } else {
        format!("{millis} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = concat!(
        r#"{"line":1,"provider":"pinata","operation":"create-gateway-key","params":{"gateway-id":"g1"},"outcome":"created","status":200,"request_id":"r1","attempts":1,"throttled":0,"detail":null,"created":{"id":"tok-1","value":"CANARY-VALUE","createdAt":"x"}}"#,
        "\n",
        r#"{"line":2,"provider":"dolfin","operation":"revoke-api-key","params":{"id":"k2"},"outcome":"unauthorized","status":401,"request_id":null,"attempts":1,"throttled":0,"detail":"<script>alert(1)</script> | *bold*"}"#,
        "\n",
        r#"{"line":3,"provider":null,"operation":null,"params":{},"outcome":"invalid-request","status":null,"request_id":null,"attempts":0,"throttled":0,"detail":"line 3: not JSON"}"#,
        "\n",
        "not json\n",
        r#"{"line":5,"provider":"dolfin","operation":"revoke-api-key","params":{"id":"k5"},"outcome":"brand-new","attempts":1}"#,
        "\n",
        r#"{"summary":{"lines":5}}"#,
        "\n",
    );

    #[test]
    fn counts_lists_and_never_a_created_value() {
        let summary = ReportSummary::read(REPORT.as_bytes()).unwrap();
        assert_eq!(
            (summary.lines, summary.succeeded, summary.failed),
            (4, 1, 3),
            "an outcome this revoker does not know is a failure"
        );
        assert_eq!(summary.unreadable_total, 1);
        assert_eq!(
            summary.created[0].ids,
            [("id".to_owned(), "tok-1".to_owned())]
        );
        for text in [summary.to_markdown(), summary.to_html()] {
            assert!(!text.contains("CANARY-VALUE"), "{text}");
            assert!(!text.contains("<script>"), "{text}");
        }
        let json = serde_json::to_string(&summary).unwrap();
        assert!(!json.contains("CANARY-VALUE"), "{json}");
        let md = summary.to_markdown();
        assert!(md.contains("\\<script\\>"), "{md}");
        assert!(md.contains("\\| \\*bold\\*"), "{md}");
        assert!(
            md.contains("- **unauthorized** (1; line 2): fix the credential"),
            "{md}"
        );
    }

    #[test]
    fn finding_records_are_findings_not_lines_and_one_not_revoked_is_not_good() {
        let report = concat!(
            r#"{"line":1,"provider":"pinata","operation":"revoke-api-key","params":{"api-key":"k"},"outcome":"revoked"}"#,
            "\n",
            r#"{"finding":"sha256:00","provider":"pinata","fate":"revoked","lines":[1],"locations":[{"file":"a.env","line":2,"at":"line 1"}],"locations_total":1,"next":"none"}"#,
            "\n",
            r#"{"finding":"sha256:01","provider":null,"fate":"unrecognised","lines":[],"locations":[{"file":"x|<b>","at":"line 2"},{"at":"line 3"}],"locations_total":40,"next":"by hand"}"#,
            "\n",
        );
        let summary = ReportSummary::read(report.as_bytes()).unwrap();
        assert_eq!(
            (summary.lines, summary.succeeded, summary.failed),
            (1, 1, 0)
        );
        assert_eq!((summary.findings_total, summary.findings_not_done), (2, 1));
        assert!(!summary.good());
        assert_eq!(
            summary.findings[1].locations,
            ["x|<b> (report line 2)", "(report line 3)"]
        );
        let md = summary.to_markdown();
        assert!(
            md.contains("**1 of 2 findings of the scanner's report NOT revoked; all 1 lines"),
            "{md}"
        );
        assert!(
            md.contains(
                "| sha256:01 |  | unrecognised | x\\|\\<b\\> \\(report line 2\\); \\(report line 3\\); … \
                 and 38 more | by hand |"
            ),
            "{md}"
        );
        let html = summary.to_html();
        assert!(html.contains("<p class=\"verdict bad\">"), "{html}");
        assert!(html.contains("x|&lt;b&gt; (report line 2)<br>"), "{html}");
        // Every finding revoked, every line succeeded: good.
        let done = report.replace("\"unrecognised\"", "\"accepted\"");
        let summary = ReportSummary::read(done.as_bytes()).unwrap();
        assert!(summary.good());
        assert!(
            summary
                .verdict()
                .starts_with("All 2 findings of the scanner's report revoked; all 1 lines"),
            "{}",
            summary.verdict()
        );
    }

    #[test]
    fn lines_missing_from_a_stopped_runs_report_never_read_as_done() {
        let report = concat!(
            r#"{"line":1,"provider":"dolfin","operation":"revoke-api-key","params":{"id":"a"},"outcome":"revoked"}"#,
            "\n",
            r#"{"line":4,"provider":"dolfin","operation":"revoke-api-key","params":{"id":"b"},"outcome":"revoked"}"#,
            "\n",
        );
        let summary = ReportSummary::read(report.as_bytes()).unwrap();
        assert_eq!(summary.missing, 2);
        assert!(!summary.good());
        assert!(
            summary
                .verdict()
                .contains("2 input lines below line 4 are not in the report"),
            "{}",
            summary.verdict()
        );
    }

    #[test]
    fn id_fields_only() {
        for id in ["id", "key_id", "AccessKeyId", "gateway-id"] {
            assert!(is_id_field(id), "{id}");
        }
        for not in [
            "value",
            "key",
            "SecretAccessKey",
            "token",
            "secret_id",
            "createdAt",
        ] {
            assert!(!is_id_field(not), "{not}");
        }
    }

    #[test]
    fn times_round_trip() {
        let ms = parse_rfc3339("2026-12-01T15:00:42Z").unwrap();
        assert_eq!(format_rfc3339(ms), "2026-12-01T15:00:42Z");
        assert_eq!(parse_rfc3339("2026-12-01T17:00:42.5+02:00"), Some(ms + 500));
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn a_dry_run_report_says_nothing_was_sent() {
        let report = concat!(
            r#"{"line":1,"dry_run":true,"provider":"dolfin","operation":"revoke-api-key","params":{"id":"k"}}"#,
            "\n",
            r#"{"line":2,"provider":null,"operation":null,"params":{},"outcome":"invalid-request","detail":"bad"}"#,
            "\n"
        );
        let summary = ReportSummary::read(report.as_bytes()).unwrap();
        assert_eq!(
            summary.verdict(),
            "Dry run: 1 planned, 1 invalid; nothing was sent"
        );
    }
}

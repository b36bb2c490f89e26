//! `revoker findings REPORT`: a scanner's report in, the revocation plan (bulk
//! JSONL) on stdout, and on stderr what became of each finding. The work is
//! the library's ([`revoker_host::resolution`]); this file parses and
//! renders.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Read, Write as _};
use std::path::{Path, PathBuf};

use clap::{Arg, ArgAction, ArgMatches, Command};
use revoker_host::HostBuilder;
use revoker_host::findings::{Format, Location, ProblemKind};
use revoker_host::resolution::{Entry, Fate, Resolutions, Resolver, Status};

use super::output::{OutputFormat, terminal_safe};
use super::{Exit, Fatal};

/// At most this many locations are listed for one finding.
const LOCATIONS_SHOWN: usize = 10;

/// The table's row of the findings no plugin claims.
const NO_PLUGIN: &str = "(no plugin)";

/// The `findings` subcommand's arguments.
pub(crate) fn command() -> Command {
    Command::new("findings")
        .about("Turn a secret scanner's report into a revocation plan for `revoker bulk`")
        .long_about(
            "Read a secret scanner's report (TruffleHog JSON lines, gitleaks JSON, GitHub \
             secret scanning alerts, or one secret a line) and ask each loaded plugin what \
             revokes each distinct secret. The plan, one bulk JSONL line a call \
             ({\"provider\":…,\"operation\":…,\"params\":{…}}, never a secret), goes to \
             stdout; what became of each finding goes to stderr. Only a lookup a resolution \
             needs is sent (AWS: who owns a key, with the AWS credential). \
             Exit 0 when every finding is in the plan; 1 when one is not (needs an id, \
             unresolvable, unrecognised, a record that is no finding, or a line that needs \
             the secret and --include-secrets was not given); 2 when the report cannot be \
             read or holds no finding at all. With --output json, the table, the plan's \
             lines in it, goes to stdout as one JSON object instead. `revoker bulk --findings \
             REPORT` resolves and revokes in one step.",
        )
        .arg(
            Arg::new("report")
                .value_name("REPORT")
                .required(true)
                .help("The scanner's report, or - for stdin"),
        )
        .arg(
            Arg::new("from")
                .long("from")
                .value_name("FORMAT")
                .value_parser(Format::ALL.map(Format::as_str))
                .help("The report's format (default: from its content)"),
        )
        .arg(
            Arg::new("delete")
                .long("delete")
                .action(ArgAction::SetTrue)
                .help("Delete keys as well as deactivate them, where a provider has both"),
        )
        .arg(
            Arg::new("include-secrets")
                .long("include-secrets")
                .value_name("FILE")
                .help(
                    "Write the plan lines that need the secret itself (GitHub tokens, \
                     revoked by value) to FILE, created with mode 0600",
                ),
        )
}

/// The report's format, from `--from`.
pub(crate) fn report_format(matches: &ArgMatches) -> Result<Option<Format>, Fatal> {
    matches
        .get_one::<String>("from")
        .map(|name| name.parse::<Format>())
        .transpose()
        .map_err(|e| Fatal::usage(e.to_string()))
}

/// The report `report` (`-`: stdin), opened, or why it cannot be.
pub(crate) fn open_report(report: &str, matches: &ArgMatches) -> Result<Box<dyn Read>, Fatal> {
    if report == "-" {
        if matches.get_one::<String>("credential-stdin").is_some() {
            return Err(Fatal::usage(
                "--credential-stdin and a report on stdin (-) both read stdin: give the report \
                 as a file",
            ));
        }
        return Ok(Box::new(io::stdin().lock()));
    }
    let file = std::fs::File::open(report).map_err(|e| {
        Fatal::usage(format!(
            "cannot read the report {}: {e}",
            terminal_safe(report)
        ))
    })?;
    Ok(Box::new(file))
}

/// Reads and resolves the report `name`; refuses one that holds no finding
/// (its problems on stderr unless `quiet`).
pub(crate) fn resolve(
    runtime: &tokio::runtime::Runtime,
    resolver: &Resolver<'_>,
    input: Box<dyn Read>,
    format: Option<Format>,
    name: &str,
    quiet: bool,
) -> Result<Resolutions, Fatal> {
    let resolved = runtime.block_on(resolver.resolve_report(input, format));
    if resolved.entries.is_empty() && !resolved.problems.is_empty() {
        if let [only] = resolved.problems.as_slice()
            && matches!(only.kind, ProblemKind::Read { .. })
        {
            return Err(Fatal::usage(format!(
                "cannot read the report {}: {}",
                terminal_safe(name),
                only.kind
            )));
        }
        if !quiet {
            eprint!("{}", problems(&resolved));
        }
        return Err(Fatal::usage(format!(
            "no finding could be read from the report {} ({} problems{})",
            terminal_safe(name),
            resolved.problems.len(),
            if format.is_some() {
                "; is --from right?"
            } else {
                "; give its format with --from"
            },
        )));
    }
    Ok(resolved)
}

/// The async runtime a command runs its requests on.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Fatal> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Fatal::config(format!("cannot start the async runtime: {e}")))
}

/// Runs `revoker findings`.
pub(crate) fn run(
    builder: HostBuilder,
    matches: &ArgMatches,
    output: OutputFormat,
    quiet: bool,
) -> Result<Exit, Fatal> {
    let report = matches.get_one::<String>("report").expect("required");
    let format = report_format(matches)?;
    let secrets_file = matches
        .get_one::<String>("include-secrets")
        .map(PathBuf::from);
    if secrets_file.as_deref() == Some(Path::new("-")) {
        return Err(Fatal::usage(
            "--include-secrets takes a file (created with mode 0600), not stdout",
        ));
    }
    if let Some(file) = &secrets_file
        && report != "-"
        && same_file(file, Path::new(report))
    {
        return Err(Fatal::usage(
            "--include-secrets names the report itself: give another file",
        ));
    }
    let input = open_report(report, matches)?;
    let host = super::build_host(builder)?;
    let runtime = runtime()?;
    let resolver = Resolver::new(&host).delete(matches.get_flag("delete"));
    let name = report_name(report);
    let resolved = resolve(&runtime, &resolver, input, format, name, quiet)?;

    let written = match &secrets_file {
        Some(path) => Some(resolved.write_secret_plan(path).map_err(|e| {
            Fatal::usage(format!(
                "cannot write --include-secrets {}: {e}",
                terminal_safe(&path.display().to_string())
            ))
        })?),
        None => None,
    };
    // The plan after the secrets file: a run that fails writing that file
    // leaves no half of a plan behind on stdout.
    let withheld: usize = match written {
        Some(_) => 0,
        None => resolved.needing_secrets().map(|e| e.calls.len()).sum(),
    };
    if output == OutputFormat::Json {
        // The table, and the plan in it, as one JSON object.
        super::print(&super::output::json_line(&table_json(
            &resolved, name, withheld,
        )));
        if !quiet {
            eprint!(
                "{}",
                secrets_note(&resolved, secrets_file.as_deref(), written)
            );
        }
    } else {
        let mut plan = String::new();
        for line in resolved.plan_lines() {
            plan.push_str(&line);
            plan.push('\n');
        }
        super::print(&plan);
    }
    if !quiet && output != OutputFormat::Json {
        let mut text = table(&resolved, name);
        let _ = writeln!(
            text,
            "revoker: {} plan lines on stdout",
            resolved.plan_lines().count()
        );
        text.push_str(&problems(&resolved));
        text.push_str(&secrets_note(&resolved, secrets_file.as_deref(), written));
        let _ = io::stderr().lock().write_all(text.as_bytes());
    }
    if host.audit_required()
        && let Some(why) = host.audit_failure()
    {
        return Err(revoker_host::Error::Audit(why.clone()).into());
    }
    let all_resolved = resolved
        .entries
        .iter()
        .all(|entry| entry.status == Status::Resolved);
    Ok(
        if all_resolved && resolved.problems.is_empty() && withheld == 0 {
            Exit::Success
        } else {
            Exit::Failure
        },
    )
}

/// Whether `a` and `b` are one existing file.
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The counts by provider, then every finding with its status, locations and
/// reason.
pub(crate) fn table(resolved: &Resolutions, name: &str) -> String {
    let locations: usize = resolved.entries.iter().map(|e| e.locations.len()).sum();
    let mut out = format!(
        "revoker: report {} ({}): {} distinct secrets in {locations} locations, {} problems\n",
        terminal_safe(name),
        resolved.format.map_or("empty", Format::as_str),
        resolved.entries.len(),
        resolved.problems.len(),
    );
    // resolved, needs an id, unresolvable, unrecognised
    let mut counts: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
    let mut total = [0; 4];
    for entry in &resolved.entries {
        let column = match entry.status {
            Status::Resolved => 0,
            Status::NeedsId | Status::NeedsOwner => 1,
            Status::Unresolvable => 2,
            _ => 3,
        };
        let provider = entry.provider.as_deref().unwrap_or(NO_PLUGIN);
        counts.entry(provider).or_default()[column] += 1;
        total[column] += 1;
    }
    let row = |out: &mut String, name: &str, c: [usize; 4]| {
        let _ = writeln!(
            out,
            "  {name:<14} {:>8} {:>12} {:>12} {:>12}",
            c[0], c[1], c[2], c[3]
        );
    };
    let _ = writeln!(
        out,
        "  {:<14} {:>8} {:>12} {:>12} {:>12}",
        "provider", "resolved", "needs an id", "unresolvable", "unrecognised"
    );
    for (provider, c) in &counts {
        if *provider != NO_PLUGIN {
            row(&mut out, &terminal_safe(provider), *c);
        }
    }
    if let Some(c) = counts.get(NO_PLUGIN) {
        row(&mut out, NO_PLUGIN, *c);
    }
    row(&mut out, "total", total);
    for entry in &resolved.entries {
        out.push_str(&describe(entry));
    }
    out
}

/// The report as named in messages: `stdin` for `-`.
pub(crate) fn report_name(report: &str) -> &str {
    if report == "-" { "stdin" } else { report }
}

/// One finding: its fingerprint, provider, status and reason, then where it
/// was found.
fn describe(entry: &Entry) -> String {
    let provider = entry.provider.as_deref().unwrap_or("-");
    let mut out = format!(
        "  {}  {}  {}",
        entry.fingerprint,
        terminal_safe(provider),
        entry.status
    );
    if entry.status == Status::Resolved {
        let operations: Vec<&str> = entry
            .calls
            .iter()
            .map(|call| call.request.operation.as_str())
            .collect();
        let _ = write!(out, " ({})", terminal_safe(&operations.join(", ")));
    }
    let _ = write!(out, ": {}", terminal_safe(&entry.reason));
    if !entry.also_claimed.is_empty() {
        let _ = write!(
            out,
            " (also claimed by {}; the first claim is used)",
            terminal_safe(&entry.also_claimed.join(", "))
        );
    }
    if entry.status == Status::Unrecognised
        && let Some(hint) = &entry.hint
    {
        let _ = write!(out, " [scanner type: {}]", terminal_safe(&hint.kind));
    }
    out.push('\n');
    let count = entry.locations.len();
    let _ = writeln!(
        out,
        "      found in {count} location{}:",
        if count == 1 { "" } else { "s" }
    );
    for location in entry.locations.iter().take(LOCATIONS_SHOWN) {
        let _ = writeln!(out, "        {}", show(location));
    }
    if count > LOCATIONS_SHOWN {
        let _ = writeln!(out, "        … and {} more", count - LOCATIONS_SHOWN);
    }
    out
}

/// A location as shown (its `Display` escapes every part).
fn show(location: &Location) -> String {
    location.to_string()
}

/// The report's records that were no finding, each with where it is.
pub(crate) fn problems(resolved: &Resolutions) -> String {
    let mut out = String::new();
    for problem in &resolved.problems {
        let _ = writeln!(
            out,
            "revoker: problem in the report at {}",
            terminal_safe(&problem.to_string())
        );
    }
    out
}

/// What happened to the lines that need the secret itself.
fn secrets_note(resolved: &Resolutions, file: Option<&Path>, written: Option<usize>) -> String {
    let needing: Vec<&Entry> = resolved.needing_secrets().collect();
    let mut out = String::new();
    match (file, written) {
        (Some(file), Some(lines)) => {
            let _ = writeln!(
                out,
                "revoker: {lines} plan lines that hold secrets (revoked by the secret's value) \
                 written to {} (mode 0600): that file holds secrets; run it with `revoker bulk`, \
                 then delete it",
                terminal_safe(&file.display().to_string())
            );
        }
        _ if needing.is_empty() => {}
        _ => {
            let _ = writeln!(
                out,
                "revoker: {} resolved findings are revoked by the secret's value, so their plan \
                 lines hold the secret and are not on stdout:",
                needing.len()
            );
            for entry in needing {
                let _ = writeln!(
                    out,
                    "  {}  {}",
                    entry.fingerprint,
                    terminal_safe(entry.provider.as_deref().unwrap_or("-"))
                );
            }
            out.push_str(
                "revoker: use --include-secrets FILE to write those lines to FILE (mode 0600) \
                 and run it with `revoker bulk FILE`\n",
            );
        }
    }
    out
}

/// What the confirmation prompt of `bulk --findings` says first: how many
/// findings are in the lines it lists, and how many are not.
pub(crate) fn prompt_note(resolved: &Resolutions, name: &str) -> String {
    let resolved_count = resolved.resolved().count();
    let left = resolved.entries.len() - resolved_count;
    let mut out = format!(
        "revoker bulk --findings: {} distinct secrets in the report {}: {resolved_count} resolved \
         to the lines below",
        resolved.entries.len(),
        terminal_safe(name),
    );
    if left > 0 {
        let _ = write!(
            out,
            "; {left} not (listed above: nothing is sent for them, and the run does not exit 0)"
        );
    }
    out.push('\n');
    out
}

/// What to do next about a finding of `fate`.
pub(crate) fn next_step(entry: &Entry, fate: Fate) -> String {
    let provider = entry.provider.as_deref().unwrap_or("its provider");
    match fate {
        Fate::Revoked => "none: revoked; replace it wherever it is still used".to_owned(),
        Fate::Accepted => format!(
            "{provider} accepted the revocation and carries it out later: its answer does not \
             prove the key dead yet; check at {provider}"
        ),
        Fate::Failed(outcome) => super::summarize::advice(outcome.as_str()).to_owned(),
        Fate::NotSent => {
            "not sent (the run stopped first, or was a dry run): run again with the same \
             --journal"
                .to_owned()
        }
        Fate::Unresolved(Status::Unrecognised) => {
            "no plugin revokes it: revoke it at its provider by hand".to_owned()
        }
        // Not resolved: the reason says what to do.
        _ => entry.reason.clone(),
    }
}

/// The findings of a `bulk --findings` run side by side with their fate:
/// counts, then each finding's fingerprint, provider, fate, locations and
/// what to do next.
pub(crate) fn fates_text(resolved: &Resolutions, fates: &[Fate], name: &str) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for fate in fates {
        *counts.entry(fate.as_str()).or_default() += 1;
    }
    let counts: Vec<String> = counts
        .iter()
        .map(|(fate, n)| format!("{fate} {n}"))
        .collect();
    let mut out = format!(
        "revoker: the findings of {}: {}\n",
        terminal_safe(name),
        counts.join(", ")
    );
    for (entry, fate) in resolved.entries.iter().zip(fates) {
        let provider = entry.provider.as_deref().unwrap_or("-");
        let detail = match fate {
            Fate::Failed(outcome) => format!(" ({outcome})"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  {}  {}  {fate}{detail}",
            entry.fingerprint,
            terminal_safe(provider)
        );
        let shown: Vec<String> = entry
            .locations
            .iter()
            .take(LOCATIONS_SHOWN)
            .map(show)
            .collect();
        let more = entry.locations.len().saturating_sub(LOCATIONS_SHOWN);
        let _ = write!(out, "      at {}", shown.join("; "));
        if more > 0 {
            let _ = write!(out, "; … and {more} more");
        }
        out.push('\n');
        let _ = writeln!(
            out,
            "      next: {}",
            terminal_safe(&next_step(entry, *fate))
        );
    }
    out
}

/// At most this many locations of one finding are in its JSON; the rest are
/// counted (`locations_total`).
const LOCATIONS_IN_JSON: usize = 100;

/// A location as JSON: each part the scanner gave, and where the record is
/// in the report.
fn location_json(location: &Location) -> serde_json::Value {
    serde_json::json!({
        "file": location.file,
        "line": location.line,
        "commit": location.commit,
        "repository": location.repository,
        "url": location.url,
        "reference": location.reference,
        "more_at": location.more_at,
        "at": location.at.to_string(),
    })
}

/// One finding as JSON, as in `findings --output json` and, with its fate,
/// in the report of `bulk --findings`: its fingerprint (never the secret),
/// provider, status, reason, the calls' operations and its locations.
pub(crate) fn entry_json(entry: &Entry) -> serde_json::Map<String, serde_json::Value> {
    let operations: Vec<&str> = entry
        .calls
        .iter()
        .map(|call| call.request.operation.as_str())
        .collect();
    let locations: Vec<serde_json::Value> = entry
        .locations
        .iter()
        .take(LOCATIONS_IN_JSON)
        .map(location_json)
        .collect();
    let serde_json::Value::Object(object) = serde_json::json!({
        "finding": entry.fingerprint.to_string(),
        "provider": entry.provider,
        "status": entry.status.as_str(),
        "operations": operations,
        "reason": entry.reason,
        "also_claimed": entry.also_claimed,
        "scanner_type": entry.hint.as_ref().map(|hint| hint.kind.as_str()),
        "locations": locations,
        "locations_total": entry.locations.len(),
    }) else {
        unreachable!("an object")
    };
    object
}

/// The records a `bulk --findings` run appends to its report, one per
/// finding: [`entry_json`] with its fate, the lines of its calls and what
/// to do next.
pub(crate) fn fate_records(
    resolved: &Resolutions,
    plan: &revoker_host::resolution::FindingsPlan,
    fates: &[Fate],
) -> Vec<String> {
    resolved
        .entries
        .iter()
        .zip(fates)
        .enumerate()
        .map(|(index, (entry, fate))| {
            let mut object = entry_json(entry);
            object.insert("fate".into(), fate.as_str().into());
            if let Fate::Failed(outcome) = fate {
                object.insert("outcome".into(), outcome.as_str().into());
            }
            let lines: Vec<u64> = plan.lines_of(index).collect();
            object.insert("lines".into(), lines.into());
            object.insert("next".into(), next_step(entry, *fate).into());
            serde_json::Value::Object(object).to_string()
        })
        .collect()
}

/// `findings --output json`: the table as one JSON object, `{"findings":
/// {…}}`, with the plan's lines as objects (`.findings.plan[]` is the bulk
/// input) and how many lines were left out because they hold the secret.
fn table_json(resolved: &Resolutions, name: &str, withheld: usize) -> serde_json::Value {
    let mut counts: BTreeMap<String, BTreeMap<&str, usize>> = BTreeMap::new();
    for entry in &resolved.entries {
        let provider = entry.provider.clone().unwrap_or_else(|| NO_PLUGIN.into());
        let column = match entry.status {
            Status::Resolved => "resolved",
            Status::NeedsId | Status::NeedsOwner => "needs_id",
            Status::Unresolvable => "unresolvable",
            _ => "unrecognised",
        };
        let row = counts.entry(provider).or_default();
        for name in ["resolved", "needs_id", "unresolvable", "unrecognised"] {
            row.entry(name).or_default();
        }
        *row.entry(column).or_default() += 1;
    }
    let plan: Vec<serde_json::Value> = resolved
        .plan_lines()
        .map(|line| serde_json::from_str(&line).expect("a plan line is JSON"))
        .collect();
    let problems: Vec<serde_json::Value> = resolved
        .problems
        .iter()
        .map(|problem| {
            serde_json::json!({"at": problem.at.to_string(), "problem": problem.kind.to_string()})
        })
        .collect();
    let entries: Vec<serde_json::Value> = resolved
        .entries
        .iter()
        .map(|entry| serde_json::Value::Object(entry_json(entry)))
        .collect();
    serde_json::json!({"findings": {
        "report": name,
        "format": resolved.format.map(Format::as_str),
        "distinct": resolved.entries.len(),
        "locations": resolved.entries.iter().map(|e| e.locations.len()).sum::<usize>(),
        "counts": counts,
        "entries": entries,
        "problems": problems,
        "plan": plan,
        "withheld_lines": withheld,
    }})
}

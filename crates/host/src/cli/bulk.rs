//! `revoker bulk FILE|-`: argument parsing and rendering over the library's bulk
//! job ([`revoker_host::bulk::BulkJob`]), which owns the input, the journal,
//! the report and the summary.

use std::collections::BTreeMap;
use std::io::{self, BufRead as _, BufWriter, IsTerminal as _, Stdout, Write as _};
use std::path::PathBuf;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use clap::{Arg, ArgAction, ArgMatches, Command, value_parser};
use futures_util::StreamExt as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use revoker_host::bulk::{
    BulkJob, BulkOptions, InputSource, JobEvent, JobSpec, PreparedJob, Summary, recorded_lines,
};
use revoker_host::resolution::{FindingsPlan, Resolutions, Resolver};
use revoker_host::{Config, HostBuilder, Outcome, PlannedJson, Rate, RequestResult, ResultJson};

use super::output::{self, OutputFormat};
use super::{Exit, Fatal};
/// The `bulk` subcommand's arguments.
pub(crate) fn command() -> Command {
    Command::new("bulk")
        .about("Revoke every key in a file (JSONL or CSV) or stdin, with a journal and a report")
        .long_about(
            "Revoke every key in a file or stdin. JSONL lines are \
             {\"provider\":…,\"operation\":…,\"params\":{…}}; CSV has the header \
             provider,operation,<param>,… A bad line is reported with its line number and \
             the rest goes on. Re-running with the same --journal skips finished lines. \
             With --findings REPORT, the input is a secret scanner's report, resolved as \
             `revoker findings` does (owner lookups are sent first; a secret a call takes is \
             never written): the run ends with each finding's fate and what to do next, and \
             exits 0 only when every finding was revoked.",
        )
        .arg(
            Arg::new("input")
                .value_name("FILE")
                .required_unless_present("findings")
                .conflicts_with("findings")
                .help("The input file, or - for stdin"),
        )
        .arg(
            Arg::new("format")
                .long("format")
                .value_name("FORMAT")
                .value_parser(["jsonl", "csv"])
                .conflicts_with("findings")
                .help("Input format (default: from the file's extension, else from its first line)"),
        )
        .arg(
            Arg::new("findings")
                .long("findings")
                .value_name("REPORT")
                .help(
                    "Revoke what a secret scanner's report found (TruffleHog, gitleaks, GitHub \
                     secret scanning, one secret a line; - for stdin): resolved as `revoker \
                     findings` does, then run with this run's journal, report and summary; \
                     exit 0 only when every finding was revoked",
                ),
        )
        .arg(
            Arg::new("from")
                .long("from")
                .value_name("FORMAT")
                .value_parser(revoker_host::findings::Format::ALL.map(revoker_host::findings::Format::as_str))
                .help("With --findings: the report's format (default: from its content)"),
        )
        .arg(
            Arg::new("delete")
                .long("delete")
                .action(ArgAction::SetTrue)
                .help("With --findings: delete keys as well as deactivate them, where a provider has both"),
        )
        .arg(
            Arg::new("concurrency")
                .long("concurrency")
                .value_name("N")
                .value_parser(value_parser!(u32).range(1..=Config::MAX_CONCURRENCY as i64))
                .default_value("32")
                .help("Requests in flight at once, across providers"),
        )
        .arg(
            Arg::new("rate")
                .long("rate")
                .value_name("PROVIDER=N/s")
                .action(ArgAction::Append)
                .help("Never send PROVIDER more than N requests a second (also N/m, N/h); without it the pace is found from the provider's answers"),
        )
        .arg(max_attempts_arg())
        .arg(
            Arg::new("give-up-after")
                .long("give-up-after")
                .value_name("SECS")
                .value_parser(value_parser!(u64).range(1..))
                .help("Give a line up (rate-limited) once its provider has throttled with no progress for SECS (default 300)"),
        )
        .arg(
            Arg::new("journal")
                .long("journal")
                .value_name("FILE")
                .help("Record each line's outcome here; re-run with the same journal to resume"),
        )
        .arg(
            Arg::new("report")
                .long("report")
                .value_name("FILE")
                .help("Write one JSON result per input line here"),
        )
        .arg(
            Arg::new("dry-run")
                .long("dry-run")
                .action(ArgAction::SetTrue)
                .help("Plan and print every line's request (credentials redacted); send nothing"),
        )
        .arg(
            Arg::new("not-found")
                .long("not-found")
                .value_name("ok|error")
                .value_parser(["ok", "error"])
                .default_value("error")
                .help("Whether a key the provider does not know counts as done (it may belong to another account)"),
        )
        .arg(
            Arg::new("yes")
                .short('y')
                .long("yes")
                .action(ArgAction::SetTrue)
                .help("Do not ask for confirmation"),
        )
}

/// What the confirmation prompt shows: the lines this run will send (a
/// resumed run's remaining ones), and per provider and operation the lines of
/// the input and the host they go to.
fn prompt_text(
    host: &revoker_host::Host,
    survey: &revoker_host::bulk::Survey,
    resumed: revoker_host::bulk::Resumed,
    remaining: u64,
    findings: Option<&FindingsRun>,
) -> String {
    use std::fmt::Write as _;
    let mut text = String::new();
    if let Some(run) = findings {
        text.push_str(&super::findings::prompt_note(&run.resolutions, &run.name));
    }
    let _ = writeln!(
        text,
        "revoker bulk will send, for {remaining} of the input's {} lines:",
        survey.items
    );
    if resumed.settled > 0 {
        let _ = writeln!(
            text,
            "  ({} lines settled by an earlier run with this journal are not sent again; the \
             counts below are the input's, those lines included)",
            resumed.settled
        );
    }
    for ((provider, operation), lines) in &survey.operations {
        let to = match host.provider(provider) {
            Some(p) => {
                let url = p.base_url();
                match url.port() {
                    Some(port) => format!("to {}:{port}", url.host_str().unwrap_or_default()),
                    None => format!("to {}", url.host_str().unwrap_or_default()),
                }
            }
            None if host.registry().refusal_for(provider).is_some() => {
                "(its plugin was refused: not sent)".into()
            }
            None => "(unknown provider: not sent)".into(),
        };
        let _ = writeln!(
            text,
            "  {lines:>8}  {} {}  {}",
            output::terminal_safe(provider),
            output::terminal_safe(operation),
            output::terminal_safe(&to)
        );
    }
    if survey.unreadable > 0 {
        let _ = writeln!(
            text,
            "  {:>8}  unreadable lines (reported, not sent)",
            survey.unreadable
        );
    }
    text
}

/// `43.3/s`: a rate for people, one decimal.
pub(crate) fn rate_text(per_second: f64) -> String {
    format!("{per_second:.1}/s")
}

/// `--max-attempts N`, for a single operation and for `bulk`.
pub(crate) fn max_attempts_arg() -> Arg {
    Arg::new("max-attempts")
        .long("max-attempts")
        .value_name("N")
        .value_parser(value_parser!(u32).range(1..=100))
        .help("Try an idempotent request at most N times (default 4)")
}

/// The job `matches` asks for.
fn spec(matches: &ArgMatches) -> Result<(JobSpec, bool), Fatal> {
    let input = match matches.get_one::<String>("input").map(String::as_str) {
        Some("-") => InputSource::Stdin,
        Some(path) => InputSource::File(PathBuf::from(path)),
        // `--findings`: the resolved report, once it is (see `findings_run`).
        None => InputSource::Reader {
            name: String::new(),
            reader: Box::new(io::empty()),
        },
    };
    let format = match matches.get_one::<String>("format") {
        Some(format) => Some(format.parse().map_err(Fatal::usage)?),
        None => None,
    };
    for flag in ["from", "delete"] {
        if matches.value_source(flag) == Some(clap::parser::ValueSource::CommandLine)
            && matches.get_one::<String>("findings").is_none()
        {
            return Err(Fatal::usage(format!(
                "--{flag} is for a scanner's report: give it with --findings REPORT"
            )));
        }
    }
    let dry_run = matches.get_flag("dry-run");
    let journal = matches.get_one::<String>("journal").map(PathBuf::from);
    if dry_run && journal.is_some() {
        return Err(Fatal::usage(
            "--journal is for real runs: a dry run sends nothing, so there is nothing to resume",
        ));
    }
    let concurrency = *matches
        .get_one::<u32>("concurrency")
        .expect("has a default") as usize;
    let spec = JobSpec {
        input,
        format,
        options: BulkOptions {
            concurrency,
            dry_run,
            lookahead: None,
        },
        journal,
        report: matches.get_one::<String>("report").map(PathBuf::from),
        not_found_ok: matches.get_one::<String>("not-found").map(String::as_str) == Some("ok"),
    };
    Ok((spec, matches.get_flag("yes")))
}

/// `PROVIDER=N/s` pairs.
fn rates(matches: &ArgMatches) -> Result<Vec<(String, Rate)>, Fatal> {
    matches
        .get_many::<String>("rate")
        .into_iter()
        .flatten()
        .map(|text| {
            let (provider, rate) = text.split_once('=').ok_or_else(|| {
                Fatal::usage(format!(
                    "--rate {text:?}: expected PROVIDER=N/s, e.g. pinata=10/s"
                ))
            })?;
            let rate = rate
                .parse()
                .map_err(|e| Fatal::usage(format!("--rate {text:?}: {e}")))?;
            Ok((provider.to_owned(), rate))
        })
        .collect()
}

/// Runs `revoker bulk`.
pub(crate) fn run(
    mut builder: HostBuilder,
    matches: &ArgMatches,
    format: OutputFormat,
    quiet: bool,
) -> Result<Exit, Fatal> {
    let (mut spec, yes) = spec(matches)?;
    let findings = matches.get_one::<String>("findings");
    let report_format = super::findings::report_format(matches)?;
    let report_input = findings
        .map(|report| super::findings::open_report(report, matches))
        .transpose()?;
    let rates = rates(matches)?;
    for (provider, rate) in &rates {
        builder = builder.rate(provider, *rate);
    }
    if let Some(attempts) = matches.get_one::<u32>("max-attempts") {
        builder = builder.max_attempts(*attempts);
    }
    if let Some(secs) = matches.get_one::<u64>("give-up-after") {
        builder = builder.give_up_after(Duration::from_secs(*secs));
    }
    let host = super::build_host(builder)?;
    for (provider, _) in &rates {
        if host.provider(provider).is_none() {
            return Err(Fatal::usage(format!(
                "--rate names provider {provider:?}, which is not loaded (loaded providers: {})",
                host.registry().provider_names()
            )));
        }
    }
    let runtime = super::findings::runtime()?;
    let findings = match (findings, report_input) {
        (Some(report), Some(input)) => Some(findings_run(
            &host,
            &runtime,
            matches,
            &mut spec,
            report,
            input,
            report_format,
            quiet,
        )?),
        _ => None,
    };
    let dry_run = spec.options.dry_run;
    let not_found_ok = spec.not_found_ok;
    let report_path = spec.report.clone();
    let reads_stdin = matches!(spec.input, InputSource::Stdin)
        || findings.as_ref().is_some_and(|run| run.reads_stdin);
    let job = BulkJob::prepare(&host, spec)?;
    let resumed = job.resumed();
    if !quiet && (resumed.settled + resumed.retried + resumed.in_doubt) > 0 {
        super::voice::note(&format!(
            "resuming: {} lines settled by an earlier run, {} to send again, {} creates in doubt",
            resumed.settled, resumed.retried, resumed.in_doubt
        ));
    }
    if !dry_run
        && !yes
        && !reads_stdin
        && io::stdin().is_terminal()
        && io::stderr().is_terminal()
        && !confirm(&host, &job, findings.as_ref())?
    {
        super::voice::note("declined: nothing sent");
        return Ok(Exit::Declined);
    }

    let progress = progress_bar(Some(job.remaining()), quiet);
    let mut out = Output {
        stdout: BufWriter::new(io::stdout()),
        format,
        progress: &progress,
        dry_run,
        failed: 0,
        host: &host,
        outcomes: BTreeMap::new(),
    };
    let stop = job.stop_handle();
    let (summary, mut fatal) = runtime.block_on(async {
        let mut events = pin!(job.run());
        let mut ctrl_c = pin!(tokio::signal::ctrl_c());
        let mut interrupted = false;
        let mut fatal = None;
        loop {
            tokio::select! {
                event = events.next() => match event {
                    Some(JobEvent::Done(summary)) => return (summary, fatal),
                    Some(JobEvent::Fatal(error)) => { fatal = Some(error); }
                    Some(event) => out.event(event),
                    None => return (Summary::default(), fatal),
                },
                _ = &mut ctrl_c => {
                    if interrupted {
                        // The second Ctrl-C: out now; the journal keeps the run resumable.
                        std::process::exit(Exit::Interrupted as i32);
                    }
                    interrupted = true;
                    stop.stop();
                    out.progress.suspend(|| super::voice::note(
                        "stopping: finishing the requests in flight (Ctrl-C again to quit now)"
                    ));
                    ctrl_c.set(tokio::signal::ctrl_c());
                }
            }
        }
    });
    progress.finish_and_clear();
    let _ = out.stdout.flush();
    if !quiet {
        // Provider names in it come from the input.
        let text = if dry_run {
            summary.to_human_dry_run()
        } else {
            summary.to_human()
        };
        for line in text.lines() {
            eprintln!("{}", output::terminal_safe(line));
        }
    }
    // What became of each finding: this run's lines, else the journal's.
    let mut findings_done = true;
    if let Some(run) = &findings {
        let fates = run.resolutions.fates(&run.plan, |line| {
            out.outcomes.get(&line).copied().or_else(|| {
                run.recorded.get(&line).and_then(|outcome| {
                    let outcome = (*outcome)?;
                    let done =
                        outcome.is_success() || (not_found_ok && outcome == Outcome::NotFound);
                    Some((outcome, done))
                })
            })
        });
        if !quiet {
            eprint!(
                "{}",
                super::findings::fates_text(&run.resolutions, &fates, &run.name)
            );
        }
        let records = super::findings::fate_records(&run.resolutions, &run.plan, &fates);
        // The report ends with them, for `revoker summarize` (unless the run
        // could not write its report at all).
        if let Some(path) = &report_path
            && fatal.is_none()
            && let Err(e) = revoker_host::resolution::append_to_report(path, &records)
        {
            fatal = Some(revoker_host::Error::Record(
                revoker_host::RecordError::Write {
                    file: revoker_host::RecordFile::Report,
                    kind: e.kind(),
                    message: format!("{}: {e}", path.display()),
                },
            ));
        }
        if format == OutputFormat::Json {
            let mut stdout = io::stdout().lock();
            for record in &records {
                let _ = writeln!(stdout, "{record}");
            }
        }
        // A dry run reports what a real run would leave, and judges nothing.
        findings_done = dry_run
            || (run.resolutions.problems.is_empty() && fates.iter().all(|fate| fate.is_done()));
    }
    if format == OutputFormat::Json {
        let mut stdout = io::stdout().lock();
        let _ = stdout.write_all(output::json_line(&summary.to_json()).as_bytes());
    }
    if let Some(error) = fatal {
        return Err(Fatal::from(error));
    }
    Ok(if summary.interrupted {
        Exit::Interrupted
    } else if !findings_done {
        // A finding left unresolved, or not revoked, is not success.
        Exit::Failure
    } else if dry_run || summary.all_succeeded() {
        // A dry run that planned its input succeeded: the lines a real run would
        // refuse are listed and counted, and would not stop it either.
        Exit::Success
    } else {
        Exit::Failure
    })
}

/// A `--findings` run: the report resolved, its lines, and what an earlier
/// run with the journal recorded of them.
struct FindingsRun {
    /// The report as named in messages.
    name: String,
    reads_stdin: bool,
    resolutions: Resolutions,
    plan: Arc<FindingsPlan>,
    /// Each line's outcome, as the journal last recorded it.
    recorded: BTreeMap<u64, Option<Outcome>>,
}

/// Resolves the report of `--findings` (its lookups reusing what an earlier
/// run with the same journal found) and makes it the job's input; shows what
/// became of each finding, unless `quiet`.
#[allow(clippy::too_many_arguments)]
fn findings_run(
    host: &revoker_host::Host,
    runtime: &tokio::runtime::Runtime,
    matches: &ArgMatches,
    spec: &mut JobSpec,
    report: &str,
    input: Box<dyn io::Read>,
    format: Option<revoker_host::findings::Format>,
    quiet: bool,
) -> Result<FindingsRun, Fatal> {
    // Before anything is sent (a lookup): the report is no file this run writes.
    let audit = host.audit_log().map(|log| log.path().to_owned());
    for (flag, path) in [
        ("--journal", &spec.journal),
        ("--report", &spec.report),
        ("--audit", &audit),
    ] {
        if let Some(path) = path
            && report != "-"
            && super::findings::same_file(path, std::path::Path::new(report))
        {
            return Err(Fatal::usage(format!(
                "{flag} names the findings report itself: give another file"
            )));
        }
    }
    let recorded = match &spec.journal {
        Some(path) => recorded_lines(path)?,
        None => Vec::new(),
    };
    let resolver = Resolver::new(host)
        .delete(matches.get_flag("delete"))
        .lookups(!spec.options.dry_run)
        .recorded(recorded.iter().map(|line| line.request.clone()).collect());
    let name = super::findings::report_name(report);
    let resolutions = super::findings::resolve(runtime, &resolver, input, format, name, quiet)?;
    if !quiet {
        eprint!(
            "{}{}",
            super::findings::table(&resolutions, name),
            super::findings::problems(&resolutions)
        );
    }
    let plan = Arc::new(resolutions.bulk_plan());
    spec.input = InputSource::Findings {
        name: report.to_owned(),
        path: (report != "-").then(|| PathBuf::from(report)),
        plan: Arc::clone(&plan),
    };
    Ok(FindingsRun {
        name: name.to_owned(),
        reads_stdin: report == "-",
        resolutions,
        plan,
        recorded: recorded
            .into_iter()
            .map(|line| (line.line, line.outcome))
            .collect(),
    })
}

/// Shows what the run will do, and where, and asks to go on.
fn confirm(
    host: &revoker_host::Host,
    job: &PreparedJob,
    findings: Option<&FindingsRun>,
) -> Result<bool, Fatal> {
    eprint!(
        "{}",
        prompt_text(host, job.survey(), job.resumed(), job.remaining(), findings)
    );
    eprint!("Proceed? [y/N] ");
    let _ = io::stderr().flush();
    let mut answer = String::new();
    io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Fatal::usage(format!("cannot read the answer: {e}")))?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

fn progress_bar(total: Option<u64>, quiet: bool) -> ProgressBar {
    if quiet || !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match total {
        Some(total) => ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
            .with_style(
                ProgressStyle::with_template(
                    "{spinner} {elapsed_precise} [{wide_bar}] {pos}/{len} {rate} ETA {eta} {msg}",
                )
                .expect("valid template")
                .with_key("rate", rate_key),
            ),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template("{spinner} {elapsed_precise} {pos} lines {rate} {msg}")
                .expect("valid template")
                .with_key("rate", rate_key),
        ),
    };
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// The progress bar's `{rate}`: `43.3/s`, not indicatif's `43.3379/s`.
fn rate_key(state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write) {
    let _ = out.write_str(&rate_text(state.per_sec()));
}

/// Where a run's events go: stdout, stderr and the progress bar.
struct Output<'a> {
    stdout: BufWriter<Stdout>,
    format: OutputFormat,
    progress: &'a ProgressBar,
    dry_run: bool,
    failed: u64,
    host: &'a revoker_host::Host,
    /// Each line's outcome, and whether it counts as done.
    outcomes: BTreeMap<u64, (Outcome, bool)>,
}

impl Output<'_> {
    fn print(&mut self, text: &str, flush: bool) {
        let stdout = &mut self.stdout;
        self.progress.suspend(|| {
            let _ = stdout.write_all(text.as_bytes());
            if flush {
                let _ = stdout.flush();
            }
        });
    }

    fn event(&mut self, event: JobEvent) {
        match event {
            JobEvent::Planned {
                line,
                planned,
                duplicate_of,
                ..
            } => {
                self.progress.inc(1);
                let text = match self.format {
                    OutputFormat::Json => output::json_line(&PlannedJson {
                        planned: &planned,
                        line: Some(line),
                        duplicate_of,
                    }),
                    OutputFormat::Human => output::dry_run_line(&planned, line, duplicate_of),
                };
                self.print(&text, false);
            }
            JobEvent::Finished {
                line,
                success,
                result,
            } => self.finished(line, success, &result),
            JobEvent::Warning(warning) => {
                self.progress.suspend(|| super::voice::warning(&warning));
            }
            // A hold counts down, a rate moves, while no line finishes.
            JobEvent::Pace { .. } => self.show_pace(),
            _ => {}
        }
    }

    fn show_pace(&self) {
        if !self.progress.is_hidden() {
            let flow = self.host.flow_status();
            self.progress
                .set_message(output::progress_message(self.failed, &flow));
        }
    }

    fn finished(&mut self, line: u64, success: bool, result: &RequestResult) {
        self.progress.inc(1);
        self.outcomes.insert(line, (result.outcome, success));
        if !success {
            self.failed += 1;
        }
        self.show_pace();
        match self.format {
            OutputFormat::Json => {
                let text = serde_json::to_string(&ResultJson {
                    result,
                    line: Some(line),
                    digest: None,
                    secrets: true,
                })
                .expect("results serialize");
                self.print(&(text + "\n"), !result.created.is_empty());
            }
            OutputFormat::Human if !result.created.is_empty() => {
                self.print(&output::bulk_result_line(result, line), true);
            }
            // A dry run's output lists every line; a real run's, the failures.
            OutputFormat::Human if self.dry_run => {
                self.print(&output::bulk_result_line(result, line), false);
            }
            OutputFormat::Human if !success => {
                let text = output::bulk_result_line(result, line);
                self.progress.suspend(|| eprint!("{text}"));
            }
            OutputFormat::Human => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use revoker_host::Registry;

    use super::*;

    /// A number as a user might type one: small, huge, negative, or not one.
    fn number() -> impl Strategy<Value = String> {
        prop_oneof![
            (0u64..10_000).prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            Just(u128::MAX.to_string()),
            "[0-9a-z.+-]{0,12}",
        ]
    }

    #[test]
    fn the_prompt_of_a_findings_run_counts_its_findings_and_shows_no_secret() {
        let empty = tempfile::tempdir().unwrap();
        let host = revoker_host::Host::builder()
            .plugin_dir(empty.path())
            .require_plugins(false)
            .build()
            .unwrap();
        let runtime = super::super::findings::runtime().unwrap();
        let secret = "made-up-secret-in-a-report-0001";
        let report = format!("{secret}\n{secret}\nanother-made-up-secret-0002\n");
        let resolutions =
            runtime.block_on(Resolver::new(&host).resolve_report(report.as_bytes(), None));
        let plan = Arc::new(resolutions.bulk_plan());
        let run = FindingsRun {
            name: "leaks.txt".into(),
            reads_stdin: false,
            resolutions,
            plan,
            recorded: BTreeMap::new(),
        };
        let mut survey = revoker_host::bulk::Survey {
            items: 3,
            ..Default::default()
        };
        survey
            .operations
            .insert(("aws-iam".into(), "deactivate-access-key".into()), 3);
        let text = prompt_text(&host, &survey, Default::default(), 3, Some(&run));
        assert!(
            text.starts_with(
                "revoker bulk --findings: 2 distinct secrets in the report leaks.txt: 0 resolved \
                 to the lines below; 2 not (listed above: nothing is sent for them, and the run \
                 does not exit 0)\nrevoker bulk will send, for 3 of the input's 3 lines:\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("       3  aws-iam deactivate-access-key  (unknown provider: not sent)"),
            "{text}"
        );
        assert!(!text.contains("made-up"), "{text}");
    }

    #[test]
    fn a_rate_for_people_has_one_decimal() {
        assert_eq!(rate_text(43.337_9), "43.3/s");
        assert_eq!(rate_text(0.0), "0.0/s");
    }

    proptest! {
        /// Whatever numbers are given, `bulk`'s arguments are a usage error or
        /// a job within bounds: never a panic.
        #[test]
        fn numeric_arguments_are_bounded_or_refused(
            concurrency in number(),
            attempts in number(),
            count in number(),
            unit in prop_oneof![
                Just("s".to_owned()),
                Just("m".to_owned()),
                Just("h".to_owned()),
                "[a-z]{0,3}",
            ],
        ) {
            let rate = format!("dolfin={count}/{unit}");
            let args = [
                "revoker", "bulk", "in.jsonl",
                "--concurrency", &concurrency,
                "--max-attempts", &attempts,
                "--rate", &rate,
            ];
            let Ok(matches) = super::super::command::build(&Registry::default(), &Config::default()).try_get_matches_from(args)
            else {
                return Ok(());
            };
            let (_, bulk) = matches.subcommand().expect("bulk");
            match spec(bulk) {
                Ok((spec, _)) => {
                    prop_assert!((1..=Config::MAX_CONCURRENCY).contains(&spec.options.concurrency));
                }
                Err(fatal) => prop_assert_eq!(fatal.exit, Exit::Usage),
            }
            if let Some(attempts) = bulk.get_one::<u32>("max-attempts") {
                prop_assert!((1..=100).contains(attempts));
            }
            match rates(bulk) {
                Ok(rates) => {
                    for (_, rate) in rates {
                        prop_assert!(rate.requests >= 1);
                        let per_second = f64::from(rate.requests) / rate.per.as_secs_f64();
                        prop_assert!(per_second <= f64::from(Rate::MAX_PER_SECOND));
                    }
                }
                Err(fatal) => prop_assert_eq!(fatal.exit, Exit::Usage),
            }
        }
    }
}

//! `revoker bulk FILE|-`: the library's bulk engine with a journal, a report, a
//! progress bar, Ctrl-C handling and a summary.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal as _, Stdout, Write as _};
use std::path::{Path, PathBuf};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Arg, ArgAction, ArgMatches, Command, value_parser};
use futures_util::{Stream, StreamExt as _};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use revoker_host::bulk::{
    Bulk, BulkEvent, BulkItem, BulkOptions, InputFormat, InputIdentity, InputReader, Journal,
    JournalError, JournalState, Recorder, Summary, secure_file, survey,
};
use revoker_host::{Host, HostBuilder, OutcomeKind, PlannedJson, Rate, RequestResult, ResultJson};
use tokio::sync::mpsc;

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
             the rest goes on. Re-running with the same --journal skips finished lines.",
        )
        .arg(
            Arg::new("input")
                .value_name("FILE")
                .required(true)
                .help("The input file, or - for stdin"),
        )
        .arg(
            Arg::new("format")
                .long("format")
                .value_name("FORMAT")
                .value_parser(["jsonl", "csv"])
                .help("Input format (default: from the file's extension, else from its first line)"),
        )
        .arg(
            Arg::new("concurrency")
                .long("concurrency")
                .value_name("N")
                .value_parser(value_parser!(u32).range(1..=4096))
                .default_value("32")
                .help("Requests in flight at once, across providers"),
        )
        .arg(
            Arg::new("rate")
                .long("rate")
                .value_name("PROVIDER=N/s")
                .action(ArgAction::Append)
                .help("Keep PROVIDER to N requests a second (also N/m, N/h); one request per interval, no bursts"),
        )
        .arg(super::command::max_attempts_arg())
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

/// Where the lines come from.
enum Input {
    File(PathBuf),
    Stdin,
}

impl Input {
    fn name(&self) -> String {
        match self {
            Self::File(path) => path.display().to_string(),
            Self::Stdin => "-".to_owned(),
        }
    }
}

/// The settings of one bulk run, resolved from the command line.
struct Settings {
    input: Input,
    format: Option<InputFormat>,
    options: BulkOptions,
    journal: Option<PathBuf>,
    report: Option<PathBuf>,
    not_found_ok: bool,
    yes: bool,
}

fn settings(matches: &ArgMatches) -> Result<Settings, Fatal> {
    let input = match matches.get_one::<String>("input").map(String::as_str) {
        Some("-") => Input::Stdin,
        Some(path) => Input::File(PathBuf::from(path)),
        None => unreachable!("clap requires the input"),
    };
    let format = match matches.get_one::<String>("format") {
        Some(format) => Some(format.parse().map_err(Fatal::usage)?),
        None => match &input {
            Input::File(path) => InputFormat::from_path(path),
            Input::Stdin => None,
        },
    };
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
    Ok(Settings {
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
        yes: matches.get_flag("yes"),
    })
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
    let settings = settings(matches)?;
    let rates = rates(matches)?;
    for (provider, rate) in &rates {
        builder = builder.rate(provider, *rate);
    }
    if let Some(attempts) = matches.get_one::<u32>("max-attempts") {
        builder = builder.max_attempts(*attempts);
    }
    let host = builder.build()?;
    for (provider, _) in &rates {
        if host.provider(provider).is_none() {
            return Err(Fatal::usage(format!(
                "--rate names provider {provider:?}, which is not loaded (loaded providers: {})",
                host.registry().provider_names()
            )));
        }
    }

    if let Input::File(path) = &settings.input
        && let Err(e) = File::open(path)
    {
        return Err(Fatal::usage(format!(
            "cannot read input {}: {e}",
            path.display()
        )));
    }

    // A real run over a file reads it once first: its identity for the journal,
    // its size for the progress bar, its providers for the credential check and
    // the confirmation.
    let survey = match (&settings.input, settings.options.dry_run) {
        (Input::File(path), false) => Some(
            survey(path, settings.format)
                .map_err(|e| Fatal::usage(format!("cannot read input {}: {e}", path.display())))?,
        ),
        _ => None,
    };
    if let Some(survey) = &survey {
        check_credentials(&host, survey)?;
        if !settings.yes
            && io::stdin().is_terminal()
            && io::stderr().is_terminal()
            && !confirm(survey)?
        {
            eprintln!("revoker: nothing sent");
            return Ok(Exit::Failure);
        }
    }

    let started = Instant::now();
    let identity = InputIdentity {
        name: settings.input.name(),
        sha256: survey.as_ref().map(|s| s.sha256.clone()),
    };
    let (journal_file, journal_state, in_doubt) = match &settings.journal {
        Some(path) => {
            let mut journal = Journal::open(path, &identity).map_err(journal_fatal)?;
            let in_doubt = match &settings.report {
                Some(report) => journal.reconcile_report(report).map_err(journal_fatal)?,
                None => journal.in_doubt(),
            };
            let (file, state) = journal.into_parts();
            (Some(file), state, in_doubt)
        }
        None => (None, JournalState::default(), Vec::new()),
    };
    let resuming = journal_state.finished_count() > 0 || !in_doubt.is_empty();
    if resuming && !quiet {
        eprintln!(
            "revoker: resuming: {} lines already done, {} creates in doubt",
            journal_state.finished_count(),
            in_doubt.len()
        );
    }
    let report_file = match &settings.report {
        Some(path) => Some(open_report(path, resuming)?),
        None => None,
    };
    let recorder = Recorder::start(report_file, journal_file);

    let total = survey
        .as_ref()
        .map(|s| s.items.saturating_sub(journal_state.finished_count()));
    let progress = progress_bar(total, quiet);
    let mut out = Output {
        stdout: BufWriter::new(io::stdout()),
        format,
        progress: &progress,
        not_found_ok: settings.not_found_ok,
        dry_run: settings.options.dry_run,
        summary: Summary::default(),
    };

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Fatal::config(format!("cannot start the async runtime: {e}")))?;
    let ended = runtime.block_on(async {
        // Creates that were in flight when an earlier run stopped: settled as
        // unknown, never sent again.
        let mut state = journal_state;
        let settled = in_doubt.len() as u64;
        for doubt in in_doubt {
            let result = RequestResult::unsent(
                &doubt.request,
                OutcomeKind::Unknown,
                "this create was being sent when an earlier run stopped: it may have \
                 created a key; check the provider before creating another",
            );
            out.finished(&recorder, doubt.line, doubt.digest, true, &result)
                .await?;
            state.mark_finished(doubt.line, doubt.digest);
        }
        let skipped = Arc::new(AtomicU64::new(0));
        let items = read_input(
            &settings,
            Resume {
                state,
                skipped: Arc::clone(&skipped),
            },
        )?;
        let ended = drive(&host, &settings, &recorder, items, &mut out).await;
        // The creates settled above are skipped by the reader, but were handled here.
        out.summary.skipped = skipped.load(Ordering::Relaxed).saturating_sub(settled);
        ended
    });
    progress.finish_and_clear();
    let flushed = recorder.finish();
    let _ = out.stdout.flush();

    let mut summary = out.summary;
    summary.elapsed = started.elapsed();
    let ended = ended?;
    summary.interrupted = ended == Ended::Interrupted;
    if !quiet {
        eprint!("{}", summary.to_human());
    }
    if format == OutputFormat::Json {
        let mut stdout = io::stdout().lock();
        let _ = stdout.write_all(output::json_line(&summary.to_json()).as_bytes());
    }
    flushed.map_err(Fatal::config)?;
    match ended {
        Ended::Interrupted => Ok(Exit::Interrupted),
        // A dry run that planned its input succeeded: the lines a real run would
        // refuse are listed and counted, and would not stop it either.
        Ended::Done if summary.failed > 0 && !settings.options.dry_run => Ok(Exit::Failure),
        Ended::Done => Ok(Exit::Success),
    }
}

fn journal_fatal(error: JournalError) -> Fatal {
    match error {
        JournalError::Io { .. } => Fatal::config(error.to_string()),
        _ => Fatal::usage(error.to_string()),
    }
}

fn open_report(path: &Path, resuming: bool) -> Result<File, Fatal> {
    let opened = if resuming {
        secure_file::open_append(path)
    } else {
        secure_file::create(path)
    };
    opened.map_err(|e| Fatal::config(format!("cannot write report {}: {e}", path.display())))
}

/// Refuses a run whose file names a provider without a credential, before
/// anything is sent.
fn check_credentials(host: &Host, survey: &revoker_host::bulk::Survey) -> Result<(), Fatal> {
    let mut lines_per_provider = std::collections::BTreeMap::<&str, u64>::new();
    for ((provider, _), lines) in &survey.operations {
        *lines_per_provider.entry(provider).or_default() += lines;
    }
    for (provider, lines) in lines_per_provider {
        if host.provider(provider).is_some()
            && let Err(error) = host.require_credential(provider)
        {
            return Err(Fatal::config(format!(
                "{error} ({lines} lines of the input need it)"
            )));
        }
    }
    Ok(())
}

/// Shows what the run will do and asks to go on.
fn confirm(survey: &revoker_host::bulk::Survey) -> Result<bool, Fatal> {
    eprintln!("revoker bulk will send, for {} lines:", survey.items);
    for ((provider, operation), lines) in &survey.operations {
        eprintln!("  {lines:>8}  {provider} {operation}");
    }
    if survey.unreadable > 0 {
        eprintln!(
            "  {:>8}  unreadable lines (reported, not sent)",
            survey.unreadable
        );
    }
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
                "{spinner} {elapsed_precise} [{wide_bar}] {pos}/{len} {per_sec} ETA {eta} {msg}",
            )
            .expect("valid template"),
        ),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template("{spinner} {elapsed_precise} {pos} lines {per_sec} {msg}")
                .expect("valid template"),
        ),
    };
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Lines handed from the input thread to the run at once, at most.
const CHUNK: usize = 256;

/// The run's lines, or why the input cannot go on.
type Lines<'a> = Pin<Box<dyn Stream<Item = Result<BulkItem, String>> + 'a>>;

/// Skips the lines an earlier run finished, and stops at a line that is not the
/// one the journal recorded.
struct Resume {
    state: JournalState,
    skipped: Arc<AtomicU64>,
}

impl Resume {
    fn admit(&self, item: BulkItem) -> Result<Option<BulkItem>, String> {
        match self.state.finished(item.line) {
            None => Ok(Some(item)),
            Some(digest) if digest == item.digest => {
                self.skipped.fetch_add(1, Ordering::Relaxed);
                Ok(None)
            }
            Some(_) => Err(format!(
                "line {} of the input is not the line the journal recorded: the journal \
                 belongs to another input",
                item.line
            )),
        }
    }
}

/// The input's lines, minus those an earlier run finished. A file is read in
/// place, between requests (its reads do not block for long); stdin on a thread
/// of its own, since a slow producer must not stall requests in flight.
fn read_input<'a>(settings: &Settings, resume: Resume) -> Result<Lines<'a>, Fatal> {
    let reader_error = |e: io::Error| format!("cannot read the input: {e}");
    match &settings.input {
        Input::File(path) => {
            let file = File::open(path)
                .map_err(|e| Fatal::usage(format!("cannot read input {}: {e}", path.display())))?;
            let mut input =
                InputReader::new(BufReader::with_capacity(256 * 1024, file), settings.format);
            let mut failed = false;
            let lines = std::iter::from_fn(move || {
                while !failed {
                    let next = match input.next_item() {
                        Ok(Some(item)) => resume.admit(item),
                        Ok(None) => return None,
                        Err(e) => Err(reader_error(e)),
                    };
                    failed = next.is_err();
                    if let Some(next) = next.transpose() {
                        return Some(next);
                    }
                }
                None
            });
            Ok(Box::pin(futures_util::stream::iter(lines)))
        }
        Input::Stdin => {
            let mut input = InputReader::new(
                BufReader::with_capacity(256 * 1024, io::stdin()),
                settings.format,
            );
            let (tx, mut rx) = mpsc::channel::<Vec<Result<BulkItem, String>>>(16);
            // The thread ends with the input, or when the run drops the receiver.
            // Lines go over in chunks, so that the two threads do not wake each
            // other for every line; a chunk goes as soon as reading more could
            // block, so a trickling stdin is not held back.
            std::thread::Builder::new()
                .name("revoker-input".into())
                .spawn(move || {
                    let mut chunk = Vec::with_capacity(CHUNK);
                    loop {
                        let next = match input.next_item() {
                            Ok(Some(item)) => resume.admit(item).transpose(),
                            Ok(None) => break,
                            Err(e) => Some(Err(reader_error(e))),
                        };
                        let failed = matches!(next, Some(Err(_)));
                        chunk.extend(next);
                        if failed {
                            break;
                        }
                        if (chunk.len() >= CHUNK || input.get_ref().buffer().is_empty())
                            && !chunk.is_empty()
                            && tx
                                .blocking_send(std::mem::replace(
                                    &mut chunk,
                                    Vec::with_capacity(CHUNK),
                                ))
                                .is_err()
                        {
                            return;
                        }
                    }
                    if !chunk.is_empty() {
                        let _ = tx.blocking_send(chunk);
                    }
                })
                .expect("spawn the input thread");
            let chunks = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
            Ok(Box::pin(chunks.flat_map(futures_util::stream::iter)))
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Done,
    Interrupted,
}

/// Runs the engine over the input, recording and printing each event, until the
/// input ends, Ctrl-C, or an error.
async fn drive(
    host: &Host,
    settings: &Settings,
    recorder: &Recorder,
    items: Lines<'_>,
    out: &mut Output<'_>,
) -> Result<Ended, Fatal> {
    let bulk = Bulk::new(host, settings.options).journal_to(recorder);
    let input_error = std::cell::RefCell::new(None);
    let input = items.scan((), |(), item| {
        std::future::ready(match item {
            Ok(item) => Some(item),
            Err(e) => {
                *input_error.borrow_mut() = Some(e);
                None
            }
        })
    });
    let mut events = pin!(bulk.run(input));
    let mut interrupted = false;
    let mut fatal = None;
    let mut ctrl_c = pin!(tokio::signal::ctrl_c());
    loop {
        tokio::select! {
            event = events.next() => {
                let Some(event) = event else { break };
                let handled = match event {
                    BulkEvent::Planned { line, planned, .. } => {
                        out.planned(recorder, line, &planned)
                    }
                    BulkEvent::Finished { line, digest, create, result } => {
                        out.finished(recorder, line, digest, create, &result).await
                    }
                    BulkEvent::Aborted { error, .. } => Err(Fatal::from(error)),
                };
                if let Err(e) = handled {
                    bulk.stop();
                    fatal.get_or_insert(e);
                }
            }
            _ = &mut ctrl_c => {
                if interrupted {
                    // The second Ctrl-C: out now; the journal keeps the run resumable.
                    std::process::exit(Exit::Interrupted as i32);
                }
                interrupted = true;
                bulk.stop();
                out.progress.suspend(|| eprintln!(
                    "revoker: stopping: finishing the requests in flight (Ctrl-C again to quit now)"
                ));
                ctrl_c.set(tokio::signal::ctrl_c());
            }
        }
    }
    if let Some(fatal) = fatal {
        return Err(fatal);
    }
    if let Some(error) = input_error.take() {
        return Err(Fatal::usage(error));
    }
    Ok(if interrupted {
        Ended::Interrupted
    } else {
        Ended::Done
    })
}

/// Where a run's results go as they come: the recorder, stdout, the progress
/// bar and the summary.
struct Output<'a> {
    stdout: BufWriter<Stdout>,
    format: OutputFormat,
    progress: &'a ProgressBar,
    not_found_ok: bool,
    dry_run: bool,
    summary: Summary,
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

    fn planned(
        &mut self,
        recorder: &Recorder,
        line: u64,
        planned: &revoker_host::PlannedRequest,
    ) -> Result<(), Fatal> {
        self.summary.record_planned(&planned.request().provider);
        self.progress.inc(1);
        let text = match self.format {
            OutputFormat::Json => output::json_line(&PlannedJson {
                planned,
                line: Some(line),
            }),
            OutputFormat::Human => output::dry_run_line(planned, line),
        };
        self.print(&text, false);
        recorder.planned(line, planned).map_err(Fatal::config)
    }

    async fn finished(
        &mut self,
        recorder: &Recorder,
        line: u64,
        digest: revoker_host::bulk::LineDigest,
        create: bool,
        result: &RequestResult,
    ) -> Result<(), Fatal> {
        let success =
            result.is_success() || (self.not_found_ok && result.outcome == OutcomeKind::NotFound);
        self.summary.record(result, success);
        self.progress.inc(1);
        if !success {
            self.progress
                .set_message(format!("{} failed", self.summary.failed));
        }
        // The report (and journal) first: a created key's value must be on disk
        // before anything else happens.
        recorder
            .finished(line, digest, result, create)
            .await
            .map_err(Fatal::config)?;
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
        Ok(())
    }
}

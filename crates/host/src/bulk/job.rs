//! A whole bulk job, as `revoker bulk` runs it: the input read once, the journal
//! locked and resumed, creates in doubt settled, credentials checked, every line
//! run by the engine, recorded (report first, then journal) and counted.
//!
//! ```text
//! JobSpec ─► BulkJob::prepare: spool + hash + survey the input (read once),
//!            lock the journal, reconcile the report, check credentials
//!         ─► PreparedJob::run ─► JobEvent stream … JobEvent::Done(Summary)
//! ```
//!
//! The caller renders events and may stop the job ([`StopHandle`]); everything
//! that must be on disk before the run goes on is written here, before the event
//! is yielded.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek as _, SeekFrom, Write as _};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use futures_util::{Stream, StreamExt as _};
use secrecy::ExposeSecret as _;
use sha2::{Digest as _, Sha256};
use tokio::sync::mpsc;

use super::input::{self, BulkItem, InputFormat, InputReader};
use super::journal::{InputIdentity, Journal, JournalError, JournalState, StartedCreate};
use super::recorder::Recorder;
use super::summary::Summary;
use super::{Bulk, BulkEvent, BulkOptions, Retry, StopHandle};
use crate::error::{Error, RecordError, RecordFile};
use crate::files;
use crate::host::Host;
use crate::model::{Outcome, RequestResult, hex};
use crate::plan::PlannedRequest;
use crate::provider::FlowStatus;
use crate::resolution::FindingsPlan;

/// Where a job's lines come from.
pub enum InputSource {
    /// A file (or a FIFO, or `/dev/fd/N` from process substitution).
    File(PathBuf),
    /// This process's standard input.
    Stdin,
    /// Any reader, named for messages and the journal.
    Reader {
        /// The name recorded in the journal.
        name: String,
        /// The bytes.
        reader: Box<dyn Read + Send>,
    },
    /// A scanner's report, resolved ([`Resolutions::bulk_plan`]): its lines
    /// are the input, and the journal binds to the report
    /// ([`FindingsPlan::sha256`]). A line's secret parameter is given to it
    /// as it is sent, never written.
    ///
    /// [`Resolutions::bulk_plan`]: crate::resolution::Resolutions::bulk_plan
    Findings {
        /// The report as named in messages and the journal (`-` for stdin).
        name: String,
        /// The report's file, to keep the journal and report off it.
        path: Option<PathBuf>,
        /// The resolved lines.
        plan: Arc<FindingsPlan>,
    },
}

impl std::fmt::Debug for InputSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

impl InputSource {
    /// The input as named in messages and the journal (`-` for stdin).
    pub fn name(&self) -> String {
        match self {
            Self::File(path) => path.display().to_string(),
            Self::Stdin => "-".to_owned(),
            Self::Reader { name, .. } | Self::Findings { name, .. } => name.clone(),
        }
    }
}

/// What a job is asked to do.
#[derive(Debug)]
pub struct JobSpec {
    /// The input.
    pub input: InputSource,
    /// Its format; `None`: from the file's extension, else its first line.
    pub format: Option<InputFormat>,
    /// Concurrency, dry run, lookahead.
    pub options: BulkOptions,
    /// Where each line's final outcome is journaled, for resuming.
    pub journal: Option<PathBuf>,
    /// Where each line's result is written.
    pub report: Option<PathBuf>,
    /// Whether `not-found` counts as done.
    pub not_found_ok: bool,
}

impl JobSpec {
    /// A job over `input` with the default options and no journal or report.
    pub fn new(input: InputSource) -> Self {
        Self {
            input,
            format: None,
            options: BulkOptions::default(),
            journal: None,
            report: None,
            not_found_ok: false,
        }
    }
}

/// What the input holds, read once before anything is sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Survey {
    /// The SHA-256 of the input's bytes, hex.
    pub sha256: String,
    /// How many items (non-blank lines) it has.
    pub items: u64,
    /// How many of them are not requests at all (not JSON, too long, …).
    pub unreadable: u64,
    /// Items per provider and operation, as written (they may not exist).
    pub operations: BTreeMap<(String, String), u64>,
    /// A CSV input's parameter columns (its header after
    /// `provider,operation`); empty for JSONL.
    pub csv_params: Vec<String>,
}

/// What an earlier run with the same journal left.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resumed {
    /// Lines an earlier run finished for good (succeeded, or a create that
    /// must not be sent again): not sent now.
    pub settled: u64,
    /// Of those, the ones that did not succeed (a create in doubt, say).
    pub settled_failed: u64,
    /// Lines an earlier run finished without success, sent again now.
    pub retried: u64,
    /// Creates that were being sent when an earlier run stopped: settled now as
    /// `unknown`, never sent again.
    pub in_doubt: u64,
}

/// What happened in a job, in the order it happened.
#[derive(Debug)]
#[non_exhaustive]
pub enum JobEvent {
    /// A dry run planned a line (nothing was sent).
    Planned {
        /// The line.
        line: u64,
        /// The request that would be sent.
        planned: Box<PlannedRequest>,
        /// The earlier line with the same request: a real run sends it once,
        /// for both.
        duplicate_of: Option<u64>,
    },
    /// A line has its final result, already recorded in the report and journal.
    Finished {
        /// The line.
        line: u64,
        /// Whether it counts as done.
        success: bool,
        /// The result.
        result: RequestResult,
    },
    /// A provider's pace moved: it throttled an answer (a line goes again, or
    /// finished after being throttled), its rate moved by a tenth or more, or
    /// its hold began or ended; and, while it is held, once a second (the hold
    /// counting down). What the provider's flow controller says now.
    Pace {
        /// The provider.
        provider: String,
        /// Its flow controller's state.
        status: FlowStatus,
    },
    /// A line's request goes again (after a server error, a lost connection,
    /// or a throttled answer), not yet finished.
    Retrying {
        /// The line.
        line: u64,
        /// What its last send got, and how long it waits.
        retry: Retry,
    },
    /// Something a person should know that does not stop the job.
    Warning(String),
    /// The job cannot go on: nothing more is sent. Yielded once.
    Fatal(Error),
    /// The job ended; the last event. The summary covers every line of the
    /// input, those settled by earlier runs included.
    Done(Summary),
}

/// A job, before it is prepared.
#[derive(Debug)]
pub struct BulkJob;

impl BulkJob {
    /// Reads the input once (to a private spool, hashing and surveying it),
    /// opens and locks the journal, reconciles the report, and checks that
    /// every provider the input names has its credential: nothing is sent.
    ///
    /// # Errors
    ///
    /// [`Error::Input`] if the input cannot be read, [`Error::SameFile`] if two
    /// of the input, journal, report and audit log are one file,
    /// [`Error::UnsafeFile`] if the journal or report is a symbolic link, not
    /// a regular file or another user's, [`Error::JournalRefused`] if the
    /// journal cannot be used (another run holds it, it belongs to another
    /// input), [`Error::Record`] if the journal or report cannot be written,
    /// [`Error::MissingCredential`] naming the lines that need it.
    pub fn prepare(host: &Host, spec: JobSpec) -> Result<PreparedJob, Error> {
        let name = spec.input.name();
        let format = spec.format.or(match &spec.input {
            InputSource::File(path) => InputFormat::from_path(path),
            InputSource::Findings { .. } => Some(InputFormat::Jsonl),
            _ => None,
        });
        let input_error = |e: io::Error| Error::Input(format!("cannot read input {name}: {e}"));
        let mut findings = None;
        let (reader, input_id): (Box<dyn Read>, _) = match spec.input {
            InputSource::File(path) => {
                let file = File::open(&path).map_err(input_error)?;
                let id = files::FileId::of_file(&file).ok();
                (Box::new(file), id)
            }
            InputSource::Stdin => (Box::new(io::stdin()), files::FileId::of_stdin()),
            InputSource::Reader { reader, .. } => (reader, None),
            InputSource::Findings { path, plan, .. } => {
                let id = path.as_deref().map(files::FileId::of_path);
                let text = io::Cursor::new(plan.text().as_bytes().to_vec());
                findings = Some(plan);
                (Box::new(text), id)
            }
        };
        // Before a byte is written: the files written are safe to write, and
        // no two of the input, journal, report and audit log are one file.
        let mut run_files = Vec::new();
        if let Some(id) = input_id {
            run_files.push(files::RunFile {
                role: "input",
                path: PathBuf::from(&name),
                id,
            });
        }
        for (role, path) in [("journal", &spec.journal), ("report", &spec.report)] {
            if let Some(path) = path {
                files::check_path(path).map_err(|source| Error::UnsafeFile { role, source })?;
                let id = files::FileId::of_path(path);
                run_files.push(files::RunFile {
                    role,
                    path: path.clone(),
                    id,
                });
            }
        }
        if let Some(audit) = host.audit_log() {
            run_files.push(files::RunFile {
                role: "audit log",
                path: audit.path().to_owned(),
                id: audit.file_id().clone(),
            });
        }
        files::distinct(&run_files)?;
        let (survey, spool) = spool(reader, format).map_err(input_error)?;
        check_columns(host, &survey).map_err(|e| Error::Input(format!("the input {name}: {e}")))?;
        let mut warnings = Vec::new();
        // A findings run's report may resolve to nothing: its table says why.
        if survey.items == 0 && findings.is_none() {
            warnings.push(format!(
                "the input {name} holds no lines: nothing to do (did the program that wrote it fail?)"
            ));
        }
        if !spec.options.dry_run {
            check_credentials(host, &survey)?;
        }

        let identity = InputIdentity {
            name: name.clone(),
            sha256: Some(match &findings {
                Some(plan) => plan.sha256().to_owned(),
                None => survey.sha256.clone(),
            }),
        };
        let (journal_file, state, in_doubt) = match &spec.journal {
            Some(path) => {
                let mut journal = Journal::open(path, &identity).map_err(journal_error)?;
                let in_doubt = match &spec.report {
                    Some(report) => journal.reconcile_report(report).map_err(journal_error)?,
                    None => journal.in_doubt(),
                };
                let (file, state) = journal.into_parts();
                (Some(file), state, in_doubt)
            }
            None => (None, JournalState::default(), Vec::new()),
        };
        let resumed = Resumed {
            settled: state.settled_count(),
            settled_failed: state.settled_failed_count(),
            retried: state.retry_count(),
            in_doubt: in_doubt.len() as u64,
        };
        let resuming = state.finished_count() > 0 || !in_doubt.is_empty();
        let report = match &spec.report {
            Some(path) => Some(
                if resuming {
                    files::open_append(path)
                } else {
                    files::create(path)
                }
                .map_err(|e| RecordError::Write {
                    file: RecordFile::Report,
                    kind: e.kind(),
                    message: format!("{}: {e}", path.display()),
                })?,
            ),
            None => None,
        };
        Ok(PreparedJob {
            host: host.clone(),
            spool,
            format,
            options: spec.options,
            not_found_ok: spec.not_found_ok,
            survey,
            resumed,
            state,
            in_doubt,
            journal: journal_file,
            report,
            warnings,
            findings,
            stop: StopHandle::default(),
        })
    }
}

fn journal_error(error: JournalError) -> Error {
    match error {
        JournalError::Io { ref source, .. } => Error::Record(RecordError::Write {
            file: RecordFile::Journal,
            kind: source.kind(),
            message: error.to_string(),
        }),
        _ => Error::JournalRefused(error.to_string()),
    }
}

/// Refuses a CSV input with a column that no operation of the providers it
/// names takes: a misnamed column would fail every line the same way.
fn check_columns(host: &Host, survey: &Survey) -> Result<(), String> {
    let providers: std::collections::BTreeSet<&str> = survey
        .operations
        .keys()
        .map(|(provider, _)| provider.as_str())
        .collect();
    let plugins: Vec<_> = providers
        .iter()
        .filter_map(|provider| host.provider(provider))
        .map(|runtime| runtime.plugin.manifest())
        .collect();
    if plugins.is_empty() {
        // Nothing to check against: each line reports its unknown provider.
        return Ok(());
    }
    let taken: std::collections::BTreeSet<&str> = plugins
        .iter()
        .flat_map(|manifest| manifest.operations.iter())
        .flat_map(|operation| operation.params.iter())
        .map(|param| param.name.as_str())
        .collect();
    match survey
        .csv_params
        .iter()
        .find(|column| !taken.contains(column.as_str()))
    {
        None => Ok(()),
        Some(column) => Err(format!(
            "the CSV header names a column {column:?} that no operation of {} takes \
             (their parameters: {}): rename or remove that column; nothing was sent",
            plugins
                .iter()
                .map(|manifest| manifest.provider.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            taken.into_iter().collect::<Vec<_>>().join(", "),
        )),
    }
}

/// Refuses a job whose input names a provider without a credential, before
/// anything is sent.
fn check_credentials(host: &Host, survey: &Survey) -> Result<(), Error> {
    let mut lines_per_provider = BTreeMap::<&str, u64>::new();
    for ((provider, _), lines) in &survey.operations {
        *lines_per_provider.entry(provider).or_default() += lines;
    }
    for (provider, lines) in lines_per_provider {
        if host.provider(provider).is_some()
            && let Err(error) = host.require_credential(provider)
        {
            return Err(match error {
                Error::MissingCredential {
                    provider, expected, ..
                } => Error::MissingCredential {
                    provider,
                    expected,
                    lines: Some(lines),
                },
                other => other,
            });
        }
    }
    Ok(())
}

/// Copies `reader` to a private, unnamed temporary file, hashing the bytes and
/// surveying what they ask; the job runs from that copy, so the bytes hashed,
/// checked and executed are the same, whatever the source.
fn spool(reader: Box<dyn Read + '_>, format: Option<InputFormat>) -> io::Result<(Survey, File)> {
    let file = tempfile::tempfile()?;
    let tee = Tee {
        inner: reader,
        hasher: Sha256::new(),
        copy: BufWriter::with_capacity(256 * 1024, file),
        error: None,
    };
    let mut survey = Survey::default();
    let heads = input::read_heads(BufReader::with_capacity(256 * 1024, tee), format, |head| {
        survey.items += 1;
        let Some((provider, operation)) = head else {
            survey.unreadable += 1;
            return;
        };
        // Usually a few distinct operations: look up before allocating a key.
        let known = (survey.operations.len() <= 16)
            .then(|| {
                survey
                    .operations
                    .iter_mut()
                    .find(|((p, o), _)| p == provider && o == operation)
            })
            .flatten();
        match known {
            Some((_, count)) => *count += 1,
            None => {
                *survey
                    .operations
                    .entry((provider.to_owned(), operation.to_owned()))
                    .or_default() += 1;
            }
        }
    })?;
    survey.csv_params = heads.csv_params.unwrap_or_default();
    let tee = heads.input.into_inner();
    if let Some(error) = tee.error {
        return Err(error);
    }
    survey.sha256 = hex(&tee.hasher.finalize());
    let mut file = tee
        .copy
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?;
    file.seek(SeekFrom::Start(0))?;
    Ok((survey, file))
}

/// Reads `inner`, hashing and copying every byte read.
struct Tee<R> {
    inner: R,
    hasher: Sha256,
    copy: BufWriter<File>,
    /// A failure to write the copy, reported after reading.
    error: Option<io::Error>,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        if let Err(e) = self.copy.write_all(&buf[..n]) {
            self.error.get_or_insert(e);
        }
        Ok(n)
    }
}

/// A job ready to run: its input read, its journal open.
#[derive(Debug)]
pub struct PreparedJob {
    host: Host,
    spool: File,
    format: Option<InputFormat>,
    options: BulkOptions,
    not_found_ok: bool,
    survey: Survey,
    resumed: Resumed,
    state: JournalState,
    in_doubt: Vec<StartedCreate>,
    journal: Option<File>,
    report: Option<File>,
    warnings: Vec<String>,
    /// A findings run's plan: the secrets its lines take.
    findings: Option<Arc<FindingsPlan>>,
    stop: StopHandle,
}

/// Lines handed from the input thread to the run at once, at most.
const CHUNK: usize = 256;

impl PreparedJob {
    /// What the input holds.
    pub fn survey(&self) -> &Survey {
        &self.survey
    }

    /// What an earlier run with the same journal left.
    pub fn resumed(&self) -> Resumed {
        self.resumed
    }

    /// The lines this run will handle (the input's, minus those settled by an
    /// earlier run).
    pub fn remaining(&self) -> u64 {
        self.survey.items.saturating_sub(self.resumed.settled)
    }

    /// A handle that stops the job: no new line is taken, requests in flight
    /// finish, lines waiting (for a rate, a retry) are left for the next run.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Runs the job: a stream of events, ending with [`JobEvent::Done`].
    pub fn run(self) -> impl Stream<Item = JobEvent> + Send + 'static {
        let (tx, rx) = mpsc::channel::<JobEvent>(64);
        let driver = self.drive(tx);
        let events = futures_util::stream::poll_fn({
            let mut rx = rx;
            move |cx| rx.poll_recv(cx)
        });
        futures_util::stream::select(
            events.map(Some),
            futures_util::stream::once(driver).map(|()| None),
        )
        .filter_map(std::future::ready)
    }

    async fn drive(self, tx: mpsc::Sender<JobEvent>) {
        let started = Instant::now();
        let PreparedJob {
            host,
            spool,
            format,
            options,
            not_found_ok,
            survey: _,
            resumed,
            mut state,
            in_doubt,
            journal,
            report,
            warnings,
            findings,
            stop,
        } = self;
        for warning in warnings {
            let _ = tx.send(JobEvent::Warning(warning)).await;
        }
        let recorder = Recorder::start(report, journal);
        let mut summary = Summary {
            settled_earlier: resumed.settled,
            settled_earlier_failed: resumed.settled_failed,
            ..Summary::default()
        };
        let mut fatal: Option<Error> = None;

        // Creates in flight when an earlier run stopped: `unknown`, never resent.
        for doubt in in_doubt {
            let result = RequestResult::unsent(
                &doubt.request,
                Outcome::Unknown,
                "this create was being sent when an earlier run stopped: it may have \
                 created a key; check the provider before creating another",
            );
            if let Err(e) = recorder
                .finished(doubt.line, doubt.digest, &result, true)
                .await
            {
                fatal.get_or_insert(Error::Record(e));
                break;
            }
            state.mark_settled(doubt.line, doubt.digest);
            summary.record(&result, false);
            let _ = tx
                .send(JobEvent::Finished {
                    line: doubt.line,
                    success: false,
                    result,
                })
                .await;
        }

        if fatal.is_none() {
            let items = read_spool(spool, format, state, findings, stop.clone());
            let (retry_tx, mut retries) = mpsc::unbounded_channel();
            let bulk = Bulk::with_stop(&host, options, stop.clone())
                .journal_to(&recorder)
                .notify_retries(retry_tx);
            let mut events = std::pin::pin!(bulk.run(items.input));
            let mut paces = PaceWatch::default();
            let mut tick = tokio::time::interval(PACE_TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                let event = tokio::select! {
                    biased;
                    Some((line, retry)) = retries.recv() => {
                        let throttled = retry.throttled;
                        let _ = tx.send(JobEvent::Retrying { line, retry }).await;
                        if throttled {
                            paces.send_changes(&host, &tx).await;
                        }
                        continue;
                    }
                    _ = tick.tick() => {
                        paces.send_changes(&host, &tx).await;
                        continue;
                    }
                    event = events.next() => match event {
                        Some(event) => event,
                        None => break,
                    },
                };
                let handled = match event {
                    BulkEvent::Planned {
                        line,
                        planned,
                        duplicate_of,
                        ..
                    } => {
                        summary.record_planned(&planned.request().provider);
                        let recorded = recorder
                            .planned(line, &planned, duplicate_of)
                            .map_err(Error::Record);
                        let _ = tx
                            .send(JobEvent::Planned {
                                line,
                                planned,
                                duplicate_of,
                            })
                            .await;
                        recorded
                    }
                    BulkEvent::Finished {
                        line,
                        digest,
                        create,
                        result,
                    } => {
                        let success = result.is_success()
                            || (not_found_ok && result.outcome == Outcome::NotFound);
                        summary.record(&result, success);
                        // The report (and journal) first: a created key's value
                        // must be on disk before anything else happens.
                        let recorded = recorder
                            .finished(line, digest, &result, create)
                            .await
                            .map_err(Error::Record);
                        let paced = result.throttled > 0;
                        let _ = tx
                            .send(JobEvent::Finished {
                                line,
                                success,
                                result,
                            })
                            .await;
                        if paced {
                            paces.send_changes(&host, &tx).await;
                        }
                        recorded
                    }
                    BulkEvent::Aborted { error, .. } => Err(error),
                };
                if let Err(error) = handled {
                    stop.stop();
                    fatal.get_or_insert(error);
                }
            }
            if let Some(error) = items.error.lock().ok().and_then(|mut e| e.take()) {
                fatal.get_or_insert(Error::Input(error));
            }
        }
        let flushed = recorder.finish();
        if let Err(e) = flushed {
            fatal.get_or_insert(Error::Record(e));
        }
        if let Some(why) = host.audit_failure() {
            if host.audit_required() {
                fatal.get_or_insert(Error::Audit(why.clone()));
            } else {
                let _ = tx
                    .send(JobEvent::Warning(format!(
                        "{why}: the audit log is incomplete"
                    )))
                    .await;
            }
        }
        summary.record_flow(host.flow_status());
        summary.elapsed = started.elapsed();
        summary.interrupted = stop.is_stopped() && fatal.is_none();
        if let Some(error) = fatal {
            let _ = tx.send(JobEvent::Fatal(error)).await;
        }
        let _ = tx.send(JobEvent::Done(summary)).await;
    }
}

/// How often the job looks at its providers' pace when nothing else happens.
const PACE_TICK: std::time::Duration = std::time::Duration::from_secs(1);

/// What the last [`JobEvent::Pace`] of each provider said, to send the next
/// only when something moved.
#[derive(Default)]
struct PaceWatch {
    seen: BTreeMap<String, FlowStatus>,
}

impl PaceWatch {
    /// The providers whose pace moved since their last event, with what their
    /// flow controllers say now.
    fn changes(&mut self, host: &Host) -> Vec<JobEvent> {
        let mut events = Vec::new();
        for (provider, status) in host.flow_status() {
            let moved = match self.seen.get(&provider) {
                None => status.throttled > 0 || status.held_for.is_some(),
                Some(seen) => pace_moved(seen, &status),
            };
            if moved {
                self.seen.insert(provider.clone(), status);
                events.push(JobEvent::Pace { provider, status });
            }
        }
        events
    }

    async fn send_changes(&mut self, host: &Host, tx: &mpsc::Sender<JobEvent>) {
        for event in self.changes(host) {
            let _ = tx.send(event).await;
        }
    }
}

/// Whether a provider's pace moved enough since `seen` to tell the caller.
fn pace_moved(seen: &FlowStatus, now: &FlowStatus) -> bool {
    let rate_moved = match (seen.rate, now.rate) {
        (Some(a), Some(b)) => (b - a).abs() >= 0.1 * a,
        (a, b) => a.is_some() != b.is_some(),
    };
    now.throttled != seen.throttled
        || now.held_for.is_some()
        || seen.held_for.is_some() != now.held_for.is_some()
        || rate_moved
}

/// The spool's lines minus those settled by an earlier run, read on a thread
/// of their own and handed over in chunks (the two threads do not wake each
/// other for every line).
struct SpoolLines {
    input: std::pin::Pin<Box<dyn Stream<Item = BulkItem> + Send>>,
    error: Arc<std::sync::Mutex<Option<String>>>,
}

fn read_spool(
    spool: File,
    format: Option<InputFormat>,
    state: JournalState,
    findings: Option<Arc<FindingsPlan>>,
    stop: StopHandle,
) -> SpoolLines {
    let error = Arc::new(std::sync::Mutex::new(None));
    let (tx, mut rx) = mpsc::channel::<Vec<BulkItem>>(16);
    let failed = Arc::clone(&error);
    let spawned = std::thread::Builder::new()
        .name("revoker-input".into())
        .spawn(move || {
            let mut input = InputReader::new(BufReader::with_capacity(256 * 1024, spool), format);
            let mut chunk = Vec::with_capacity(CHUNK);
            loop {
                if stop.is_stopped() {
                    return;
                }
                let mut item = match input.next_item() {
                    Ok(Some(item)) => item,
                    Ok(None) => break,
                    Err(e) => {
                        *failed.lock().unwrap_or_else(|p| p.into_inner()) =
                            Some(format!("cannot read the input: {e}"));
                        break;
                    }
                };
                match state.admit(item.line, item.digest) {
                    Ok(false) => continue,
                    Ok(true) => {
                        // The secret a findings line takes, in memory only.
                        if let Some((name, secret)) =
                            findings.as_ref().and_then(|plan| plan.secret_of(item.line))
                            && let Ok(request) = &mut item.request
                        {
                            request.params.insert(name, secret.expose_secret());
                        }
                        chunk.push(item);
                    }
                    Err(why) => {
                        *failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
                        break;
                    }
                }
                if chunk.len() >= CHUNK
                    && tx
                        .blocking_send(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)))
                        .is_err()
                {
                    return;
                }
            }
            if !chunk.is_empty() {
                let _ = tx.blocking_send(chunk);
            }
        });
    if let Err(e) = spawned {
        *error.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(format!("cannot start the input thread: {e}"));
    }
    let chunks = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    SpoolLines {
        input: Box::pin(chunks.flat_map(futures_util::stream::iter)),
        error,
    }
}

#[cfg(test)]
mod tests {

    fn status(rate: Option<f64>, throttled: u64, held: Option<u64>) -> FlowStatus {
        FlowStatus {
            rate,
            ceiling: None,
            throttled,
            held_for: held.map(std::time::Duration::from_secs),
            in_flight: 0,
            sent_rate: None,
        }
    }

    #[test]
    fn a_pace_is_told_when_it_moves_and_each_time_while_held() {
        let seen = status(Some(10.0), 3, None);
        assert!(
            !pace_moved(&seen, &status(Some(10.5), 3, None)),
            "a twentieth"
        );
        assert!(pace_moved(&seen, &status(Some(11.0), 3, None)), "a tenth");
        assert!(
            pace_moved(&seen, &status(Some(10.0), 4, None)),
            "a throttle"
        );
        assert!(
            pace_moved(&seen, &status(None, 3, None)),
            "no longer limited"
        );
        let held = status(Some(10.0), 3, Some(60));
        assert!(pace_moved(&seen, &held), "a hold begins");
        assert!(
            pace_moved(&held, &status(Some(10.0), 3, Some(59))),
            "counts down"
        );
        assert!(pace_moved(&held, &seen), "a hold ends");
    }

    use super::*;

    fn spooled(text: &str) -> io::Result<(Survey, String)> {
        let (survey, mut file) = spool(Box::new(text.as_bytes()), None)?;
        let mut copy = String::new();
        file.read_to_string(&mut copy)?;
        Ok((survey, copy))
    }

    #[test]
    fn the_spool_holds_the_bytes_it_hashed_and_surveyed() {
        let text = "{\"provider\":\"dolfin\",\"operation\":\"revoke-api-key\",\"params\":{\"id\":\"a\"}}\n\
                    not json\n\n\
                    {\"provider\":\"dolfin\",\"operation\":\"revoke-api-key\",\"params\":{}}\n\
                    {\"provider\":\"pin\\u0061ta\",\"operation\":\"create-gateway-key\"}\n";
        let (survey, copy) = spooled(text).unwrap();
        assert_eq!(copy, text);
        assert_eq!(survey.items, 4);
        assert_eq!(survey.unreadable, 1);
        assert_eq!(
            survey.operations[&("dolfin".into(), "revoke-api-key".into())],
            2
        );
        assert_eq!(
            survey.operations[&("pinata".into(), "create-gateway-key".into())],
            1
        );
        assert_eq!(survey.sha256, hex(&Sha256::digest(text.as_bytes())));
    }

    #[test]
    fn the_spool_reads_csv_and_refuses_a_bad_header() {
        let (survey, _) =
            spooled("provider,operation,id\ndolfin,revoke-api-key,a\nbroken\n").unwrap();
        assert_eq!((survey.items, survey.unreadable), (2, 1));
        assert!(spooled("id,provider\nx,y\n").is_err());
    }
}

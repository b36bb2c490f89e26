//! Bulk revocation: a stream of lines in, a stream of results out, with bounded
//! concurrency, per-provider rate limits, retries, a journal and a report.
//!
//! ```text
//! InputReader (JSONL / CSV, bounded lines) ─► BulkItem{line, digest, request}
//!   ─► Bulk::run: plan ─► wait for the provider's rate, then an in-flight slot ─► send
//!   ─► BulkEvent::Finished{line, result} ─► Recorder (report, then journal) + Summary
//! ```
//!
//! Memory stays flat however long the input: lines are read one at a time, at
//! most [`BulkOptions::lookahead`] are in progress, and the report and journal
//! are written as results arrive.
//!
//! # Example
//!
//! ```no_run
//! use futures_util::StreamExt as _;
//! use revoker_host::bulk::{Bulk, BulkEvent, BulkItem, BulkOptions, LineDigest};
//! use revoker_host::{Host, Params, Request};
//!
//! # async fn run(host: Host) {
//! let requests = ["5eb8b151-77b3-4e46-8243-5b6282131a9e", "0f4c7d1e-2a55-4c3b-9d3e-1b2c3d4e5f60"]
//!     .into_iter()
//!     .enumerate()
//!     .map(|(i, id)| BulkItem {
//!         line: i as u64 + 1,
//!         digest: LineDigest::of(id.as_bytes()),
//!         request: Ok(Request::new("dolfin", "revoke-api-key", Params::from_pairs([("id", id)]))),
//!     });
//! let bulk = Bulk::new(&host, BulkOptions::default());
//! let mut events = std::pin::pin!(bulk.run(futures_util::stream::iter(requests)));
//! while let Some(event) = events.next().await {
//!     if let BulkEvent::Finished { line, result, .. } = event {
//!         println!("line {line}: {}", result.outcome);
//!     }
//! }
//! # }
//! ```

mod input;
mod journal;
mod recorder;
pub mod secure_file;
mod summary;

use std::collections::BTreeMap;
use std::future::ready;
use std::io::{self, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::{Stream, StreamExt as _};
use revoker_plugin_api::OutcomeKind;
use sha2::{Digest, Sha256};
use tokio::sync::{Semaphore, watch};

pub use self::input::{BulkItem, InputFormat, InputReader, LineDigest, MAX_LINE_BYTES};
pub use self::journal::{
    InputIdentity, JOURNAL_FORMAT, Journal, JournalError, JournalState, StartedCreate,
    StartedRecord,
};
pub use self::recorder::{FLUSH_INTERVAL, Recorder, SYNC_INTERVAL};
pub use self::summary::{ProviderCounts, Summary};
use crate::error::{Error, ErrorCategory};
use crate::executor::SendGate;
use crate::host::{Host, PlannedRequest};
use crate::result::RequestResult;

/// How a bulk run goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkOptions {
    /// The most requests in flight at once, across providers.
    pub concurrency: usize,
    /// Plan every line and send nothing.
    pub dry_run: bool,
    /// The most lines in progress at once, including those waiting for their
    /// provider's rate limit: a provider held back by its rate holds up the
    /// others only once this many of its lines are waiting. `None`: the
    /// concurrency when no provider has a rate or concurrency limit of its own,
    /// else 4 × the concurrency and at least 1,024.
    pub lookahead: Option<usize>,
}

impl Default for BulkOptions {
    fn default() -> Self {
        Self {
            concurrency: 32,
            dry_run: false,
            lookahead: None,
        }
    }
}

/// What happened to one line of a bulk run.
#[derive(Debug)]
pub enum BulkEvent {
    /// A dry run planned the line's request (nothing was sent).
    Planned {
        /// The line.
        line: u64,
        /// Its digest.
        digest: LineDigest,
        /// The request that would be sent.
        planned: Box<PlannedRequest>,
    },
    /// The line has its final result.
    Finished {
        /// The line.
        line: u64,
        /// Its digest.
        digest: LineDigest,
        /// Whether its request was not safe to repeat (a create): its result
        /// should be on disk before the run goes on.
        create: bool,
        /// The result.
        result: RequestResult,
    },
    /// The run cannot go on (a credential is missing, the journal cannot be
    /// written); the line stays unfinished, and no new line is taken.
    Aborted {
        /// The line.
        line: u64,
        /// Why.
        error: Error,
    },
}

/// A bulk run over one [`Host`].
#[derive(Debug)]
pub struct Bulk<'a> {
    host: &'a Host,
    options: BulkOptions,
    in_flight: Semaphore,
    stopped: AtomicBool,
    stop_tx: watch::Sender<bool>,
    recorder: Option<&'a Recorder>,
}

impl<'a> Bulk<'a> {
    /// A run over `host` with `options`.
    pub fn new(host: &'a Host, options: BulkOptions) -> Self {
        Self {
            host,
            options,
            in_flight: Semaphore::new(options.concurrency.max(1)),
            stopped: AtomicBool::new(false),
            stop_tx: watch::Sender::new(false),
            recorder: None,
        }
    }

    /// Journals through `recorder`: a create is recorded as started, and synced,
    /// before it is sent.
    #[must_use]
    pub fn journal_to(mut self, recorder: &'a Recorder) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Stops taking new lines: requests already sent finish, those not yet sent
    /// are dropped (a journal leaves them for the next run).
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
        self.stop_tx.send_replace(true);
    }

    /// Whether [`Bulk::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }

    /// Runs `items`, yielding an event per line as it finishes (in completion
    /// order, not line order).
    pub fn run<S>(&'a self, items: S) -> impl Stream<Item = BulkEvent> + 'a
    where
        S: Stream<Item = BulkItem> + 'a,
    {
        let mut stop_rx = self.stop_tx.subscribe();
        let stopped = async move {
            let _ = stop_rx.wait_for(|stopped| *stopped).await;
        };
        items
            .take_until(stopped)
            .map(move |item| self.process(item))
            .buffer_unordered(self.lookahead())
            .filter_map(ready)
    }

    fn lookahead(&self) -> usize {
        let concurrency = self.options.concurrency.max(1);
        match self.options.lookahead {
            Some(lookahead) => lookahead.max(concurrency),
            None if self.host.has_provider_limits() => (concurrency * 4).max(1024),
            None => concurrency,
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(line = item.line))]
    async fn process(&self, item: BulkItem) -> Option<BulkEvent> {
        let BulkItem {
            line,
            digest,
            request,
        } = item;
        let finished = |create: bool, result: RequestResult| {
            Some(BulkEvent::Finished {
                line,
                digest,
                create,
                result,
            })
        };
        let request = match request {
            Ok(request) => request,
            Err(reason) => return finished(false, RequestResult::invalid_line(reason)),
        };
        let planned = match self.host.plan_request(request) {
            Ok(planned) => planned,
            Err(failed) => {
                let (request, error) = *failed;
                let kind = match error.category() {
                    ErrorCategory::Usage => OutcomeKind::InvalidRequest,
                    _ => OutcomeKind::ProviderError,
                };
                return finished(
                    false,
                    RequestResult::unsent(&request, kind, error.to_string()),
                );
            }
        };
        if self.options.dry_run {
            return Some(BulkEvent::Planned {
                line,
                digest,
                planned: Box::new(planned),
            });
        }
        let create = !planned.is_idempotent();
        // A create is journaled as started, durably, before it goes out.
        let started = create.then(|| planned.shown_request());
        let before_first_send = match (self.recorder, &started) {
            (Some(recorder), Some(request)) => {
                Some(Box::pin(recorder.started(line, digest, request)) as _)
            }
            _ => None,
        };
        let gate = SendGate {
            in_flight: Some(&self.in_flight),
            stop: Some(&self.stopped),
            before_first_send,
        };
        match self.host.send_gated(planned, gate).await {
            Ok(Some(result)) => finished(create, result),
            Ok(None) => None,
            Err(error) => {
                self.stop();
                Some(BulkEvent::Aborted { line, error })
            }
        }
    }
}

/// What a first pass over an input file found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Survey {
    /// The SHA-256 of the file, hex.
    pub sha256: String,
    /// How many items (non-blank lines) it has.
    pub items: u64,
    /// How many of them are not requests at all (not JSON, too long, …).
    pub unreadable: u64,
    /// Items per provider and operation, as written (they may not exist).
    pub operations: BTreeMap<(String, String), u64>,
}

struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Reads the input file at `path` once, for what a run needs to know first: its
/// identity for a journal, its size for a progress bar, and what it asks of which
/// providers, for a confirmation and a credential check.
///
/// # Errors
///
/// If the file cannot be read or (CSV) its header is invalid.
pub fn survey(path: &Path, format: Option<InputFormat>) -> io::Result<Survey> {
    let file = std::fs::File::open(path)?;
    let reader = BufReader::with_capacity(
        256 * 1024,
        HashingReader {
            inner: file,
            hasher: Sha256::new(),
        },
    );
    let mut survey = Survey::default();
    let reader = input::read_heads(reader, format, |head| {
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
    survey.sha256 = reader
        .into_inner()
        .hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(survey)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survey_counts_operations_and_hashes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.jsonl");
        let text = "{\"provider\":\"dolfin\",\"operation\":\"revoke-api-key\",\"params\":{\"id\":\"a\"}}\n\
                    not json\n\n\
                    {\"provider\":\"dolfin\",\"operation\":\"revoke-api-key\",\"params\":{}}\n\
                    {\"provider\":\"pin\\u0061ta\",\"operation\":\"create-gateway-key\"}\n";
        std::fs::write(&path, text).unwrap();
        let survey = survey(&path, None).unwrap();
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
        let expected: String = Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(survey.sha256, expected);
    }

    #[test]
    fn survey_reads_csv() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.csv");
        std::fs::write(
            &path,
            "provider,operation,id\ndolfin,revoke-api-key,a\nbroken\n",
        )
        .unwrap();
        let survey = survey(&path, None).unwrap();
        assert_eq!((survey.items, survey.unreadable), (2, 1));
        let path = dir.path().join("bad.csv");
        std::fs::write(&path, "id,provider\nx,y\n").unwrap();
        assert!(super::survey(&path, None).is_err());
    }
}

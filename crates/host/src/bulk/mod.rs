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
mod job;
mod journal;
mod recorder;
mod summary;

use std::future::ready;

use futures_util::{Stream, StreamExt as _};
use revoker_plugin_api::OutcomeKind;
use tokio::sync::Semaphore;

pub use self::job::{BulkJob, InputSource, JobEvent, JobSpec, PreparedJob, Resumed, Survey};
pub use crate::send::StopHandle;

pub use self::input::{BulkItem, InputFormat, InputReader, MAX_LINE_BYTES};
pub use self::journal::{
    InputIdentity, JOURNAL_FORMAT, Journal, JournalError, JournalState, StartedCreate,
    StartedRecord,
};
pub use self::recorder::{FLUSH_INTERVAL, Recorder, SYNC_INTERVAL};
pub use self::summary::{ProviderCounts, Summary};
use crate::error::{Error, ErrorCategory};
use crate::host::Host;
pub use crate::model::LineDigest;
use crate::model::RequestResult;
use crate::plan::PlannedRequest;
use crate::send::SendGate;

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
    stop: StopHandle,
    recorder: Option<&'a Recorder>,
}

impl<'a> Bulk<'a> {
    /// A run over `host` with `options`.
    pub fn new(host: &'a Host, options: BulkOptions) -> Self {
        Self::with_stop(host, options, StopHandle::default())
    }

    /// A run over `host` with `options` that `stop` stops.
    pub fn with_stop(host: &'a Host, options: BulkOptions, stop: StopHandle) -> Self {
        Self {
            host,
            options,
            in_flight: Semaphore::new(options.concurrency.max(1)),
            stop,
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
        self.stop.stop();
    }

    /// Whether [`Bulk::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.stop.is_stopped()
    }

    /// Runs `items`, yielding an event per line as it finishes (in completion
    /// order, not line order).
    pub fn run<S>(&'a self, items: S) -> impl Stream<Item = BulkEvent> + 'a
    where
        S: Stream<Item = BulkItem> + 'a,
    {
        let stop = self.stop.clone();
        let stopped = async move { stop.stopped().await };
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
            stop: Some(&self.stop),
            before_first_send,
        };
        match self.host.send_gated(planned, gate).await {
            Ok(Some(result)) => finished(create, result),
            Ok(None) => None,
            // The first fatal error stops the run; the lines that meet it
            // after are dropped, not reported once each.
            Err(_) if self.is_stopped() => None,
            Err(error) => {
                self.stop();
                Some(BulkEvent::Aborted { line, error })
            }
        }
    }
}

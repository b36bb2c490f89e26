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

mod batch;
mod input;
mod job;
mod journal;
mod recorder;
mod summary;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::future::ready;

use futures_util::{Stream, StreamExt as _};
use tokio::sync::{Semaphore, mpsc, oneshot};

pub use self::job::{BulkJob, InputSource, JobEvent, JobSpec, PreparedJob, Resumed, Survey};
pub use crate::send::{Retry, StopHandle};

pub use self::batch::LINGER as BATCH_LINGER;
use self::batch::{Batches, Joined, Member, Reply};
pub use self::input::{BulkItem, InputFormat, InputReader, MAX_LINE_BYTES};
pub use self::journal::{
    InputIdentity, JOURNAL_FORMAT, Journal, JournalError, JournalState, RecordedLine,
    StartedCreate, StartedRecord, recorded_lines,
};
pub use self::recorder::{FLUSH_INTERVAL, Recorder, SYNC_INTERVAL};
pub use self::summary::{ProviderCounts, Summary};
use crate::error::Error;
use crate::host::Host;
pub use crate::model::LineDigest;
use crate::model::{Outcome, RequestResult};
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
        /// The earlier line with the same request: a real run sends it once,
        /// for both.
        duplicate_of: Option<u64>,
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
    seen: std::sync::Mutex<Seen>,
    /// The batches of batched operations being filled.
    batches: Batches,
    /// Where each retry of a line is told, if anywhere.
    retries: Option<mpsc::UnboundedSender<(u64, Retry)>>,
}

/// The requests a run has taken, so that the same request on several lines
/// (scanners report a key more than once) is sent once: the first line sends
/// it, the others get its answer.
#[derive(Debug, Default)]
struct Seen {
    /// Each request's first line and, once it has one, its answer.
    first: HashMap<u128, First>,
    /// Lines waiting for a first line's answer, by first line.
    waiting: HashMap<u64, Vec<oneshot::Sender<Answer>>>,
}

#[derive(Debug, Clone, Copy)]
struct First {
    line: u64,
    answer: Option<Answer>,
}

/// What a first line's request got, as its duplicates report it.
#[derive(Debug, Clone, Copy)]
struct Answer {
    outcome: Outcome,
    status: Option<u16>,
}

impl Answer {
    /// What `result` tells the lines with the same request.
    fn of(result: &RequestResult) -> Self {
        Self {
            outcome: result.outcome,
            status: result.status,
        }
    }
}

/// Whether a line's request is the first of its kind in the run.
enum Taken {
    First,
    Answered(u64, Answer),
    Waiting(u64, oneshot::Receiver<Answer>),
}

impl Seen {
    /// The first line with `fingerprint`, `line` itself if it is the first.
    fn first_line(&mut self, fingerprint: u128, line: u64) -> u64 {
        self.first
            .entry(fingerprint)
            .or_insert(First { line, answer: None })
            .line
    }

    fn take(&mut self, fingerprint: u128, line: u64) -> Taken {
        match self.first.entry(fingerprint) {
            Entry::Vacant(entry) => {
                entry.insert(First { line, answer: None });
                Taken::First
            }
            Entry::Occupied(entry) => match *entry.get() {
                First {
                    line: first,
                    answer: Some(answer),
                } => Taken::Answered(first, answer),
                First {
                    line: first,
                    answer: None,
                } => {
                    let (tx, rx) = oneshot::channel();
                    self.waiting.entry(first).or_default().push(tx);
                    Taken::Waiting(first, rx)
                }
            },
        }
    }

    /// Records the answer of `line`, the first with `fingerprint`; `None`: it
    /// got none (the run stopped), and a later line sends the request itself.
    fn answer(&mut self, fingerprint: u128, line: u64, answer: Option<Answer>) {
        let waiting = self.waiting.remove(&line).unwrap_or_default();
        match answer {
            Some(answer) => {
                if let Some(first) = self.first.get_mut(&fingerprint) {
                    first.answer = Some(answer);
                }
                for tx in waiting {
                    let _ = tx.send(answer);
                }
            }
            // Dropping the senders tells the waiting lines there is no answer.
            None => {
                self.first.remove(&fingerprint);
            }
        }
    }
}

/// The result of a line whose request an earlier line sent.
fn duplicate_result(planned: &PlannedRequest, first: u64, answer: Answer) -> RequestResult {
    RequestResult {
        status: answer.status,
        ..RequestResult::unsent(
            &planned.shown_request(),
            answer.outcome,
            format!(
                "the same request as line {first}, which sent it once for both: {}",
                answer.outcome
            ),
        )
    }
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
            seen: std::sync::Mutex::default(),
            batches: Batches::default(),
            retries: None,
        }
    }

    /// Journals through `recorder`: a create is recorded as started, and synced,
    /// before it is sent.
    #[must_use]
    pub fn journal_to(mut self, recorder: &'a Recorder) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Tells `retries` of every request that goes again, with its line.
    #[must_use]
    pub(crate) fn notify_retries(mut self, retries: mpsc::UnboundedSender<(u64, Retry)>) -> Self {
        self.retries = Some(retries);
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

    /// Runs `line` in a batch of up to `max` lines of its operation: it joins
    /// the open batch or opens one, and the line that opened it sends it.
    async fn batched(&self, line: u64, planned: PlannedRequest, max: usize) -> Reply {
        let (provider, operation) = (
            planned.request.provider.clone(),
            planned.request.operation.clone(),
        );
        let (reply, replied) = oneshot::channel();
        let member = Member {
            line,
            planned,
            reply,
        };
        if let Joined::Leader { id, full } = self.batches.join(max, member) {
            let members = self
                .batches
                .gather(&provider, &operation, id, &full, &self.stop)
                .await;
            self.send_batch(members).await;
        }
        replied.await.unwrap_or(Reply::Dropped)
    }

    /// Sends `members` as one request and replies to each. A batch the
    /// provider refuses as a whole as invalid is split in two and each half
    /// sent (through the same flow control), until only the bad lines are
    /// left, each `invalid-request` alone.
    async fn send_batch(&self, members: Vec<Member>) {
        let mut groups = vec![members];
        while let Some(group) = groups.pop() {
            if group.is_empty() {
                continue;
            }
            if self.is_stopped() {
                for member in group {
                    let _ = member.reply.send(Reply::Dropped);
                }
                continue;
            }
            let numbers: Vec<u64> = group.iter().map(|m| m.line).collect();
            let (lines, replies): (Vec<PlannedRequest>, Vec<_>) =
                group.into_iter().map(|m| (m.planned, m.reply)).unzip();
            let split = |lines: Vec<PlannedRequest>, replies: Vec<_>, groups: &mut Vec<_>| {
                let half = lines.len() / 2;
                let mut members: Vec<Member> = lines
                    .into_iter()
                    .zip(replies)
                    .zip(&numbers)
                    .map(|((planned, reply), &line)| Member {
                        line,
                        planned,
                        reply,
                    })
                    .collect();
                let second = members.split_off(half);
                // The first half goes first.
                groups.push(second);
                groups.push(members);
            };
            let batch = match self.host.plan_batch(&lines, &numbers) {
                Ok(batch) => batch,
                Err(crate::plan::BatchPlanError::Invalid) if lines.len() > 1 => {
                    split(lines, replies, &mut groups);
                    continue;
                }
                Err(error) => {
                    let (outcome, why) = match error {
                        crate::plan::BatchPlanError::Invalid => (
                            Outcome::InvalidRequest,
                            "the plugin refused it in a batch".to_owned(),
                        ),
                        crate::plan::BatchPlanError::Failed(error) => {
                            (Outcome::PluginError, error.to_string())
                        }
                    };
                    for (planned, reply) in lines.iter().zip(replies) {
                        let result = RequestResult::unsent(&planned.shown_request(), outcome, &why);
                        let _ = reply.send(Reply::Done(result));
                    }
                    continue;
                }
            };
            let first = numbers[0];
            let on_retry = |retry: Retry| {
                if let Some(retries) = &self.retries {
                    let _ = retries.send((first, retry));
                }
            };
            let gate = SendGate {
                in_flight: Some(&self.in_flight),
                stop: Some(&self.stop),
                before_first_send: None,
                on_retry: Some(&on_retry),
            };
            match self.host.send_batch_gated(batch, &lines, gate).await {
                Ok(Some((_, true))) => split(lines, replies, &mut groups),
                Ok(Some((results, _))) => {
                    for (reply, result) in replies.into_iter().zip(results) {
                        let _ = reply.send(Reply::Done(result));
                    }
                }
                Ok(None) => {
                    for reply in replies {
                        let _ = reply.send(Reply::Dropped);
                    }
                }
                Err(error) => {
                    let mut replies = replies.into_iter();
                    if !self.is_stopped() {
                        self.stop();
                        if let Some(reply) = replies.next() {
                            let _ = reply.send(Reply::Aborted(error));
                        }
                    }
                    for reply in replies {
                        let _ = reply.send(Reply::Dropped);
                    }
                }
            }
        }
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn lookahead(&self) -> usize {
        let concurrency = self.options.concurrency.max(1);
        match self.options.lookahead {
            Some(lookahead) => lookahead.max(concurrency),
            None if self.host.has_provider_limits() => (concurrency * 4).max(1024),
            None => concurrency,
        }
        // A batch fills only with lines in progress: room for one being sent
        // and the next filling.
        .max(self.host.largest_batch().saturating_mul(2))
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
                return finished(
                    false,
                    RequestResult::unsent(
                        &self.host.redact(request),
                        error.outcome().unwrap_or(Outcome::ProviderError),
                        error.to_string(),
                    ),
                );
            }
        };
        let create = !planned.is_idempotent();
        // Each create creates a key of its own: only other requests are merged.
        let fingerprint = (!create).then(|| planned.fingerprint());
        if self.options.dry_run {
            let duplicate_of = fingerprint
                .map(|fingerprint| self.seen().first_line(fingerprint, line))
                .filter(|&first| first != line);
            return Some(BulkEvent::Planned {
                line,
                digest,
                planned: Box::new(planned),
                duplicate_of,
            });
        }
        match fingerprint.map(|fingerprint| self.seen().take(fingerprint, line)) {
            Some(Taken::Answered(first, answer)) => {
                return finished(false, duplicate_result(&planned, first, answer));
            }
            Some(Taken::Waiting(first, answer)) => {
                return match answer.await {
                    Ok(answer) => finished(false, duplicate_result(&planned, first, answer)),
                    // The first line got no answer: the run stopped.
                    Err(_) => None,
                };
            }
            Some(Taken::First) | None => {}
        }
        let max_batch = self
            .host
            .batch_size(&planned.request.provider, &planned.request.operation);
        if max_batch > 1 && !create {
            let reply = self.batched(line, planned, max_batch).await;
            if let Some(fingerprint) = fingerprint {
                let answer = match &reply {
                    Reply::Done(result) => Some(Answer::of(result)),
                    _ => None,
                };
                self.seen().answer(fingerprint, line, answer);
            }
            return match reply {
                Reply::Done(result) => finished(false, result),
                Reply::Dropped => None,
                Reply::Aborted(error) => Some(BulkEvent::Aborted { line, error }),
            };
        }
        // A create is journaled as started, durably, before it goes out.
        let started = create.then(|| planned.shown_request());
        let before_first_send = match (self.recorder, &started) {
            (Some(recorder), Some(request)) => {
                let started = recorder.started(line, digest, request);
                Some(Box::pin(async move { started.await.map_err(Error::Record) }) as _)
            }
            _ => None,
        };
        let on_retry = |retry: Retry| {
            if let Some(retries) = &self.retries {
                let _ = retries.send((line, retry));
            }
        };
        let gate = SendGate {
            in_flight: Some(&self.in_flight),
            stop: Some(&self.stop),
            before_first_send,
            on_retry: Some(&on_retry),
        };
        let sent = self.host.send_gated(planned, gate).await;
        if let Some(fingerprint) = fingerprint {
            let answer = match &sent {
                Ok(Some(result)) => Some(Answer::of(result)),
                _ => None,
            };
            self.seen().answer(fingerprint, line, answer);
        }
        match sent {
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

#[cfg(test)]
mod tests {
    use super::*;

    const REVOKED: Answer = Answer {
        outcome: Outcome::Revoked,
        status: Some(204),
    };

    #[test]
    fn a_request_seen_again_waits_for_the_first_lines_answer_or_has_it() {
        let mut seen = Seen::default();
        assert!(matches!(seen.take(7, 1), Taken::First));
        assert!(matches!(seen.take(8, 2), Taken::First));
        let Taken::Waiting(1, mut waiting) = seen.take(7, 3) else {
            panic!("line 3 repeats line 1, which has no answer yet");
        };
        assert!(waiting.try_recv().is_err());
        seen.answer(7, 1, Some(REVOKED));
        assert_eq!(waiting.try_recv().unwrap().outcome, Outcome::Revoked);
        assert!(matches!(
            seen.take(7, 4),
            Taken::Answered(
                1,
                Answer {
                    status: Some(204),
                    ..
                }
            )
        ));
        assert!(seen.waiting.is_empty());
    }

    #[test]
    fn a_first_line_without_an_answer_leaves_the_request_to_a_later_line() {
        let mut seen = Seen::default();
        assert!(matches!(seen.take(7, 1), Taken::First));
        let Taken::Waiting(1, mut waiting) = seen.take(7, 2) else {
            panic!("line 2 repeats line 1");
        };
        seen.answer(7, 1, None);
        // The waiting line learns there is no answer, rather than waiting on.
        assert!(matches!(
            waiting.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        ));
        assert!(matches!(seen.take(7, 3), Taken::First));
        assert_eq!(seen.first_line(7, 4), 3);
        assert_eq!(seen.first_line(9, 5), 5);
    }
}

//! Writing the report and the journal, off the async runtime, in batches.
//!
//! Records are serialized straight into two shared buffers (report, journal);
//! one thread swaps them out and writes them, report first, journal second, so
//! that a journal record is never on disk without its report line (a kill can
//! cut a run anywhere). The thread writes every [`FLUSH_INTERVAL`] (sooner when a
//! buffer fills) and syncs both files to disk every [`SYNC_INTERVAL`], and at
//! once when a record asks for it (a create about to be sent, a create's result):
//! only the last interval's lines can be lost to a power cut, and a resumed run
//! redoes them.
//!
//! Nothing here wakes the writer per record: on a run of thousands of keys a
//! second, the handoff between threads would cost more than the writing.

use std::fs::File;
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::oneshot;

use super::journal::StartedRecord;
use crate::error::{RecordError, RecordFile};
use crate::model::{LineDigest, Request, RequestResult, ResultJson};
use crate::plan::{PlannedJson, PlannedRequest};

/// The longest a recorded line waits in memory before it is written.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(25);

/// The longest a written line waits to be synced to disk.
pub const SYNC_INTERVAL: Duration = Duration::from_millis(200);

/// Pending bytes past which the writer is woken before its interval.
const EAGER_BYTES: usize = 256 * 1024;

/// Pending bytes past which a record waits for the writer: memory stays
/// bounded when the writer falls behind (a slow disk, a busy machine).
const MAX_PENDING: usize = 4 * 1024 * 1024;

type Ack = oneshot::Sender<Result<(), RecordError>>;

#[derive(Default)]
struct Pending {
    report: Vec<u8>,
    journal: Vec<u8>,
    /// Waiting for everything pending to be on disk.
    acks: Vec<Ack>,
    closed: bool,
}

struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
    /// Signalled each time the writer takes the pending bytes.
    drained: Condvar,
    failure: OnceLock<RecordError>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The writer of a run's report and journal.
pub struct Recorder {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    journaling: bool,
    reporting: bool,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("journaling", &self.journaling)
            .field("reporting", &self.reporting)
            .field("failure", &self.failure())
            .finish_non_exhaustive()
    }
}

impl Recorder {
    /// Starts writing to `report` and `journal`, each optional.
    pub fn start(report: Option<File>, journal: Option<File>) -> Self {
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending::default()),
            wake: Condvar::new(),
            drained: Condvar::new(),
            failure: OnceLock::new(),
        });
        let (journaling, reporting) = (journal.is_some(), report.is_some());
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("revoker-recorder".into())
                .spawn(move || Writer::new(report, journal).run(&shared))
                .expect("spawn the recorder thread")
        };
        Self {
            shared,
            thread: Some(thread),
            journaling,
            reporting,
        }
    }

    /// Whether a journal is written.
    pub fn is_journaling(&self) -> bool {
        self.journaling
    }

    /// Whether a report is written.
    pub fn is_reporting(&self) -> bool {
        self.reporting
    }

    /// The first write error, after which nothing more is written.
    pub fn failure(&self) -> Option<&RecordError> {
        self.shared.failure.get()
    }

    fn failed(&self) -> Result<(), RecordError> {
        self.failure().map_or(Ok(()), |e| Err(e.clone()))
    }

    /// Records line `line`'s final result: its report line (with a created
    /// key's value) and its journal record (with the line's digest, without the
    /// value). With `durable`, waits until both are on disk.
    ///
    /// # Errors
    ///
    /// A write error of the run.
    pub async fn finished(
        &self,
        line: u64,
        digest: LineDigest,
        result: &RequestResult,
        durable: bool,
    ) -> Result<(), RecordError> {
        let done = {
            let mut pending = self.shared.lock();
            let Pending {
                report, journal, ..
            } = &mut *pending;
            let report_start = report.len();
            if self.reporting {
                write_json(
                    report,
                    &ResultJson {
                        result,
                        line: Some(line),
                        digest: None,
                        secrets: true,
                    },
                );
            }
            if self.journaling {
                let secret = result.created.iter().any(|(_, value)| value.is_secret());
                if self.reporting && !secret {
                    // The same object with the digest after `line`: reuse the
                    // report line rather than serialize it again.
                    let text = &report[report_start..];
                    let after_line = text
                        .iter()
                        .position(|&b| b == b',')
                        .map_or(text.len(), |i| i + 1);
                    journal.extend_from_slice(&text[..after_line]);
                    let _ = write!(journal, "\"digest\":\"{digest}\",");
                    journal.extend_from_slice(&text[after_line..]);
                } else {
                    write_json(
                        journal,
                        &ResultJson {
                            result,
                            line: Some(line),
                            digest: Some(digest),
                            secrets: false,
                        },
                    );
                }
            }
            self.after_append(pending, durable)
        };
        self.settle(done).await
    }

    /// Records a dry run's planned line in the report.
    ///
    /// # Errors
    ///
    /// A write error of the run.
    pub fn planned(
        &self,
        line: u64,
        planned: &PlannedRequest,
        duplicate_of: Option<u64>,
    ) -> Result<(), RecordError> {
        if self.reporting {
            let mut pending = self.shared.lock();
            write_json(
                &mut pending.report,
                &PlannedJson {
                    planned,
                    line: Some(line),
                    duplicate_of,
                },
            );
            drop(self.after_append(pending, false));
        }
        self.failed()
    }

    /// Records in the journal that the create of line `line` is about to be
    /// sent, and waits until that is on disk (a no-op without a journal).
    ///
    /// # Errors
    ///
    /// A write error of the run.
    pub async fn started(
        &self,
        line: u64,
        digest: LineDigest,
        request: &Request,
    ) -> Result<(), RecordError> {
        if !self.journaling {
            return self.failed();
        }
        let done = {
            let mut pending = self.shared.lock();
            write_json(
                &mut pending.journal,
                &StartedRecord {
                    line,
                    digest,
                    request,
                },
            );
            self.after_append(pending, true)
        };
        self.settle(done).await
    }

    /// Wakes the writer if needed; with `durable`, returns the receiver of the
    /// acknowledgement that everything so far is on disk.
    fn after_append(
        &self,
        mut pending: MutexGuard<'_, Pending>,
        durable: bool,
    ) -> Option<oneshot::Receiver<Result<(), RecordError>>> {
        let ack = durable.then(|| {
            let (tx, rx) = oneshot::channel();
            pending.acks.push(tx);
            rx
        });
        let eager = durable || pending.report.len() + pending.journal.len() >= EAGER_BYTES;
        if pending.report.len() + pending.journal.len() >= MAX_PENDING {
            self.shared.wake.notify_one();
            while pending.report.len() + pending.journal.len() >= MAX_PENDING
                && self.shared.failure.get().is_none()
            {
                pending = self
                    .shared
                    .drained
                    .wait_timeout(pending, FLUSH_INTERVAL)
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .0;
            }
        }
        drop(pending);
        if eager {
            self.shared.wake.notify_one();
        }
        ack
    }

    async fn settle(
        &self,
        done: Option<oneshot::Receiver<Result<(), RecordError>>>,
    ) -> Result<(), RecordError> {
        match done {
            None => self.failed(),
            Some(done) => match done.await {
                Ok(result) => result,
                Err(_) => Err(self.failure().cloned().unwrap_or(RecordError::Stopped)),
            },
        }
    }

    /// Writes and syncs everything recorded so far and stops.
    ///
    /// # Errors
    ///
    /// The first write error of the run.
    pub fn finish(mut self) -> Result<(), RecordError> {
        self.close()
    }

    fn close(&mut self) -> Result<(), RecordError> {
        if let Some(thread) = self.thread.take() {
            self.shared.lock().closed = true;
            self.shared.wake.notify_one();
            if thread.join().is_err() {
                let _ = self.shared.failure.set(RecordError::Stopped);
            }
        }
        self.failed()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// Appends `value` as one JSON line.
fn write_json(buffer: &mut Vec<u8>, value: &impl Serialize) {
    serde_json::to_writer(&mut *buffer, value).expect("records serialize");
    buffer.push(b'\n');
}

struct Writer {
    report: Option<File>,
    journal: Option<File>,
    report_buf: Vec<u8>,
    journal_buf: Vec<u8>,
    unsynced: bool,
    last_sync: Instant,
}

impl Writer {
    fn new(report: Option<File>, journal: Option<File>) -> Self {
        Self {
            report,
            journal,
            report_buf: Vec::new(),
            journal_buf: Vec::new(),
            unsynced: false,
            last_sync: Instant::now(),
        }
    }

    fn run(mut self, shared: &Shared) {
        loop {
            let (acks, closed) = {
                let mut pending = shared.lock();
                if pending.acks.is_empty()
                    && !pending.closed
                    && pending.report.len() + pending.journal.len() < EAGER_BYTES
                {
                    pending = shared
                        .wake
                        .wait_timeout(pending, FLUSH_INTERVAL)
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .0;
                }
                std::mem::swap(&mut self.report_buf, &mut pending.report);
                std::mem::swap(&mut self.journal_buf, &mut pending.journal);
                shared.drained.notify_all();
                (std::mem::take(&mut pending.acks), pending.closed)
            };
            let sync = closed || !acks.is_empty() || self.last_sync.elapsed() >= SYNC_INTERVAL;
            let result = self
                .write()
                .and_then(|()| if sync { self.sync() } else { Ok(()) });
            match result {
                Ok(()) => {
                    for ack in acks {
                        let _ = ack.send(Ok(()));
                    }
                }
                Err(error) => {
                    let _ = shared.failure.set(error.clone());
                    for ack in acks
                        .into_iter()
                        .chain(std::mem::take(&mut shared.lock().acks))
                    {
                        let _ = ack.send(Err(error.clone()));
                    }
                    return;
                }
            }
            // Closing comes after the last record: everything is written.
            if closed {
                return;
            }
        }
    }

    /// Writes the batch: the report before the journal.
    fn write(&mut self) -> Result<(), RecordError> {
        for (which, file, buf) in [
            (RecordFile::Report, &mut self.report, &mut self.report_buf),
            (
                RecordFile::Journal,
                &mut self.journal,
                &mut self.journal_buf,
            ),
        ] {
            if !buf.is_empty() {
                if let Some(file) = file {
                    file.write_all(buf)
                        .map_err(|e| RecordError::write(which, &e))?;
                    self.unsynced = true;
                }
                buf.clear();
            }
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), RecordError> {
        if self.unsynced {
            for (which, file) in [
                (RecordFile::Report, &self.report),
                (RecordFile::Journal, &self.journal),
            ] {
                if let Some(file) = file {
                    file.sync_data()
                        .map_err(|e| RecordError::write(which, &e))?;
                }
            }
            self.unsynced = false;
        }
        self.last_sync = Instant::now();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use revoker_plugin_api::Params;

    use super::*;
    use crate::model::{FieldValue, Outcome};

    fn result(outcome: Outcome) -> RequestResult {
        let request = Request::new(
            "dolfin",
            "revoke-api-key",
            Params::from_pairs([("id", "k")]),
        );
        RequestResult::unsent(&request, outcome, "d")
    }

    #[tokio::test]
    async fn writes_report_then_journal_and_syncs_on_request() {
        let dir = tempfile::tempdir().unwrap();
        let (report, journal) = (dir.path().join("r"), dir.path().join("j"));
        let recorder = Recorder::start(
            Some(File::create(&report).unwrap()),
            Some(File::create(&journal).unwrap()),
        );
        let request = Request::new(
            "pinata",
            "create-gateway-key",
            Params::from_pairs([("gateway-id", "g")]),
        );
        recorder.started(3, LineDigest(3), &request).await.unwrap();
        assert!(
            std::fs::read_to_string(&journal)
                .unwrap()
                .contains("\"started\":true")
        );
        recorder
            .finished(1, LineDigest(1), &result(Outcome::Revoked), false)
            .await
            .unwrap();

        let mut created = result(Outcome::Created);
        created.created = vec![
            ("id".into(), FieldValue::Plain("k9".into())),
            ("value".into(), FieldValue::Secret("the-new-key".into())),
        ];
        recorder
            .finished(3, LineDigest(3), &created, true)
            .await
            .unwrap();
        let report_text = std::fs::read_to_string(&report).unwrap();
        assert_eq!(report_text.lines().count(), 2, "{report_text}");
        assert!(report_text.contains("the-new-key"));
        recorder.finish().unwrap();

        let journal_text = std::fs::read_to_string(&journal).unwrap();
        let records: Vec<serde_json::Value> = journal_text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(records.len(), 3);
        assert_eq!(records[1]["line"], 1);
        assert_eq!(records[1]["digest"], LineDigest(1).to_string());
        assert_eq!(records[1]["outcome"], "revoked");
        assert_eq!(records[2]["created"], serde_json::json!({"id": "k9"}));
        assert!(!journal_text.contains("the-new-key"));
        // The journal record is the report line plus the digest.
        let report_first: serde_json::Value =
            serde_json::from_str(report_text.lines().next().unwrap()).unwrap();
        let mut without_digest = records[1].clone();
        without_digest.as_object_mut().unwrap().remove("digest");
        assert_eq!(without_digest, report_first);
    }

    #[tokio::test]
    async fn without_files_nothing_is_written_or_waited_for() {
        let recorder = Recorder::start(None, None);
        let request = Request::new("p", "o", Params::new());
        recorder.started(1, LineDigest(1), &request).await.unwrap();
        recorder
            .finished(1, LineDigest(1), &result(Outcome::Revoked), true)
            .await
            .unwrap();
        recorder.finish().unwrap();
    }

    #[tokio::test]
    async fn a_journal_without_a_report_gets_whole_records() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("j");
        let recorder = Recorder::start(None, Some(File::create(&journal).unwrap()));
        recorder
            .finished(4, LineDigest(4), &result(Outcome::NotFound), false)
            .await
            .unwrap();
        recorder.finish().unwrap();
        let record: serde_json::Value =
            serde_json::from_str(std::fs::read_to_string(&journal).unwrap().trim()).unwrap();
        assert_eq!(record["line"], 4);
        assert_eq!(record["outcome"], "not-found");
        assert_eq!(record["digest"], LineDigest(4).to_string());
    }
}

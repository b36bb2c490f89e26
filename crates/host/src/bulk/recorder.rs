//! Writing the report and the journal, off the async runtime, in batches.
//!
//! One thread owns both files. Each batch is written report first, journal
//! second, so that a journal record never exists without its report line (a kill
//! can cut a run anywhere). Both are synced to disk every
//! [`SYNC_INTERVAL`] at the latest, and at once when a record asks for it (a
//! create about to be sent, a create's result): only lines in the last interval
//! can be lost to a power cut, and they are redone on resume.

use std::fs::File;
use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// The longest time a written record waits to be synced to disk.
pub const SYNC_INTERVAL: Duration = Duration::from_millis(200);

/// The most records written in one batch.
const MAX_BATCH: usize = 4096;

enum Record {
    /// A report line and, with a journal, its final record.
    Finished {
        report: Option<String>,
        journal: Option<String>,
        sync: Option<oneshot::Sender<Result<(), String>>>,
    },
    /// A journal record that must be on disk before the caller goes on.
    Started {
        journal: String,
        ack: oneshot::Sender<Result<(), String>>,
    },
}

/// The writer of a run's report and journal.
#[derive(Debug)]
pub struct Recorder {
    tx: Option<Sender<Record>>,
    thread: Option<JoinHandle<()>>,
    failure: Arc<OnceLock<String>>,
    journaling: bool,
    reporting: bool,
}

impl Recorder {
    /// Starts writing to `report` and `journal`, each optional.
    pub fn start(report: Option<File>, journal: Option<File>) -> Self {
        let (tx, rx) = mpsc::channel();
        let failure = Arc::new(OnceLock::new());
        let journaling = journal.is_some();
        let reporting = report.is_some();
        let thread = {
            let failure = Arc::clone(&failure);
            std::thread::Builder::new()
                .name("revoker-recorder".into())
                .spawn(move || Writer::new(report, journal, failure).run(&rx))
                .expect("spawn the recorder thread")
        };
        Self {
            tx: Some(tx),
            thread: Some(thread),
            failure,
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
    pub fn failure(&self) -> Option<&str> {
        self.failure.get().map(String::as_str)
    }

    fn send(&self, record: Record) {
        if let Some(tx) = &self.tx {
            // A send fails only if the thread died; `failure` says why.
            let _ = tx.send(record);
        }
    }

    /// Records a finished line: `report` to the report, `journal` to the journal
    /// (each ignored without its file). With `durable`, waits until both are on
    /// disk.
    ///
    /// # Errors
    ///
    /// With `durable`, the write error.
    pub async fn finished(
        &self,
        report: Option<String>,
        journal: Option<String>,
        durable: bool,
    ) -> Result<(), String> {
        let report = report.filter(|_| self.reporting);
        let journal = journal.filter(|_| self.journaling);
        if report.is_none() && journal.is_none() {
            return Ok(());
        }
        if !durable {
            self.send(Record::Finished {
                report,
                journal,
                sync: None,
            });
            return self.failure().map_or(Ok(()), |e| Err(e.to_owned()));
        }
        let (ack, done) = oneshot::channel();
        self.send(Record::Finished {
            report,
            journal,
            sync: Some(ack),
        });
        self.wait(done).await
    }

    /// Writes `journal` and waits until it is on disk (a no-op without a journal).
    ///
    /// # Errors
    ///
    /// The write error.
    pub async fn started(&self, journal: String) -> Result<(), String> {
        if !self.journaling {
            return Ok(());
        }
        let (ack, done) = oneshot::channel();
        self.send(Record::Started { journal, ack });
        self.wait(done).await
    }

    async fn wait(&self, done: oneshot::Receiver<Result<(), String>>) -> Result<(), String> {
        match done.await {
            Ok(result) => result,
            Err(_) => Err(self.failure().unwrap_or("the recorder stopped").to_owned()),
        }
    }

    /// Writes and syncs everything sent so far and stops.
    ///
    /// # Errors
    ///
    /// The first write error of the run.
    pub fn finish(mut self) -> Result<(), String> {
        self.close()
    }

    fn close(&mut self) -> Result<(), String> {
        drop(self.tx.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            let _ = self.failure.set("the recorder thread panicked".into());
        }
        self.failure().map_or(Ok(()), |e| Err(e.to_owned()))
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

struct Writer {
    report: Option<File>,
    journal: Option<File>,
    failure: Arc<OnceLock<String>>,
    report_buf: Vec<u8>,
    journal_buf: Vec<u8>,
    acks: Vec<oneshot::Sender<Result<(), String>>>,
    must_sync: bool,
    unsynced: bool,
    last_sync: Instant,
}

impl Writer {
    fn new(report: Option<File>, journal: Option<File>, failure: Arc<OnceLock<String>>) -> Self {
        Self {
            report,
            journal,
            failure,
            report_buf: Vec::with_capacity(64 * 1024),
            journal_buf: Vec::with_capacity(64 * 1024),
            acks: Vec::new(),
            must_sync: false,
            unsynced: false,
            last_sync: Instant::now(),
        }
    }

    fn run(mut self, rx: &Receiver<Record>) {
        loop {
            let wait = if self.unsynced {
                SYNC_INTERVAL.saturating_sub(self.last_sync.elapsed())
            } else {
                Duration::from_secs(3600)
            };
            let mut closed = false;
            match rx.recv_timeout(wait) {
                Ok(record) => {
                    self.take(record);
                    for _ in 1..MAX_BATCH {
                        match rx.try_recv() {
                            Ok(record) => self.take(record),
                            Err(mpsc::TryRecvError::Empty) => break,
                            Err(mpsc::TryRecvError::Disconnected) => {
                                closed = true;
                                break;
                            }
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => closed = true,
            }
            let result = self.write().and_then(|()| {
                if closed || self.must_sync || self.last_sync.elapsed() >= SYNC_INTERVAL {
                    self.sync()
                } else {
                    Ok(())
                }
            });
            if let Err(e) = result {
                let message = format!("cannot write the report or journal: {e}");
                let _ = self.failure.set(message.clone());
                for ack in self.acks.drain(..) {
                    let _ = ack.send(Err(message.clone()));
                }
                return;
            }
            if closed {
                return;
            }
        }
    }

    fn take(&mut self, record: Record) {
        match record {
            Record::Finished {
                report,
                journal,
                sync,
            } => {
                if let Some(line) = report {
                    self.report_buf.extend_from_slice(line.as_bytes());
                    self.report_buf.push(b'\n');
                }
                if let Some(line) = journal {
                    self.journal_buf.extend_from_slice(line.as_bytes());
                    self.journal_buf.push(b'\n');
                }
                if let Some(ack) = sync {
                    self.acks.push(ack);
                    self.must_sync = true;
                }
            }
            Record::Started { journal, ack } => {
                self.journal_buf.extend_from_slice(journal.as_bytes());
                self.journal_buf.push(b'\n');
                self.acks.push(ack);
                self.must_sync = true;
            }
        }
    }

    /// Writes the batch: the report before the journal.
    fn write(&mut self) -> io::Result<()> {
        for (file, buf) in [
            (&mut self.report, &mut self.report_buf),
            (&mut self.journal, &mut self.journal_buf),
        ] {
            if !buf.is_empty() {
                if let Some(file) = file {
                    file.write_all(buf)?;
                    self.unsynced = true;
                }
                buf.clear();
            }
        }
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        if self.unsynced {
            for file in [&self.report, &self.journal].into_iter().flatten() {
                file.sync_data()?;
            }
            self.unsynced = false;
        }
        self.last_sync = Instant::now();
        self.must_sync = false;
        for ack in self.acks.drain(..) {
            let _ = ack.send(Ok(()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_report_and_journal_and_syncs_on_request() {
        let dir = tempfile::tempdir().unwrap();
        let (report, journal) = (dir.path().join("r"), dir.path().join("j"));
        let recorder = Recorder::start(
            Some(File::create(&report).unwrap()),
            Some(File::create(&journal).unwrap()),
        );
        recorder.started("{\"started\":1}".into()).await.unwrap();
        assert_eq!(
            std::fs::read_to_string(&journal).unwrap(),
            "{\"started\":1}\n"
        );
        recorder
            .finished(Some("r1".into()), Some("j1".into()), false)
            .await
            .unwrap();
        recorder
            .finished(Some("r2".into()), Some("j2".into()), true)
            .await
            .unwrap();
        assert_eq!(std::fs::read_to_string(&report).unwrap(), "r1\nr2\n");
        recorder
            .finished(Some("r3".into()), None, false)
            .await
            .unwrap();
        recorder.finish().unwrap();
        assert_eq!(std::fs::read_to_string(&report).unwrap(), "r1\nr2\nr3\n");
        assert_eq!(
            std::fs::read_to_string(&journal).unwrap(),
            "{\"started\":1}\nj1\nj2\n"
        );
    }

    #[tokio::test]
    async fn without_files_nothing_is_written_or_waited_for() {
        let recorder = Recorder::start(None, None);
        recorder.started("x".into()).await.unwrap();
        recorder
            .finished(Some("r".into()), Some("j".into()), true)
            .await
            .unwrap();
        recorder.finish().unwrap();
    }
}

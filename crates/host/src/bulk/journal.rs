//! The journal: an append-only file recording each bulk line's final outcome, by
//! line number and digest, so that a killed run re-run with the same journal
//! skips what is done and loses nothing.
//!
//! ```text
//! {"revoker_journal":1,"input":"keys.jsonl","input_sha256":"…"}          header
//! {"line":7,"digest":"…","started":true,"provider":…,"operation":…,"params":{…}}
//! {"line":7,"digest":"…","provider":…,"outcome":"created",…}               final
//! ```
//!
//! A final record is the report line without a created key's secret value. A
//! `started` record is written, and synced, just before a request that is not
//! safe to repeat (a create) goes out: a create that has one but no final record
//! was in flight when a run stopped, and is settled as `unknown` on resume,
//! never sent again.
//!
//! The report is written before the journal (see [`Recorder`](super::Recorder)),
//! so on resume every line the journal calls final has its report line; the
//! report is rewritten to hold exactly one line per final line.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use revoker_plugin_api::Params;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::files;
use crate::model::{LineDigest, Outcome, ParamsJson, Request};

/// The journal format this host writes and reads.
pub const JOURNAL_FORMAT: u32 = 1;

/// The input a journal belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputIdentity {
    /// The input as given (a path, or `-` for stdin).
    pub name: String,
    /// The SHA-256 of a file input's contents; `None` for stdin, whose lines are
    /// checked one by one against their digests instead.
    pub sha256: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    revoker_journal: u32,
    input: String,
    input_sha256: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    line: u64,
    digest: String,
    #[serde(default)]
    started: bool,
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    operation: Option<String>,
    #[serde(default)]
    params: BTreeMap<String, String>,
    #[serde(default)]
    outcome: Option<String>,
    /// How many times the request was sent; `None` in a started record.
    #[serde(default)]
    attempts: Option<u64>,
}

/// A create that was about to be sent when an earlier run stopped.
#[derive(Debug, Clone)]
pub struct StartedCreate {
    /// Its line.
    pub line: u64,
    /// The line's digest.
    pub digest: LineDigest,
    /// The request.
    pub request: Request,
}

/// A line's last final record in a journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Final {
    digest: LineDigest,
    /// Settled for good: not sent again by a later run.
    settled: bool,
    /// Settled without success (a create in doubt, say).
    failed: bool,
}

/// What an existing journal says was done.
///
/// A re-run sends again every line whose last outcome is not a success, as
/// revocation is idempotent, except a create that may have happened: one that
/// was created, is in doubt (`unknown`), or got an answer that may mean it
/// happened (a server error). Those are settled, never sent twice.
#[derive(Debug, Default)]
pub struct JournalState {
    finished: HashMap<u64, Final>,
    started: BTreeMap<u64, StartedCreate>,
    /// Lines that were sent as creates (they have a `started` record).
    creates: HashSet<u64>,
}

impl JournalState {
    /// The digest recorded for `line`, and whether it is settled for good, if
    /// the journal has a final record for it.
    pub(crate) fn recorded(&self, line: u64) -> Option<(LineDigest, bool)> {
        self.finished.get(&line).map(|f| (f.digest, f.settled))
    }

    /// How many lines have a final record.
    pub fn finished_count(&self) -> u64 {
        self.finished.len() as u64
    }

    /// How many lines are settled for good.
    pub fn settled_count(&self) -> u64 {
        self.finished.values().filter(|f| f.settled).count() as u64
    }

    /// How many settled lines did not succeed.
    pub fn settled_failed_count(&self) -> u64 {
        self.finished
            .values()
            .filter(|f| f.settled && f.failed)
            .count() as u64
    }

    /// How many lines finished without success and are to be sent again.
    pub fn retry_count(&self) -> u64 {
        self.finished.values().filter(|f| !f.settled).count() as u64
    }

    /// Whether `line` is settled for good.
    fn is_settled(&self, line: u64) -> bool {
        self.finished.get(&line).is_some_and(|f| f.settled)
    }

    /// Records `line`'s final outcome, and how many times it was sent (`None`:
    /// not recorded, which counts as sent).
    fn mark(
        &mut self,
        line: u64,
        digest: LineDigest,
        outcome: Option<&str>,
        attempts: Option<u64>,
    ) {
        let create = self.creates.contains(&line) || self.started.contains_key(&line);
        // An outcome this host does not know (a later one's) is a failure.
        let outcome = outcome.and_then(|name| name.parse::<Outcome>().ok());
        let success = outcome.is_some_and(Outcome::is_success);
        // A create is safe to send again only after an answer that says it was
        // not carried out, or if it was never sent: a plugin that failed
        // reading the answer to a create leaves it in doubt.
        let create_not_done = match outcome {
            Some(
                Outcome::Unauthorized
                | Outcome::Forbidden
                | Outcome::InvalidRequest
                | Outcome::NotFound
                | Outcome::RateLimited,
            ) => true,
            Some(Outcome::PluginError) => attempts == Some(0),
            _ => false,
        };
        let settled = success || (create && !create_not_done);
        self.finished.insert(
            line,
            Final {
                digest,
                settled,
                failed: !success,
            },
        );
        self.started.remove(&line);
    }

    /// Records that `line`, a create in doubt, is settled (as `unknown`).
    pub(crate) fn mark_settled(&mut self, line: u64, digest: LineDigest) {
        self.creates.insert(line);
        self.mark(line, digest, Some(Outcome::Unknown.as_str()), None);
    }
}

impl JournalState {
    /// Whether `line` (with `digest`) is to be run now: `false` if an earlier
    /// run settled it.
    ///
    /// # Errors
    ///
    /// If the journal recorded another line under this number.
    pub(crate) fn admit(&self, line: u64, digest: LineDigest) -> Result<bool, String> {
        match self.recorded(line) {
            None => Ok(true),
            Some((recorded, settled)) if recorded == digest => Ok(!settled),
            Some(_) => Err(format!(
                "line {line} of the input is not the line the journal recorded: the journal \
                 belongs to another input"
            )),
        }
    }
}

/// Why a journal cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// It could not be read or written.
    #[error("journal {}: {source}", path.display())]
    Io {
        /// The journal.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// Another run is using it.
    #[error("journal {} is in use by another run ({holder}): wait for it to end, or use another journal", path.display())]
    InUse {
        /// The journal.
        path: PathBuf,
        /// Who holds it, as far as can be told.
        holder: files::Locked,
    },
    /// It belongs to another input.
    #[error(
        "journal {} was written for input {recorded} (sha256 {recorded_sha}), but {input} \
         has other contents (sha256 {input_sha}): use a new journal file, or the input it \
         was written for",
        path.display()
    )]
    OtherInput {
        /// The journal.
        path: PathBuf,
        /// The input it names.
        recorded: String,
        /// That input's SHA-256.
        recorded_sha: String,
        /// The input given now.
        input: String,
        /// Its SHA-256.
        input_sha: String,
    },
    /// It is not a journal, or is damaged before its last line.
    #[error("journal {} is not a revoker journal or is damaged at line {line}: {message}", path.display())]
    Corrupt {
        /// The journal.
        path: PathBuf,
        /// The journal's own line at fault.
        line: u64,
        /// What is wrong.
        message: String,
    },
}

/// An open journal, positioned to append.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    state: JournalState,
}

impl Journal {
    /// Opens the journal at `path` for `input`: creates it (mode 0600) with a
    /// header, or reads what an existing one recorded.
    ///
    /// # Errors
    ///
    /// [`JournalError::OtherInput`] if it belongs to another input,
    /// [`JournalError::Corrupt`] if it is not a journal, [`JournalError::Io`].
    pub fn open(path: &Path, input: &InputIdentity) -> Result<Self, JournalError> {
        let io_error = |source| JournalError::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = files::open_append(path).map_err(io_error)?;
        // One run per journal: a second one is refused before it sends anything.
        files::lock_exclusive(&file).map_err(|source| JournalError::InUse {
            path: path.to_owned(),
            holder: source,
        })?;
        let exists = file.metadata().is_ok_and(|m| m.len() > 0);
        if !exists {
            let header = Header {
                revoker_journal: JOURNAL_FORMAT,
                input: input.name.clone(),
                input_sha256: input.sha256.clone(),
            };
            let mut line = serde_json::to_string(&header).expect("header serializes");
            line.push('\n');
            file.write_all(line.as_bytes()).map_err(io_error)?;
            file.sync_all().map_err(io_error)?;
            return Ok(Self {
                path: path.to_owned(),
                file,
                state: JournalState::default(),
            });
        }
        let (state, valid_len) = read_state(path, input)?;
        // Drop a record cut off by a kill, so appends start on a fresh line.
        file.set_len(valid_len).map_err(io_error)?;
        file.seek(SeekFrom::End(0)).map_err(io_error)?;
        Ok(Self {
            path: path.to_owned(),
            file,
            state,
        })
    }

    /// What the journal recorded before this run.
    pub fn state(&self) -> &JournalState {
        &self.state
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Makes the report at `report` agree with the journal before a resumed run
    /// appends to it: exactly one line per finished line, taken from the old
    /// report (which alone has a created key's value) or rebuilt from the
    /// journal. A create the old report shows as done but the journal does not
    /// is recorded as finished.
    ///
    /// Returns the creates still in doubt, for the caller to settle as `unknown`.
    ///
    /// # Errors
    ///
    /// If the report or journal cannot be read or written.
    pub fn reconcile_report(&mut self, report: &Path) -> Result<Vec<StartedCreate>, JournalError> {
        let report_error = |source| JournalError::Io {
            path: report.to_owned(),
            source,
        };
        // Never read or replace what a symbolic link points to.
        files::check_path(report).map_err(|refused| report_error(io::Error::other(refused)))?;
        // A new file beside the report, created exclusively, renamed over it.
        let tmp = files::create_beside(report).map_err(report_error)?;
        let mut out = BufWriter::new(tmp);
        let mut kept = HashSet::new();
        let mut keep = |line: u64| kept.insert(line);

        // Each line's last report line: a line redone by a later run has one per run.
        let mut last = HashMap::new();
        if let Ok(old) = files::open_to_read(report) {
            for (index, text) in BufReader::new(old).lines().enumerate() {
                let text = text.map_err(report_error)?;
                if let Ok(value) = serde_json::from_str::<Value>(&text)
                    && let Some(line) = value.get("line").and_then(Value::as_u64)
                {
                    last.insert(line, index);
                }
            }
        }
        // The old report's lines for settled lines, and for creates it shows done.
        let mut confirmed = Vec::new();
        if let Ok(old) = files::open_to_read(report) {
            for (index, text) in BufReader::new(old).lines().enumerate() {
                let text = text.map_err(report_error)?;
                let Ok(value) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                let Some(line) = value.get("line").and_then(Value::as_u64) else {
                    continue;
                };
                let started = self.state.started.get(&line).cloned();
                let wanted = self.state.is_settled(line) || started.is_some();
                if wanted && last.get(&line) == Some(&index) && keep(line) {
                    writeln!(out, "{text}").map_err(report_error)?;
                    if let Some(started) = started {
                        confirmed.push((started, value));
                    }
                }
            }
        }
        for (started, mut value) in confirmed {
            // The report has this create's result: record it as final, minus the
            // created fields (the report alone may hold the secret).
            if let Some(object) = value.as_object_mut() {
                object.remove("created");
                object.insert("digest".into(), started.digest.to_string().into());
            }
            self.append(&value.to_string())?;
            let outcome = value
                .get("outcome")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let attempts = value.get("attempts").and_then(Value::as_u64);
            self.state
                .mark(started.line, started.digest, outcome.as_deref(), attempts);
        }

        // Finished lines the old report lacks: rebuild them from the journal.
        let journal = files::open_to_read(&self.path).map_err(|source| JournalError::Io {
            path: self.path.clone(),
            source,
        })?;
        for text in BufReader::new(journal).lines().skip(1) {
            let Ok(text) = text else { break };
            let Ok(Value::Object(mut record)) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            if record.contains_key("started") {
                continue;
            }
            let Some(line) = record.get("line").and_then(Value::as_u64) else {
                continue;
            };
            if self.state.is_settled(line) && keep(line) {
                record.remove("digest");
                writeln!(out, "{}", Value::Object(record)).map_err(report_error)?;
            }
        }

        let out = out.into_inner().map_err(|e| report_error(e.into_error()))?;
        out.as_file().sync_all().map_err(report_error)?;
        out.persist(report).map_err(|e| report_error(e.error))?;
        self.file.sync_data().map_err(|source| JournalError::Io {
            path: self.path.clone(),
            source,
        })?;
        Ok(self.state.started.values().cloned().collect())
    }

    /// The creates in doubt, when there is no report to reconcile.
    pub fn in_doubt(&self) -> Vec<StartedCreate> {
        self.state.started.values().cloned().collect()
    }

    fn append(&mut self, record: &str) -> Result<(), JournalError> {
        let mut line = String::with_capacity(record.len() + 1);
        line.push_str(record);
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .map_err(|source| JournalError::Io {
                path: self.path.clone(),
                source,
            })
    }

    /// The file, to append records to, and what it recorded before this run.
    pub fn into_parts(self) -> (File, JournalState) {
        (self.file, self.state)
    }
}

/// The `started` record of a create about to be sent.
#[derive(Debug, Clone, Copy)]
pub struct StartedRecord<'a> {
    /// Its line.
    pub line: u64,
    /// The line's digest.
    pub digest: LineDigest,
    /// The request.
    pub request: &'a Request,
}

impl Serialize for StartedRecord<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(Some(6))?;
        map.serialize_entry("line", &self.line)?;
        map.serialize_entry("digest", &self.digest.to_string())?;
        map.serialize_entry("started", &true)?;
        map.serialize_entry("provider", &self.request.provider)?;
        map.serialize_entry("operation", &self.request.operation)?;
        map.serialize_entry("params", &ParamsJson(&self.request.params))?;
        map.end()
    }
}

/// Reads an existing journal: its state, and the length of its complete lines.
fn read_state(path: &Path, input: &InputIdentity) -> Result<(JournalState, u64), JournalError> {
    let corrupt = |line: u64, message: String| JournalError::Corrupt {
        path: path.to_owned(),
        line,
        message,
    };
    let io_error = |source| JournalError::Io {
        path: path.to_owned(),
        source,
    };
    let mut reader = BufReader::new(files::open_to_read(path).map_err(io_error)?);
    let mut state = JournalState::default();
    let mut text = String::new();
    let mut valid_len = 0u64;
    let mut number = 0u64;
    loop {
        text.clear();
        let read = reader.read_line(&mut text).map_err(io_error)?;
        if read == 0 {
            break;
        }
        number += 1;
        if !text.ends_with('\n') {
            // The last record, cut off by a kill before it was whole: not written.
            break;
        }
        if number == 1 {
            let header: Header = serde_json::from_str(&text)
                .map_err(|e| corrupt(1, format!("no journal header ({e})")))?;
            if header.revoker_journal != JOURNAL_FORMAT {
                return Err(corrupt(
                    1,
                    format!(
                        "journal format {} is not {JOURNAL_FORMAT}",
                        header.revoker_journal
                    ),
                ));
            }
            // A journal proves which input it belongs to, or is refused.
            if header.input_sha256 != input.sha256 {
                return Err(JournalError::OtherInput {
                    path: path.to_owned(),
                    recorded: header.input,
                    recorded_sha: header.input_sha256.unwrap_or_else(|| "none".into()),
                    input: input.name.clone(),
                    input_sha: input.sha256.clone().unwrap_or_else(|| "none".into()),
                });
            }
        } else {
            let entry: Entry =
                serde_json::from_str(&text).map_err(|e| corrupt(number, e.to_string()))?;
            let digest: LineDigest = entry
                .digest
                .parse()
                .map_err(|_| corrupt(number, format!("bad digest {:?}", entry.digest)))?;
            if entry.started {
                state.creates.insert(entry.line);
                {
                    let request = Request::new(
                        entry.provider.unwrap_or_default(),
                        entry.operation.unwrap_or_default(),
                        Params::from_pairs(entry.params),
                    );
                    state.started.insert(
                        entry.line,
                        StartedCreate {
                            line: entry.line,
                            digest,
                            request,
                        },
                    );
                }
            } else {
                state.mark(entry.line, digest, entry.outcome.as_deref(), entry.attempts);
            }
        }
        valid_len += read as u64;
    }
    if number == 0 {
        return Err(corrupt(1, "empty".into()));
    }
    Ok((state, valid_len))
}

/// What a journal last recorded of one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedLine {
    /// The line.
    pub line: u64,
    /// Its request as recorded: secret parameters as their fingerprints.
    pub request: Request,
    /// Its outcome (`None`: one this host does not know).
    pub outcome: Option<Outcome>,
}

/// Each line's last final record in the journal at `path`, in line order
/// (none if there is no such file), read without its lock and without
/// checking which input it belongs to: for a run that needs what an earlier
/// one did before it opens the journal (a findings run resolves first), and
/// whose [`Journal::open`] then checks both.
///
/// # Errors
///
/// [`Error::UnsafeFile`] if the journal is a symbolic link, not a regular
/// file or another user's (as a run refuses it), [`Error::Record`] if it is
/// there and cannot be read.
pub fn recorded_lines(path: &Path) -> Result<Vec<RecordedLine>, crate::Error> {
    files::check_path(path).map_err(|source| crate::Error::UnsafeFile {
        role: "journal",
        source,
    })?;
    let unreadable = |e: io::Error| {
        crate::Error::Record(crate::RecordError::Write {
            file: crate::RecordFile::Journal,
            kind: e.kind(),
            message: format!("{}: {e}", path.display()),
        })
    };
    let file = match files::open_to_read(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(unreadable(e)),
    };
    let mut last = BTreeMap::new();
    for text in BufReader::new(file).lines().skip(1) {
        let text = text.map_err(unreadable)?;
        // A record cut off by a kill, or damage Journal::open reports.
        let Ok(entry) = serde_json::from_str::<Entry>(&text) else {
            continue;
        };
        if entry.started {
            continue;
        }
        let (Some(provider), Some(operation)) = (entry.provider, entry.operation) else {
            continue;
        };
        last.insert(
            entry.line,
            RecordedLine {
                line: entry.line,
                request: Request::new(provider, operation, Params::from_pairs(entry.params)),
                outcome: entry.outcome.and_then(|name| name.parse().ok()),
            },
        );
    }
    Ok(last.into_values().collect())
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;
    use crate::model::{FieldValue, RequestResult, ResultJson};

    fn identity(sha: &str) -> InputIdentity {
        InputIdentity {
            name: "keys.jsonl".into(),
            sha256: Some(sha.into()),
        }
    }

    fn started(line: u64, request: &Request) -> String {
        serde_json::to_string(&StartedRecord {
            line,
            digest: LineDigest(line),
            request,
        })
        .unwrap()
    }

    fn final_record(line: u64, outcome: Outcome) -> String {
        let request = Request::new(
            "dolfin",
            "revoke-api-key",
            Params::from_pairs([("id", "x")]),
        );
        let result = RequestResult::unsent(&request, outcome, "d");
        serde_json::to_string(&ResultJson {
            result: &result,
            line: Some(line),
            digest: Some(LineDigest(line)),
            secrets: false,
        })
        .unwrap()
    }

    #[test]
    fn a_create_is_settled_unless_its_answer_says_it_did_not_happen() {
        let mut state = JournalState::default();
        for (line, outcome) in [
            (1, "created"),
            (2, "unknown"),
            (3, "provider-error"),
            (4, "unauthorized"),
            (5, "rate-limited"),
        ] {
            state.creates.insert(line);
            state.mark(line, LineDigest(line), Some(outcome), Some(1));
        }
        let settled: Vec<bool> = (1..=5).map(|l| state.recorded(l).unwrap().1).collect();
        assert_eq!(settled, [true, true, true, false, false]);
        assert_eq!(state.settled_failed_count(), 2);
        // Revocations: settled only once they succeed.
        state.mark(6, LineDigest(6), Some("already-revoked"), Some(1));
        state.mark(7, LineDigest(7), Some("provider-error"), Some(1));
        assert!(state.recorded(6).unwrap().1);
        assert!(!state.recorded(7).unwrap().1);
    }

    #[test]
    fn a_create_the_plugin_failed_is_sent_again_only_if_it_was_never_sent() {
        let mut state = JournalState::default();
        for (line, attempts) in [(1, Some(0)), (2, Some(1)), (3, None)] {
            state.creates.insert(line);
            state.mark(line, LineDigest(line), Some("plugin-error"), attempts);
        }
        // Refused before it was sent: not done. Sent, and its answer not read:
        // in doubt, never sent twice.
        let settled: Vec<bool> = (1..=3).map(|l| state.recorded(l).unwrap().1).collect();
        assert_eq!(settled, [false, true, true]);
        // An outcome a later host added is a failure, and settles a create.
        state.creates.insert(4);
        state.mark(4, LineDigest(4), Some("confirmed-elsewhere"), Some(1));
        state.mark(5, LineDigest(5), Some("confirmed-elsewhere"), Some(1));
        assert!(state.recorded(4).unwrap().1);
        assert!(!state.recorded(5).unwrap().1);
    }

    #[test]
    fn a_journal_that_does_not_name_its_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        std::fs::write(
            &path,
            "{\"revoker_journal\":1,\"input\":\"k\",\"input_sha256\":null}\n",
        )
        .unwrap();
        let err = Journal::open(&path, &identity("aa")).unwrap_err();
        assert!(matches!(err, JournalError::OtherInput { .. }), "{err}");
    }

    #[test]
    fn a_journal_has_one_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let first = Journal::open(&path, &identity("aa")).unwrap();
        let err = Journal::open(&path, &identity("aa")).unwrap_err();
        assert!(matches!(err, JournalError::InUse { .. }), "{err}");
        assert!(err.to_string().contains("in use by another run"), "{err}");
        drop(first);
        Journal::open(&path, &identity("aa")).unwrap();
    }

    #[test]
    fn a_new_journal_gets_a_header_and_an_existing_one_its_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let mut journal = Journal::open(&path, &identity("aa")).unwrap();
        assert_eq!(journal.state().finished_count(), 0);
        journal.append(&final_record(1, Outcome::Revoked)).unwrap();
        let create = Request::new(
            "pinata",
            "create-gateway-key",
            Params::from_pairs([("gateway-id", "g")]),
        );
        journal.append(&started(2, &create)).unwrap();
        journal.append(&final_record(3, Outcome::NotFound)).unwrap();
        // A record cut off by a kill.
        journal.file.write_all(b"{\"line\":4,\"dig").unwrap();
        drop(journal);

        let journal = Journal::open(&path, &identity("aa")).unwrap();
        let state = journal.state();
        assert_eq!(state.finished_count(), 2);
        assert_eq!(state.recorded(1), Some((LineDigest(1), true)));
        // A revocation that failed is sent again by the next run.
        assert_eq!(state.recorded(3), Some((LineDigest(3), false)));
        assert_eq!((state.settled_count(), state.retry_count()), (1, 1));
        assert_eq!(state.recorded(2), None);
        assert_eq!(state.recorded(4), None);
        let doubt = journal.in_doubt();
        assert_eq!(doubt.len(), 1);
        assert_eq!(doubt[0].line, 2);
        assert_eq!(doubt[0].request, create);

        let mut text = String::new();
        File::open(&path)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert!(
            text.ends_with("}\n"),
            "the cut-off record is gone: {text:?}"
        );
    }

    #[test]
    fn a_journal_of_another_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        drop(Journal::open(&path, &identity("aa")).unwrap());
        let err = Journal::open(&path, &identity("bb")).unwrap_err();
        assert!(matches!(err, JournalError::OtherInput { .. }), "{err}");
        assert!(err.to_string().contains("use a new journal file"), "{err}");
    }

    #[test]
    fn a_file_that_is_no_journal_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        std::fs::write(&path, "hello\n").unwrap();
        let err = Journal::open(&path, &identity("aa")).unwrap_err();
        assert!(
            err.to_string().contains("is not a revoker journal"),
            "{err}"
        );
    }

    #[test]
    fn reconciling_keeps_one_report_line_per_finished_line() {
        let dir = tempfile::tempdir().unwrap();
        let (journal_path, report_path) = (dir.path().join("j"), dir.path().join("r"));
        let mut journal = Journal::open(&journal_path, &identity("aa")).unwrap();
        journal.append(&final_record(1, Outcome::Revoked)).unwrap();
        journal.append(&final_record(2, Outcome::Revoked)).unwrap();
        let create = Request::new(
            "pinata",
            "create-gateway-key",
            Params::from_pairs([("gateway-id", "g")]),
        );
        journal.append(&started(3, &create)).unwrap();
        journal.append(&started(4, &create)).unwrap();
        drop(journal);

        // The report: line 1 twice, line 5 whose journal record was lost, the
        // create of line 3 done; line 2's report line lost.
        let mut created = RequestResult::unsent(&create, Outcome::Created, "");
        created.created = vec![("value".into(), FieldValue::Secret("new-secret".into()))];
        let report_line = |line, result: &RequestResult| {
            serde_json::to_string(&ResultJson {
                result,
                line: Some(line),
                digest: None,
                secrets: true,
            })
            .unwrap()
        };
        let revoked = RequestResult::unsent(&create, Outcome::Revoked, "");
        let report = [
            report_line(1, &revoked),
            report_line(1, &revoked),
            report_line(5, &revoked),
            report_line(3, &created),
        ]
        .join("\n");
        std::fs::write(&report_path, report + "\n").unwrap();

        let mut journal = Journal::open(&journal_path, &identity("aa")).unwrap();
        let doubt = journal.reconcile_report(&report_path).unwrap();
        assert_eq!(doubt.iter().map(|s| s.line).collect::<Vec<_>>(), [4]);
        assert_eq!(
            journal.state().recorded(3).map(|r| r.0),
            Some(LineDigest(3))
        );

        let lines: Vec<Value> = std::fs::read_to_string(&report_path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let numbers: Vec<u64> = lines.iter().map(|v| v["line"].as_u64().unwrap()).collect();
        assert_eq!(numbers, [1, 3, 2]);
        assert_eq!(
            lines[1]["created"]["value"], "new-secret",
            "the report keeps the value"
        );
        assert!(lines[2].get("digest").is_none());

        drop(journal);
        let journal_text = std::fs::read_to_string(&journal_path).unwrap();
        assert!(
            !journal_text.contains("new-secret"),
            "the journal never holds the value"
        );
        let journal = Journal::open(&journal_path, &identity("aa")).unwrap();
        assert_eq!(
            journal.state().recorded(3).map(|r| r.0),
            Some(LineDigest(3))
        );
        assert_eq!(journal.in_doubt().len(), 1);
    }
}

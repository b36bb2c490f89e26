//! The audit log: an append-only JSONL record of every request actually sent.
//!
//! Each entry names the time, the operator (user and host), the provider,
//! operation and parameters (never a credential), the attempt, the status, the
//! outcome and the provider's request id. Each entry carries its own SHA-256
//! (`hash`, of the entry without it) and the previous entry's (`prev`), so that
//! an edited or removed entry is detectable: `revoker audit verify FILE`. (A
//! hash chain cannot tell that entries were cut off at the end, nor stop someone
//! who rewrites every hash after an edit: keep the log where they cannot.)
//!
//! Entries are written as each attempt ends and synced to disk at least every
//! 200 ms and when the log is dropped. A required log (`--audit-required`)
//! is written first: each attempt has an entry `sending`, written and synced
//! before the request goes out, and its answer entry is synced before the
//! result is reported; once an entry cannot be written, nothing more is sent.
//!
//! An entry whose write was cut off (the disk filled up, the process was
//! killed mid-write) leaves a last line without its newline: `verify` reports
//! it as a cut-off tail, not as tampering, and the next [`AuditLog::open`]
//! removes it before appending. A cut-off `sending` entry was never sent: the
//! request goes out only once its entry is on disk.

use std::fs::File;
use std::io::{self, BufRead as _, BufReader, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use revoker_plugin_api::Params;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::AuditError;
use crate::files;
use crate::model::{Outcome, ParamsJson, hex};

/// The `prev` of the first entry.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const SYNC_INTERVAL: Duration = Duration::from_millis(200);

/// Which moment of an attempt an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// The request is about to be sent (a required log only).
    Sending,
    /// It was answered, or failed, and is tried again.
    Retried,
    /// The last attempt, with the request's outcome.
    Outcome(Outcome),
}

impl Phase {
    fn as_str(self) -> &'static str {
        match self {
            Self::Sending => "sending",
            Self::Retried => "retried",
            Self::Outcome(outcome) => outcome.as_str(),
        }
    }
}

/// One attempt, as recorded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attempt<'a> {
    pub provider: &'a str,
    pub operation: &'a str,
    pub params: &'a Params,
    pub attempt: u32,
    pub status: Option<u16>,
    /// What the entry records: the request about to go out, one that is
    /// retried, or the last attempt's outcome.
    pub phase: Phase,
    pub request_id: Option<&'a str>,
    /// What went wrong when there was no response.
    pub error: Option<&'a str>,
}

#[derive(Serialize)]
struct Entry<'a> {
    time: String,
    operator: &'a str,
    provider: &'a str,
    operation: &'a str,
    params: ParamsJson<'a>,
    attempt: u32,
    status: Option<u16>,
    outcome: &'a str,
    request_id: Option<&'a str>,
    error: Option<&'a str>,
    prev: &'a str,
}

struct State {
    file: File,
    prev: String,
    unsynced: bool,
    last_sync: Instant,
}

/// An open audit log.
pub struct AuditLog {
    path: PathBuf,
    id: files::FileId,
    operator: String,
    required: bool,
    state: Mutex<State>,
    failure: OnceLock<AuditError>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.path)
            .field("required", &self.required)
            .field("failure", &self.failure.get())
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Opens (or creates, mode 0600) the log at `path`, to append after its last
    /// entry, never through a symbolic link: an existing file must be a regular
    /// file of this user, and group or other access is taken away. With
    /// `required`, a run sends nothing once an entry cannot be written.
    ///
    /// # Errors
    ///
    /// If the file cannot be opened (holding an [`UnsafeFile`](crate::UnsafeFile)
    /// if it is refused), or its last entry cannot be read.
    pub fn open(path: &Path, required: bool) -> io::Result<Self> {
        let mut file = files::open_append(path)?;
        let id = files::FileId::of_file(&file)?;
        // One writer per log: two processes never fork its chain.
        files::lock_exclusive(&file).map_err(|locked| {
            io::Error::new(
                io::ErrorKind::WouldBlock,
                format!("it is in use by another run ({locked})"),
            )
        })?;
        let cut_off = remove_cut_off_tail(&mut file)?;
        if cut_off > 0 {
            tracing::warn!(
                path = %path.display(),
                bytes = cut_off,
                "removed the audit log's cut-off last entry (an earlier run stopped while \
                 writing it; a cut-off `sending` entry was never sent)"
            );
        }
        let prev = last_hash(&mut file)?.unwrap_or_else(|| GENESIS.to_owned());
        Ok(Self {
            path: path.to_owned(),
            id,
            operator: operator(),
            required,
            state: Mutex::new(State {
                file,
                prev,
                unsynced: false,
                last_sync: Instant::now(),
            }),
            failure: OnceLock::new(),
        })
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Which file the log is (the one opened, whatever its path names now).
    pub(crate) fn file_id(&self) -> &files::FileId {
        &self.id
    }

    /// Whether nothing may be sent once an entry cannot be written.
    pub fn is_required(&self) -> bool {
        self.required
    }

    /// The first write error, if any.
    pub fn failure(&self) -> Option<&AuditError> {
        self.failure.get()
    }

    /// Records one attempt (synced within [`SYNC_INTERVAL`]).
    pub(crate) fn record(&self, attempt: &Attempt<'_>) {
        let _ = self.write(attempt, false);
    }

    /// Records one attempt and syncs it to disk before returning.
    ///
    /// # Errors
    ///
    /// Why the entry is not on disk (this or an earlier write failed): the
    /// caller must not send what it records.
    pub(crate) fn record_durably(&self, attempt: &Attempt<'_>) -> Result<(), AuditError> {
        self.write(attempt, true)
    }

    fn write(&self, attempt: &Attempt<'_>, durably: bool) -> Result<(), AuditError> {
        if let Some(failure) = self.failure() {
            return Err(failure.clone());
        }
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = Entry {
            time: rfc3339(SystemTime::now()),
            operator: &self.operator,
            provider: attempt.provider,
            operation: attempt.operation,
            params: ParamsJson(attempt.params),
            attempt: attempt.attempt,
            status: attempt.status,
            outcome: attempt.phase.as_str(),
            request_id: attempt.request_id,
            error: attempt.error,
            prev: &state.prev,
        };
        let body = serde_json::to_string(&entry).expect("entries serialize");
        let hash = hex(&Sha256::digest(body.as_bytes()));
        let mut line = String::with_capacity(body.len() + 80);
        line.push_str(&body[..body.len() - 1]);
        line.push_str(",\"hash\":\"");
        line.push_str(&hash);
        line.push_str("\"}\n");
        let State {
            file,
            unsynced,
            last_sync,
            ..
        } = &mut *state;
        let written = append_entry(file, line.as_bytes()).and_then(|()| {
            *unsynced = true;
            if durably || last_sync.elapsed() >= SYNC_INTERVAL {
                file.sync_data()?;
                *unsynced = false;
                *last_sync = Instant::now();
            }
            Ok(())
        });
        match written {
            Ok(()) => {
                state.prev = hash;
                Ok(())
            }
            Err(e) => {
                let error = self.error(&e);
                tracing::error!("{error}");
                let _ = self.failure.set(error.clone());
                Err(error)
            }
        }
    }

    /// Syncs what was written to disk.
    ///
    /// # Errors
    ///
    /// The first write error, or the sync's.
    pub fn sync(&self) -> Result<(), AuditError> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if state.unsynced {
            state.file.sync_data().map_err(|e| self.error(&e))?;
            state.unsynced = false;
            state.last_sync = Instant::now();
        }
        self.failure().map_or(Ok(()), |e| Err(e.clone()))
    }

    fn error(&self, error: &io::Error) -> AuditError {
        AuditError {
            path: self.path.clone(),
            kind: error.kind(),
            message: error.to_string(),
        }
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        let _ = self.sync();
    }
}

/// Appends one whole entry, or nothing: a write cut off part-way (the disk or
/// the file size limit full) is taken back, so that the log ends with a whole
/// entry whenever it can.
fn append_entry(file: &mut File, line: &[u8]) -> io::Result<()> {
    let len = file.seek(SeekFrom::End(0))?;
    file.write_all(line).inspect_err(|_| {
        let _ = file.set_len(len);
    })
}

/// Removes a cut-off last entry (a line without its newline) left by a run
/// that stopped while writing it; returns how many bytes were removed.
fn remove_cut_off_tail(file: &mut File) -> io::Result<u64> {
    let len = file.seek(SeekFrom::End(0))?;
    let start = len.saturating_sub(64 * 1024);
    file.seek(SeekFrom::Start(start))?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail)?;
    if tail.last().is_none_or(|&b| b == b'\n') {
        return Ok(0);
    }
    let keep = match tail.iter().rposition(|&b| b == b'\n') {
        Some(newline) => start + newline as u64 + 1,
        None if start == 0 => 0,
        None => return Err(io::Error::other("its last line is not an audit entry")),
    };
    file.set_len(keep)?;
    file.sync_data()?;
    Ok(len - keep)
}

/// The hash of the file's last entry, if it has one.
fn last_hash(file: &mut File) -> io::Result<Option<String>> {
    let len = file.seek(SeekFrom::End(0))?;
    let start = len.saturating_sub(64 * 1024);
    file.seek(SeekFrom::Start(start))?;
    let mut tail = String::new();
    file.read_to_string(&mut tail)?;
    let Some(last) = tail.lines().rev().find(|l| !l.trim().is_empty()) else {
        return Ok(None);
    };
    split_hash(last)
        .map(|(_, hash)| Some(hash.to_owned()))
        .ok_or_else(|| io::Error::other("its last line is not an audit entry"))
}

/// An entry's body (as hashed) and its `hash`.
fn split_hash(line: &str) -> Option<(String, &str)> {
    let at = line.rfind(",\"hash\":\"")?;
    let hash = line[at + 9..].strip_suffix("\"}")?;
    Some((format!("{}}}", &line[..at]), hash))
}

/// Why a log does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: line {line}: {message}")]
pub struct VerifyError {
    /// The log.
    pub path: String,
    /// The first line at fault.
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

impl VerifyError {
    /// Whether the log could not be read at all (line 0), rather than read and
    /// found wrong.
    pub fn is_unreadable(&self) -> bool {
        self.line == 0
    }
}

/// What [`verify`] found in a log whose chain holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The whole entries, each checked.
    pub entries: u64,
    /// The bytes of a cut-off last entry (a line without its newline, from a
    /// run that stopped while writing it), if there is one: not tampering, and
    /// removed by the next [`AuditLog::open`].
    pub cut_off: Option<u64>,
}

/// Checks every entry of the log at `path`: its own hash, and that it follows
/// the one before it.
///
/// ```
/// use revoker_host::audit::{Verified, verify};
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("audit.jsonl");
/// std::fs::write(&path, "").unwrap();
/// assert_eq!(verify(&path), Ok(Verified { entries: 0, cut_off: None }));
/// std::fs::write(&path, "{\"forged\":true}\n").unwrap();
/// assert_eq!(verify(&path).unwrap_err().line, 1);
/// ```
///
/// # Errors
///
/// [`VerifyError`] naming the first line that is not right.
pub fn verify(path: &Path) -> Result<Verified, VerifyError> {
    let error = |line: u64, message: String| VerifyError {
        path: path.display().to_string(),
        line,
        message,
    };
    let file = File::open(path).map_err(|e| error(0, format!("cannot open it: {e}")))?;
    let mut reader = BufReader::new(file);
    let mut prev = GENESIS.to_owned();
    let mut entries = 0;
    let mut raw = Vec::new();
    loop {
        raw.clear();
        let number = entries + 1;
        let read = reader
            .read_until(b'\n', &mut raw)
            .map_err(|e| error(number, format!("cannot read it: {e}")))?;
        if read == 0 {
            return Ok(Verified {
                entries,
                cut_off: None,
            });
        }
        if raw.last() != Some(&b'\n') {
            // The last line, without its newline: a write cut off part-way.
            return Ok(Verified {
                entries,
                cut_off: Some(raw.len() as u64),
            });
        }
        let line = std::str::from_utf8(&raw[..raw.len() - 1])
            .map_err(|_| error(number, "not an audit entry: not UTF-8".into()))?;
        let (body, hash) =
            split_hash(line).ok_or_else(|| error(number, "not an audit entry".into()))?;
        if hex(&Sha256::digest(body.as_bytes())) != hash {
            return Err(error(
                number,
                "this entry was edited: its hash does not match it".into(),
            ));
        }
        let entry: serde_json::Value = serde_json::from_str(&body)
            .map_err(|e| error(number, format!("not an audit entry: {e}")))?;
        if entry.get("prev").and_then(serde_json::Value::as_str) != Some(prev.as_str()) {
            return Err(error(
                number,
                if number == 1 {
                    "the first entry does not start the chain: entries before it were removed"
                        .into()
                } else {
                    format!(
                        "this entry does not follow line {}: an entry between them was removed",
                        number - 1
                    )
                },
            ));
        }
        hash.clone_into(&mut prev);
        entries += 1;
    }
}

/// `user@host`.
fn operator() -> String {
    format!("{}@{}", user_name(), host_name())
}

#[cfg(unix)]
fn user_name() -> String {
    // SAFETY: geteuid cannot fail; getpwuid_r writes into the buffers given,
    // whose sizes are passed, and `result` is checked before use.
    unsafe {
        let uid = libc::geteuid();
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut buf = vec![0 as libc::c_char; 4096];
        let mut result = std::ptr::null_mut();
        if libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) == 0
            && !result.is_null()
            && !pwd.pw_name.is_null()
        {
            return std::ffi::CStr::from_ptr(pwd.pw_name)
                .to_string_lossy()
                .into_owned();
        }
        format!("uid{uid}")
    }
}

#[cfg(not(unix))]
fn user_name() -> String {
    std::env::var("USERNAME").unwrap_or_else(|_| "unknown".into())
}

#[cfg(unix)]
fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer and its length are valid; the result is NUL-terminated
    // within the buffer or cut at its end.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        return String::from_utf8_lossy(&buf[..end]).into_owned();
    }
    "unknown".into()
}

#[cfg(not(unix))]
fn host_name() -> String {
    std::env::var("COMPUTERNAME").unwrap_or_else(|_| "unknown".into())
}

/// `time` as RFC 3339 in UTC, to the millisecond.
fn rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = crate::civil::civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt<'a>(params: &'a Params, n: u32, outcome: Option<Outcome>) -> Attempt<'a> {
        Attempt {
            provider: "dolfin",
            operation: "revoke-api-key",
            params,
            attempt: n,
            status: Some(if outcome.is_some() { 204 } else { 503 }),
            phase: outcome.map_or(Phase::Retried, Phase::Outcome),
            request_id: Some("req-1"),
            error: None,
        }
    }

    fn verified(entries: u64, cut_off: Option<u64>) -> Result<Verified, VerifyError> {
        Ok(Verified { entries, cut_off })
    }

    #[test]
    fn a_cut_off_last_entry_is_reported_as_such_and_removed_by_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        write_log(&path, 2);
        let whole = std::fs::read(&path).unwrap();
        let mut torn = whole.clone();
        torn.extend_from_slice(b"{\"time\":\"2026-");
        std::fs::write(&path, &torn).unwrap();
        assert_eq!(verify(&path), verified(2, Some(14)));
        // Appending goes on from the last whole entry, and the chain holds.
        write_log(&path, 1);
        assert_eq!(verify(&path), verified(3, None));
        assert!(std::fs::read(&path).unwrap().starts_with(&whole));
        // Only the last line may be cut off: the same bytes before another
        // entry are tampering.
        let mut text = std::fs::read(&path).unwrap();
        let second = text.iter().position(|&b| b == b'\n').unwrap() + 1;
        text.splice(second..second, b"{\"time\":\"2026-\n".iter().copied());
        std::fs::write(&path, &text).unwrap();
        assert_eq!(verify(&path).unwrap_err().line, 2);
    }

    #[test]
    fn a_durable_entry_is_refused_after_a_failed_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let params = Params::from_pairs([("id", "k1")]);
        let log = AuditLog::open(&path, true).unwrap();
        let sending = Attempt {
            phase: Phase::Sending,
            ..attempt(&params, 1, None)
        };
        log.record_durably(&sending).unwrap();
        let full = io::Error::new(io::ErrorKind::StorageFull, "disk full");
        let _ = log.failure.set(log.error(&full));
        let refused = log.record_durably(&sending).unwrap_err();
        assert_eq!(refused.kind, io::ErrorKind::StorageFull);
        assert!(refused.to_string().contains("disk full"), "{refused}");
        drop(log);
        assert_eq!(verify(&path), verified(1, None));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"outcome\":\"sending\""), "{text}");
    }

    fn write_log(path: &Path, entries: u32) {
        let params = Params::from_pairs([("id", "k1")]);
        let log = AuditLog::open(path, true).unwrap();
        for n in 1..=entries {
            log.record(&attempt(
                &params,
                n,
                (n == entries).then_some(Outcome::Revoked),
            ));
        }
        log.sync().unwrap();
    }

    #[test]
    fn a_written_log_verifies_and_continues_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        write_log(&path, 3);
        write_log(&path, 2);
        assert_eq!(verify(&path), verified(5, None));
        let text = std::fs::read_to_string(&path).unwrap();
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["outcome"], "retried");
        assert_eq!(first["params"]["id"], "k1");
        assert!(first["operator"].as_str().unwrap().contains('@'));
        assert_eq!(first["prev"], GENESIS);
    }

    #[test]
    fn an_edited_entry_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        write_log(&path, 4);
        let text = std::fs::read_to_string(&path).unwrap();
        let edited: Vec<String> = text
            .lines()
            .enumerate()
            .map(|(i, l)| {
                if i == 2 {
                    l.replace("\"status\":503", "\"status\":204")
                } else {
                    l.to_owned()
                }
            })
            .collect();
        std::fs::write(&path, edited.join("\n") + "\n").unwrap();
        let err = verify(&path).unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("edited"), "{err}");
    }

    #[test]
    fn a_removed_entry_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        write_log(&path, 4);
        let text = std::fs::read_to_string(&path).unwrap();
        let kept: Vec<&str> = text
            .lines()
            .enumerate()
            .filter(|(i, _)| *i != 1)
            .map(|(_, l)| l)
            .collect();
        std::fs::write(&path, kept.join("\n") + "\n").unwrap();
        let err = verify(&path).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("does not follow line 1"), "{err}");
    }

    #[test]
    fn times_are_rfc3339_utc() {
        let time = UNIX_EPOCH + Duration::from_millis(1_784_000_000_123);
        assert_eq!(rfc3339(time), "2026-07-14T03:33:20.123Z");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00.000Z"
        );
    }
}

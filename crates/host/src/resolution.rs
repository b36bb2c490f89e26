//! From a scanner's findings to a revocation plan: each distinct secret asked
//! of every loaded plugin's resolver, its lookups run through the [`Host`],
//! and what is left written as ordinary bulk lines.
//!
//! [`findings`](crate::findings) reads the report; this module, above the
//! host, does what needs one:
//!
//! 1. the findings are grouped ([`Grouper`]): one secret, one revocation,
//!    every location kept;
//! 2. each group's secret is offered to every loaded plugin's `resolve`, in
//!    the order of their provider names: the first that claims it wins, and
//!    any other that claims it too is named ([`Entry::also_claimed`]);
//! 3. a resolution that needs a lookup first (an AWS key without its owner's
//!    user name) has it run through [`Host::execute`], with the same
//!    credential, limits, retries and audit as any request; the lookup's
//!    outcome field fills the calls' parameter. Without the provider's
//!    credential, or when the lookup fails, the entry is
//!    [`Status::NeedsOwner`], saying what to do;
//! 4. every call is planned (sending nothing) to check it.
//!
//! ```no_run
//! # async fn run(host: revoker_host::Host) {
//! use revoker_host::findings::FindingsReader;
//! use revoker_host::resolution::Resolver;
//!
//! let report = std::fs::File::open("trufflehog.jsonl").unwrap();
//! let resolved = Resolver::new(&host)
//!     .delete(true)
//!     .resolve(FindingsReader::from_read(report, None))
//!     .await;
//! for line in resolved.plan_lines() {
//!     println!("{line}"); // {"provider":…,"operation":…,"params":{…}}, no secret
//! }
//! # }
//! ```
//!
//! # No secret is kept
//!
//! The secrets stay in the [`Entry`] they came with ([`SecretString`], never
//! shown): a resolution is refused if any of its parameters or its reason
//! holds the secret (a plugin's bug), and a call that takes the secret itself
//! (a revoke-by-value endpoint, as GitHub's) is left out of
//! [`Resolutions::plan_lines`]; only [`Resolutions::write_secret_plan`]
//! writes it, to a file created with mode 0600.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::io::{self, BufRead, Read, Write as _};
use std::ops::Range;
use std::path::Path;

use futures_util::StreamExt as _;
use revoker_plugin_api::{Params, Resolution, ResolutionKind};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::findings::{FindingsReader, Fingerprint, Format, Grouper, Hint, Location, Problem};
use crate::host::Host;
use crate::model::{FieldValue, Outcome, ParamsJson, Request, hex};

/// The context parameter of a finding's public key id (an AWS access key id).
pub const CONTEXT_ACCESS_KEY_ID: &str = "access-key-id";
/// The context parameter of the key owner's ARN (TruffleHog's `ExtraData`).
pub const CONTEXT_ARN: &str = "arn";
/// The context parameter of the key's account (TruffleHog's `ExtraData`).
pub const CONTEXT_ACCOUNT: &str = "account";
/// The context parameter of the run's choice to delete as well as
/// deactivate: `true`.
pub const CONTEXT_DELETE: &str = "delete";

/// How many lookups are in flight at once.
const LOOKUP_CONCURRENCY: usize = 8;

/// Secrets shorter than this are not searched for in what plugins return (a
/// two-letter "secret" is in every word).
const SCRUB_MIN_LEN: usize = 8;

/// Resolves a report's findings with a [`Host`]'s plugins.
#[derive(Debug, Clone)]
pub struct Resolver<'h> {
    host: &'h Host,
    delete: bool,
    recorded: Recorded,
    lookups: bool,
}

/// Requests an earlier run recorded, found by any one of their parameters.
#[derive(Debug, Clone, Default)]
struct Recorded {
    requests: Vec<Request>,
    /// (provider, operation, parameter, value) → indexes in `requests`.
    by_param: HashMap<(String, String, String, String), Vec<usize>>,
}

impl Recorded {
    fn new(requests: Vec<Request>) -> Self {
        let mut by_param: HashMap<_, Vec<usize>> = HashMap::new();
        for (index, request) in requests.iter().enumerate() {
            for param in request.params.iter() {
                let key = (
                    request.provider.clone(),
                    request.operation.clone(),
                    param.name.to_string(),
                    param.value.to_string(),
                );
                by_param.entry(key).or_default().push(index);
            }
        }
        Self { requests, by_param }
    }

    /// The recorded requests of `call`'s provider and operation that hold
    /// every parameter `call` has.
    fn holding<'a>(&'a self, call: &'a Request) -> impl Iterator<Item = &'a Request> + 'a {
        let first = call.params.iter().next().map(|param| {
            (
                call.provider.clone(),
                call.operation.clone(),
                param.name.to_string(),
                param.value.to_string(),
            )
        });
        first
            .and_then(|key| self.by_param.get(&key))
            .into_iter()
            .flatten()
            .map(|&index| &self.requests[index])
            .filter(move |recorded| {
                call.params
                    .iter()
                    .all(|p| recorded.params.get(p.name.as_str()) == Some(p.value.as_str()))
            })
    }
}

/// How far one distinct secret got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// Its calls revoke it.
    Resolved,
    /// Its provider revokes it by an id the secret does not reveal.
    NeedsId,
    /// A resolution needs the owner's user name, and its lookup could not run
    /// (the provider's credential is not set) or failed: [`Entry::reason`]
    /// says what happened and what to do.
    NeedsOwner,
    /// Its provider's, and not revocable this way (or its plugin failed).
    Unresolvable,
    /// No loaded plugin claims it.
    Unrecognised,
}

impl Status {
    /// Its name: `resolved`, `needs-id`, `needs-user-name`, `unresolvable`,
    /// `unrecognised`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Resolved => "resolved",
            Self::NeedsId => "needs-id",
            Self::NeedsOwner => "needs-user-name",
            Self::Unresolvable => "unresolvable",
            Self::Unrecognised => "unrecognised",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One call of a resolved entry: a bulk line, without the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The request (provider, operation, parameters), none of them the secret.
    pub request: Request,
    /// The parameter that takes the secret itself, if the call needs it
    /// (GitHub's revoke-by-value): the call is then only in
    /// [`Resolutions::write_secret_plan`]'s file.
    pub secret_param: Option<String>,
}

impl Call {
    /// Its bulk JSONL line: `{"provider":…,"operation":…,"params":{…}}`
    /// (without the secret: a call with a [`Call::secret_param`] lacks that
    /// parameter).
    pub fn line(&self) -> String {
        line(
            &self.request.provider,
            &self.request.operation,
            &self.request.params,
        )
    }
}

fn line(provider: &str, operation: &str, params: &Params) -> String {
    #[derive(Serialize)]
    struct Line<'a> {
        provider: &'a str,
        operation: &'a str,
        params: ParamsJson<'a>,
    }
    serde_json::to_string(&Line {
        provider,
        operation,
        params: ParamsJson(params),
    })
    .expect("strings serialize")
}

/// What became of one distinct secret of the report.
#[derive(Clone)]
#[non_exhaustive]
pub struct Entry {
    /// The secret's fingerprint.
    pub fingerprint: Fingerprint,
    /// The scanner's type hint.
    pub hint: Option<Hint>,
    /// Every location it was found at, in the report's order.
    pub locations: Vec<Location>,
    /// The provider whose plugin claimed it.
    pub provider: Option<String>,
    /// Other providers whose plugins claimed it too (the first one won).
    pub also_claimed: Vec<String>,
    /// How far it got.
    pub status: Status,
    /// The plugin's words (what it is, or why it is not resolved and what to
    /// do), or the host's. Text from a plugin: show it through
    /// [`terminal_safe`](crate::text::terminal_safe).
    pub reason: String,
    /// The calls that revoke it, in order (deactivate before delete); empty
    /// unless [`Status::Resolved`].
    pub calls: Vec<Call>,
    /// The lines it takes in a [`FindingsPlan`]: its calls as resolved
    /// offline, before a lookup could fail (then they are blank), so that a
    /// plan's line numbers depend on the report alone.
    slots: usize,
    secret: SecretString,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("fingerprint", &self.fingerprint)
            .field("hint", &self.hint)
            .field("locations", &self.locations)
            .field("provider", &self.provider)
            .field("also_claimed", &self.also_claimed)
            .field("status", &self.status)
            .field("reason", &self.reason)
            .field("calls", &self.calls)
            .finish_non_exhaustive()
    }
}

impl Entry {
    /// Whether a call of it needs the secret itself.
    pub fn needs_secret(&self) -> bool {
        self.calls.iter().any(|call| call.secret_param.is_some())
    }

    fn set(&mut self, status: Status, reason: String) {
        self.status = status;
        self.reason = reason;
        if status != Status::Resolved {
            self.calls.clear();
        }
    }
}

/// What a report resolved to.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Resolutions {
    /// The report's format, as given or detected.
    pub format: Option<Format>,
    /// One entry per distinct secret, in the order first found.
    pub entries: Vec<Entry>,
    /// The records that were no finding, with their positions.
    pub problems: Vec<Problem>,
    /// The SHA-256 of the report's bytes, hex, when read by
    /// [`Resolver::resolve_report`].
    pub report_sha256: Option<String>,
    /// Whether deletion was asked for.
    delete: bool,
}

impl Resolutions {
    /// The plan: every resolved call that does not need the secret itself, as
    /// bulk JSONL lines, entry by entry, each entry's calls in order.
    pub fn plan_lines(&self) -> impl Iterator<Item = String> + '_ {
        self.resolved()
            .flat_map(|entry| entry.calls.iter())
            .filter(|call| call.secret_param.is_none())
            .map(Call::line)
    }

    /// The resolved entries.
    pub fn resolved(&self) -> impl Iterator<Item = &Entry> {
        self.entries
            .iter()
            .filter(|entry| entry.status == Status::Resolved)
    }

    /// The resolved entries whose calls need the secret itself (left out of
    /// [`Resolutions::plan_lines`]).
    pub fn needing_secrets(&self) -> impl Iterator<Item = &Entry> {
        self.resolved().filter(|entry| entry.needs_secret())
    }

    /// Writes the calls that need the secret itself, with it, as bulk JSONL
    /// lines to `path`, created (or truncated) with mode 0600, never through a
    /// symbolic link; returns how many lines.
    ///
    /// # Errors
    ///
    /// If the file cannot be created or written; one holding an
    /// [`UnsafeFile`](crate::UnsafeFile) if it is refused.
    pub fn write_secret_plan(&self, path: &Path) -> io::Result<usize> {
        let mut file = io::BufWriter::new(crate::files::create(path)?);
        let mut lines = 0;
        for entry in self.needing_secrets() {
            for call in &entry.calls {
                let mut params = call.request.params.clone();
                if let Some(name) = &call.secret_param {
                    params.insert(name, entry.secret.expose_secret());
                }
                let text = line(&call.request.provider, &call.request.operation, &params);
                writeln!(file, "{text}")?;
                lines += 1;
            }
        }
        file.into_inner()
            .map_err(io::IntoInnerError::into_error)?
            .sync_all()?;
        Ok(lines)
    }

    /// The input of a bulk run of these findings (`revoker bulk --findings`):
    /// every resolved call a line, the secret a call takes left out of it and
    /// given to that line only as it is sent.
    pub fn bulk_plan(&self) -> FindingsPlan {
        let mut text = String::new();
        let mut entries = Vec::with_capacity(self.entries.len());
        let mut secrets = HashMap::new();
        let mut line = 0;
        for entry in &self.entries {
            entries.push(line + 1..line + 1 + entry.slots as u64);
            for slot in 0..entry.slots {
                line += 1;
                match entry.calls.get(slot) {
                    Some(call) if entry.status == Status::Resolved => {
                        text.push_str(&call.line());
                        if let Some(name) = &call.secret_param {
                            secrets.insert(line, (name.clone(), entry.secret.clone()));
                        }
                    }
                    // Not resolved after all (a lookup failed): a blank line
                    // keeps the lines after it where a resumed run finds them.
                    _ => {}
                }
                text.push('\n');
            }
        }
        let mut identity = Sha256::new();
        identity.update(b"revoker findings\n");
        match &self.report_sha256 {
            Some(report) => identity.update(report.as_bytes()),
            None => identity.update(Sha256::digest(text.as_bytes())),
        }
        // The reader (a forced format reads a report otherwise).
        identity.update(self.format.map_or("", Format::as_str).as_bytes());
        identity.update(if self.delete {
            &b"\ndelete\n"[..]
        } else {
            &b"\n"[..]
        });
        FindingsPlan {
            sha256: hex(&identity.finalize()),
            text,
            entries,
            secrets,
        }
    }
}

/// A bulk run's input made from a report's findings
/// ([`Resolutions::bulk_plan`]): ordinary bulk JSONL lines, one per call of
/// each distinct secret, entry by entry.
///
/// A line's number depends on the report alone: an entry whose lookup failed
/// keeps its lines, blank. A journal binds to [`FindingsPlan::sha256`], the
/// report's (the hash of its bytes, with the choice to delete), not to the
/// lines, which a lookup fills.
///
/// The lines hold no secret: a call that takes the secret itself (GitHub's
/// revoke-by-value) has it from [`FindingsPlan::secret_of`] as its line is
/// sent, and it is never written.
pub struct FindingsPlan {
    sha256: String,
    text: String,
    /// Each entry's lines, in [`Resolutions::entries`]' order: consecutive.
    entries: Vec<Range<u64>>,
    secrets: HashMap<u64, (String, SecretString)>,
}

impl fmt::Debug for FindingsPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FindingsPlan")
            .field("sha256", &self.sha256)
            .field(
                "lines",
                &self.entries.last().map_or(0, |lines| lines.end - 1),
            )
            .field("lines_taking_a_secret", &self.secrets.len())
            .finish_non_exhaustive()
    }
}

impl FindingsPlan {
    /// What a journal of this run binds to: the SHA-256 of the report's
    /// bytes, its format and the choice to delete, hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The lines, JSONL, without a secret.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The index in [`Resolutions::entries`] of the entry whose call is on
    /// `line` (from 1).
    pub fn entry_of(&self, line: u64) -> Option<usize> {
        // The first entry whose lines end after `line`, if they hold it.
        let index = self.entries.partition_point(|lines| lines.end <= line);
        self.entries
            .get(index)
            .filter(|lines| lines.contains(&line))
            .map(|_| index)
    }

    /// The lines of the entry at `index` in [`Resolutions::entries`].
    pub fn lines_of(&self, index: usize) -> Range<u64> {
        self.entries.get(index).cloned().unwrap_or(0..0)
    }

    /// The parameter and secret `line`'s call takes, if it takes one.
    pub fn secret_of(&self, line: u64) -> Option<(&str, &SecretString)> {
        self.secrets
            .get(&line)
            .map(|(name, secret)| (name.as_str(), secret))
    }
}

/// What became of a finding in a bulk run of its plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fate {
    /// Every call of it succeeded (`revoked`, `already-revoked`; `not-found`
    /// when the run counts it as done).
    Revoked,
    /// Every call succeeded, and one was `accepted`: its provider carries the
    /// revocation out later.
    Accepted,
    /// A call did not succeed: its outcome (the first such call's).
    Failed(Outcome),
    /// A call has no result: the run stopped first, or it was a dry run.
    NotSent,
    /// Never in the plan: how far it got.
    Unresolved(Status),
}

impl Fate {
    /// Its name: `revoked`, `accepted`, `failed`, `not-sent`, or the status
    /// (`needs-id`, `needs-user-name`, `unresolvable`, `unrecognised`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Revoked => "revoked",
            Self::Accepted => "accepted",
            Self::Failed(_) => "failed",
            Self::NotSent => "not-sent",
            Self::Unresolved(status) => status.as_str(),
        }
    }

    /// Whether the run did what it could to kill it: revoked, or accepted
    /// by a provider that revokes later.
    pub fn is_done(self) -> bool {
        matches!(self, Self::Revoked | Self::Accepted)
    }
}

impl fmt::Display for Fate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Resolutions {
    /// Each entry's fate, in [`Resolutions::entries`]' order, from what
    /// became of the lines of `plan` (made by [`Resolutions::bulk_plan`]):
    /// `line` gives a line's outcome and whether it counts as done, if it
    /// has one.
    pub fn fates(
        &self,
        plan: &FindingsPlan,
        line: impl Fn(u64) -> Option<(Outcome, bool)>,
    ) -> Vec<Fate> {
        self.entries
            .iter()
            .enumerate()
            .map(|(index, entry)| {
                let lines = plan.lines_of(index);
                if entry.status != Status::Resolved {
                    return Fate::Unresolved(entry.status);
                }
                let mut fate = Fate::Revoked;
                for number in lines {
                    match line(number) {
                        None => return Fate::NotSent,
                        Some((outcome, false)) => return Fate::Failed(outcome),
                        Some((Outcome::Accepted, true)) => fate = Fate::Accepted,
                        Some((_, true)) => {}
                    }
                }
                fate
            })
            .collect()
    }
}

/// Appends `records` (JSON objects, one a line: what became of each
/// finding, which hold no secret) to a bulk run's report at `path`, as the
/// run left it: never through a symbolic link, created with mode 0600 if it
/// is not there.
///
/// A resumed run's report keeps only its lines' results (see
/// [`Journal::reconcile_report`](crate::bulk::Journal::reconcile_report)):
/// each run appends the findings' records anew.
///
/// # Errors
///
/// If the file cannot be opened or written.
pub fn append_to_report(path: &Path, records: &[String]) -> io::Result<()> {
    let mut file = io::BufWriter::new(crate::files::open_append(path)?);
    for record in records {
        writeln!(file, "{record}")?;
    }
    file.into_inner()
        .map_err(io::IntoInnerError::into_error)?
        .sync_all()
}

/// Reads `inner`, hashing every byte read.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

impl<'h> Resolver<'h> {
    /// Resolves with `host`'s plugins.
    pub fn new(host: &'h Host) -> Self {
        Self {
            host,
            delete: false,
            recorded: Recorded::default(),
            lookups: true,
        }
    }

    /// Whether lookups are sent (by default they are): without, an entry
    /// that needs one is [`Status::NeedsOwner`] unless
    /// [`Resolver::recorded`] holds its answer (a dry run sends nothing).
    #[must_use]
    pub fn lookups(mut self, send: bool) -> Self {
        self.lookups = send;
        self
    }

    /// Requests an earlier run recorded (a journal's final records, see
    /// [`recorded_lines`](crate::bulk::recorded_lines)): a lookup whose
    /// answer one of them holds (an AWS key's owner, in a call to that key)
    /// is not run again, so that a resumed run resolves as the first did,
    /// even once the key is gone.
    #[must_use]
    pub fn recorded(mut self, requests: Vec<Request>) -> Self {
        self.recorded = Recorded::new(requests);
        self
    }

    /// Reads the report `input` (hashing it: [`Resolutions::report_sha256`])
    /// as `format`, or the format its content shows, and resolves it as
    /// [`Resolver::resolve`] does.
    pub async fn resolve_report<R: Read>(&self, input: R, format: Option<Format>) -> Resolutions {
        let mut hashing = Hashing {
            inner: input,
            hasher: Sha256::new(),
        };
        let mut resolved = self
            .resolve(FindingsReader::from_read(&mut hashing, format))
            .await;
        // A reader that stopped early (a final problem) has not hashed the
        // rest: the identity is the whole report's.
        let _ = io::copy(&mut hashing, &mut io::sink());
        resolved.report_sha256 = Some(hex(&hashing.hasher.finalize()));
        resolved
    }

    /// Asks for deletion as well as deactivation, where a provider has both
    /// (context `delete` = `true`).
    #[must_use]
    pub fn delete(mut self, delete: bool) -> Self {
        self.delete = delete;
        self
    }

    /// Reads `reader` to its end (grouping as it goes), resolves each
    /// distinct secret, and runs the lookups.
    pub async fn resolve<R: BufRead>(&self, mut reader: FindingsReader<R>) -> Resolutions {
        let mut grouper = Grouper::new();
        let mut problems = Vec::new();
        for item in reader.by_ref() {
            match item {
                Ok(finding) => {
                    grouper.add(finding);
                }
                Err(problem) => problems.push(problem),
            }
        }
        let pending: Vec<Pending> = grouper
            .into_groups()
            .into_iter()
            .map(|group| self.resolve_offline(group))
            .collect();
        let mut entries = self.run_lookups(pending).await;
        for entry in &mut entries {
            self.check_calls(entry);
        }
        Resolutions {
            format: reader.format(),
            entries,
            problems,
            report_sha256: None,
            delete: self.delete,
        }
    }

    /// One group asked of every plugin; its lookup, if any, not yet run.
    fn resolve_offline(&self, group: crate::findings::Group) -> Pending {
        let finding = group.finding;
        let mut context = Params::new();
        if let Some(id) = &finding.public_id {
            context.insert(CONTEXT_ACCESS_KEY_ID, id);
        }
        for name in [CONTEXT_ARN, CONTEXT_ACCOUNT] {
            if let Some(value) = finding.extras.get(name) {
                context.insert(name, value);
            }
        }
        if self.delete {
            context.insert(CONTEXT_DELETE, "true");
        }
        let hint = finding.hint.as_ref().map_or("", |h| h.kind.as_str());
        let secrets: Vec<&str> = [Some(&finding.secret), finding.paired_secret.as_ref()]
            .into_iter()
            .flatten()
            .map(|s| s.expose_secret())
            .filter(|s| s.len() >= SCRUB_MIN_LEN)
            .collect();
        let mut plugins: Vec<_> = self.host.registry().plugins().iter().collect();
        plugins.sort_by(|a, b| a.provider().cmp(b.provider()));
        let mut claim: Option<(String, Resolution)> = None;
        let mut also_claimed = Vec::new();
        let mut failed: Option<(String, String)> = None;
        for plugin in plugins {
            let provider = plugin.provider().to_owned();
            match plugin.resolve(finding.secret.expose_secret(), hint, &context) {
                Ok(Some(_)) if claim.is_some() => also_claimed.push(provider),
                Ok(Some(resolution)) => claim = Some((provider, resolution)),
                Ok(None) => {}
                Err(error) => {
                    failed.get_or_insert((provider, scrub(&error.to_string(), &secrets)));
                }
            }
        }
        let mut entry = Entry {
            fingerprint: finding.fingerprint,
            hint: finding.hint.clone(),
            locations: group.locations,
            provider: None,
            also_claimed,
            status: Status::Unrecognised,
            reason: String::new(),
            calls: Vec::new(),
            slots: 0,
            secret: finding.secret.clone(),
        };
        let Some((provider, resolution)) = claim else {
            entry.reason = match (failed, &finding.hint) {
                (Some((provider, error)), _) => {
                    entry.provider = Some(provider.clone());
                    entry.status = Status::Unresolvable;
                    format!("the {provider} plugin failed to resolve it: {error}")
                }
                (None, Some(hint)) => format!(
                    "no loaded plugin recognises it (the scanner calls it {})",
                    hint.kind
                ),
                (None, None) => "no loaded plugin recognises it".to_owned(),
            };
            return Pending {
                entry,
                lookup: None,
            };
        };
        entry.provider = Some(provider.clone());
        let plugin = self.host.registry().get(&provider);
        let leaks = repeats_secret(
            &resolution,
            finding.secret.expose_secret(),
            finding.paired_secret.as_ref().map(|s| s.expose_secret()),
            |operation| {
                plugin
                    .and_then(|p| p.secret_params(operation))
                    .map(|names| names.to_vec())
                    .unwrap_or_default()
            },
        );
        if leaks {
            entry.set(
                Status::Unresolvable,
                format!(
                    "the {provider} plugin's resolution repeats the secret (a bug in the \
                     plugin): refused"
                ),
            );
            return Pending {
                entry,
                lookup: None,
            };
        }
        entry.reason = resolution.reason.to_string();
        entry.status = match resolution.kind {
            ResolutionKind::Resolved => Status::Resolved,
            ResolutionKind::NeedsId => Status::NeedsId,
            ResolutionKind::Unresolvable => Status::Unresolvable,
        };
        if entry.status == Status::Resolved {
            entry.calls = resolution
                .calls
                .iter()
                .map(|call| Call {
                    request: Request::new(
                        provider.clone(),
                        call.operation.to_string(),
                        call.params.clone(),
                    ),
                    secret_param: call
                        .secret_param
                        .as_ref()
                        .into_option()
                        .map(|p| p.to_string()),
                })
                .collect();
            entry.slots = entry.calls.len();
            if entry.calls.is_empty() {
                entry.set(
                    Status::Unresolvable,
                    format!("the {provider} plugin resolved it to no call (a bug in the plugin)"),
                );
            }
        }
        let lookup = resolution
            .lookup
            .into_option()
            .filter(|_| entry.status == Status::Resolved)
            .map(|lookup| PendingLookup {
                request: Request::new(
                    provider,
                    lookup.call.operation.to_string(),
                    lookup.call.params,
                ),
                field: lookup.field.to_string(),
                fills: lookup.fills.to_string(),
                needs_secret: lookup.call.secret_param.is_some(),
            });
        Pending { entry, lookup }
    }
}

/// An entry, with the lookup its calls wait for.
struct Pending {
    entry: Entry,
    lookup: Option<PendingLookup>,
}

struct PendingLookup {
    request: Request,
    field: String,
    fills: String,
    needs_secret: bool,
}

impl Resolver<'_> {
    /// Runs every pending lookup (a few at a time), filling the calls it
    /// waits for, or marking the entry [`Status::NeedsOwner`].
    async fn run_lookups(&self, pending: Vec<Pending>) -> Vec<Entry> {
        futures_util::stream::iter(pending)
            .map(|Pending { mut entry, lookup }| async move {
                if let Some(lookup) = lookup {
                    self.run_lookup(&mut entry, lookup).await;
                }
                entry
            })
            .buffered(LOOKUP_CONCURRENCY)
            .collect()
            .await
    }

    async fn run_lookup(&self, entry: &mut Entry, lookup: PendingLookup) {
        let PendingLookup {
            request,
            field,
            fills,
            needs_secret,
        } = lookup;
        let provider = request.provider.clone();
        let what = format!(
            "its calls need the owner's {fills}, which the lookup {} (field {field}) finds",
            request.operation
        );
        let by_hand: Vec<String> = entry
            .calls
            .iter()
            .map(|call| {
                let mut command = format!("revoker {provider} {}", call.request.operation);
                for param in call.request.params.iter() {
                    let _ = write!(command, " --{} {}", param.name, param.value);
                }
                let _ = write!(command, " --{fills} NAME");
                command
            })
            .collect();
        let by_hand = by_hand.join(", then ");
        let todo = format!(
            "to revoke it, set {provider}'s credential so that the lookup can run, or give \
             the owner's {fills} yourself: {by_hand}"
        );
        let failed_todo = format!(
            "to revoke it, resolve it again once the lookup can succeed (its credential must \
             be allowed {}), or give the owner's {fills} yourself: {by_hand}",
            request.operation
        );
        if let Some(value) = self.recorded_fill(entry, &fills) {
            for call in &mut entry.calls {
                call.request.params.insert(&fills, &value);
            }
            entry.reason = format!(
                "{}; an earlier run recorded its {fills}: {value} (the lookup is not sent again)",
                entry.reason
            );
            return;
        }
        if !self.lookups {
            entry.set(
                Status::NeedsOwner,
                format!(
                    "{what}; a dry run sends nothing, the lookup included (a real run sends it \
                     first); {todo}"
                ),
            );
            return;
        }
        if needs_secret {
            // No lookup takes the secret itself; one that asks is not run.
            entry.set(
                Status::NeedsOwner,
                format!("{what}; the lookup asks for the secret itself, so it is not run: {todo}"),
            );
            return;
        }
        if let Err(error) = self.host.require_credential(&provider) {
            entry.set(
                Status::NeedsOwner,
                format!("{what}; the lookup was not sent: {error}; {todo}"),
            );
            return;
        }
        let result = match self.host.execute(&request).await {
            Ok(result) => result,
            Err(error) => {
                entry.set(
                    Status::NeedsOwner,
                    format!("{what}; the lookup was not sent: {error}; {todo}"),
                );
                return;
            }
        };
        let value = result
            .created
            .iter()
            .find(|(name, _)| *name == field)
            .and_then(|(_, value)| match value {
                FieldValue::Plain(value) if !value.trim().is_empty() => Some(value.clone()),
                // A secret field never fills a parameter of a plan.
                _ => None,
            });
        let secret = entry.secret.expose_secret();
        match value {
            Some(value)
                if result.outcome == Outcome::Created
                    && (secret.len() < SCRUB_MIN_LEN || !value.contains(secret)) =>
            {
                for call in &mut entry.calls {
                    call.request.params.insert(&fills, &value);
                }
                entry.reason = format!("{}; the lookup found its {fills}: {value}", entry.reason);
            }
            _ => {
                let status = result
                    .status
                    .map_or(String::new(), |status| format!(", HTTP {status}"));
                let detail = result.detail.as_deref().map_or(String::new(), |detail| {
                    format!(": {}", scrub(detail, &[secret]))
                });
                entry.set(
                    Status::NeedsOwner,
                    format!(
                        "{what}; the lookup gave {}{status}{detail}, without the {field}; \
                         {failed_todo}",
                        result.outcome
                    ),
                );
            }
        }
    }

    /// The value of parameter `fills` in a recorded request of one of
    /// `entry`'s calls: the same provider and operation, holding every
    /// parameter the call has.
    fn recorded_fill(&self, entry: &Entry, fills: &str) -> Option<String> {
        entry.calls.iter().find_map(|call| {
            self.recorded.holding(&call.request).find_map(|recorded| {
                let value = recorded.params.get(fills)?;
                (!value.trim().is_empty() && !value.starts_with("<redacted"))
                    .then(|| value.to_owned())
            })
        })
    }

    /// Plans every call of a resolved entry (sending nothing), so that a
    /// call its provider would refuse is reported here, not in the bulk run.
    fn check_calls(&self, entry: &mut Entry) {
        if entry.status != Status::Resolved {
            return;
        }
        let plugin = entry
            .provider
            .as_deref()
            .and_then(|provider| self.host.registry().get(provider));
        for call in &entry.calls {
            let known = plugin.is_some_and(|p| p.operation(&call.request.operation).is_some());
            if !known {
                let reason = format!(
                    "the plugin resolved it to operation {:?}, which its manifest does not list \
                     (a bug in the plugin)",
                    call.request.operation
                );
                entry.set(Status::Unresolvable, reason);
                return;
            }
            if let Some(name) = &call.secret_param {
                // The secret may go only into a parameter its operation
                // declares secret: bulk runs redact those from every record.
                let declared = plugin
                    .and_then(|p| p.secret_params(&call.request.operation))
                    .is_some_and(|names| names.iter().any(|n| n == name));
                if !declared {
                    let reason = format!(
                        "the plugin puts the secret into parameter {name:?} of {}, which its \
                         manifest does not declare secret (a bug in the plugin): refused",
                        call.request.operation
                    );
                    entry.set(Status::Unresolvable, reason);
                    return;
                }
                // The rest is checked when the bulk run plans it with the secret.
                continue;
            }
            if let Err(error) = self.host.plan(&call.request) {
                let reason = format!("its call {} does not plan: {error}", call.request.operation);
                entry.set(Status::Unresolvable, reason);
                return;
            }
        }
    }
}

/// Whether `resolution` repeats a secret: the paired secret anywhere, a
/// parameter its operation declares secret set at all, or the secret in its
/// reason or a parameter, unless the plugin gives the whole secret as a
/// parameter of its own (an AWS access key id found alone is its key's
/// public id: the plugin says so by passing it as `access-key-id`).
fn repeats_secret(
    resolution: &Resolution,
    secret: &str,
    paired: Option<&str>,
    secret_params: impl Fn(&str) -> Vec<String>,
) -> bool {
    let calls: Vec<_> = resolution
        .calls
        .iter()
        .chain(resolution.lookup.as_ref().into_option().map(|l| &l.call))
        .collect();
    let declared_secret = calls.iter().any(|call| {
        let names = secret_params(&call.operation);
        call.params
            .iter()
            .any(|p| names.iter().any(|n| *n == p.name.as_str()))
    });
    let secret = secret.trim();
    let public = calls
        .iter()
        .any(|call| call.params.iter().any(|p| p.value.trim() == secret));
    let mut searched: Vec<&str> = paired.into_iter().collect();
    if !public {
        searched.push(secret);
    }
    searched.retain(|s| s.len() >= SCRUB_MIN_LEN);
    let holds = |text: &str| searched.iter().any(|s| text.contains(s));
    declared_secret
        || holds(&resolution.reason)
        || calls
            .iter()
            .any(|call| call.params.iter().any(|p| holds(&p.value)))
}

/// `text` with every secret in `secrets` replaced by `<redacted>`.
fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut text = text.to_owned();
    for secret in secrets.iter().filter(|s| s.len() >= SCRUB_MIN_LEN) {
        text = text.replace(secret, "<redacted>");
    }
    text
}

#[cfg(test)]
mod tests {
    use revoker_plugin_api::ResolvedCall;

    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const ID: &str = "AKIAIOSFODNN7EXAMPLE";

    fn key(id: &str) -> Resolution {
        Resolution::resolved(
            &format!("the key {id}"),
            [ResolvedCall::new(
                "deactivate-access-key",
                Params::from_pairs([("access-key-id", id)]),
            )],
        )
    }

    fn none(_: &str) -> Vec<String> {
        Vec::new()
    }

    #[test]
    fn a_public_id_found_alone_may_be_a_parameter() {
        assert!(!repeats_secret(&key(ID), ID, None, none));
        assert!(!repeats_secret(
            &key(ID),
            &format!("{ID}:{SECRET}"),
            Some(SECRET),
            none
        ));
    }

    #[test]
    fn a_resolution_that_repeats_a_secret_is_caught() {
        // The secret half anywhere, the whole secret in a reason or inside a
        // parameter, or a parameter the operation declares secret.
        let pair = format!("{ID}:{SECRET}");
        assert!(repeats_secret(&key(SECRET), &pair, Some(SECRET), none));
        let mut reason = key(ID);
        reason.reason = format!("the key {pair}").as_str().into();
        assert!(repeats_secret(&reason, &pair, Some(SECRET), none));
        let inside = key(&format!("x{SECRET}x"));
        assert!(repeats_secret(&inside, SECRET, None, none));
        let token = Resolution::resolved(
            "a token",
            [ResolvedCall::new(
                "revoke-credential",
                Params::from_pairs([("credential", "ghp_made-up")]),
            )],
        );
        let declared = |_: &str| vec!["credential".to_owned()];
        assert!(repeats_secret(&token, "ghp_made-up", None, declared));
    }

    #[test]
    fn a_plan_line_is_an_ordinary_bulk_line() {
        let call = Call {
            request: Request::new(
                "aws-iam",
                "deactivate-access-key",
                Params::from_pairs([("access-key-id", ID), ("user-name", "a\"b")]),
            ),
            secret_param: None,
        };
        assert_eq!(
            call.line(),
            format!(
                r#"{{"provider":"aws-iam","operation":"deactivate-access-key","params":{{"access-key-id":"{ID}","user-name":"a\"b"}}}}"#
            )
        );
    }

    #[tokio::test]
    async fn without_plugins_every_secret_is_unrecognised_once_with_every_location() {
        let empty = tempfile::tempdir().unwrap();
        let host = Host::builder()
            .plugin_dir(empty.path())
            .require_plugins(false)
            .build()
            .unwrap();
        let report = "made-up-secret-one\nmade-up-secret-two\n# a comment\nmade-up-secret-one\n";
        let reader = FindingsReader::new(report.as_bytes(), None);
        let resolved = Resolver::new(&host).resolve(reader).await;
        assert_eq!(resolved.format, Some(Format::Plain));
        assert_eq!(resolved.entries.len(), 2);
        let first = &resolved.entries[0];
        assert_eq!(first.status, Status::Unrecognised);
        assert_eq!(first.provider, None);
        let lines: Vec<_> = first.locations.iter().map(|l| l.at).collect();
        use crate::findings::Position;
        assert_eq!(lines, [Position::Line(1), Position::Line(4)]);
        assert!(resolved.problems.is_empty());
        assert_eq!(resolved.plan_lines().count(), 0);
        let debug = format!("{resolved:?}");
        assert!(!debug.contains("made-up-secret"), "{debug}");
        // The secrets file is made private even when it has nothing to hold.
        let file = empty.path().join("secrets.jsonl");
        assert_eq!(resolved.write_secret_plan(&file).unwrap(), 0);
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    fn entry(status: Status, calls: Vec<Call>, slots: usize, secret: &str) -> Entry {
        Entry {
            fingerprint: Fingerprint::of(secret.as_bytes()),
            hint: None,
            locations: vec![Location::at(crate::findings::Position::Line(1))],
            provider: Some("p".into()),
            also_claimed: Vec::new(),
            status,
            reason: String::new(),
            calls,
            slots,
            secret: SecretString::from(secret.to_owned()),
        }
    }

    fn call(operation: &str, id: &str, secret_param: Option<&str>) -> Call {
        Call {
            request: Request::new("p", operation, Params::from_pairs([("id", id)])),
            secret_param: secret_param.map(str::to_owned),
        }
    }

    /// A report's resolutions: a key whose lookup failed (its two calls
    /// gone), a token revoked by its value, an unrecognised secret, a key
    /// deactivated then deleted (its id `id`).
    fn resolutions(report: &str, delete: bool, id: &str) -> Resolutions {
        Resolutions {
            format: Some(Format::Plain),
            entries: vec![
                entry(Status::NeedsOwner, Vec::new(), 2, "made-up-secret-aaaa"),
                entry(
                    Status::Resolved,
                    vec![call("revoke", "t", Some("credential"))],
                    1,
                    "made-up-secret-bbbb",
                ),
                entry(Status::Unrecognised, Vec::new(), 0, "made-up-secret-cccc"),
                entry(
                    Status::Resolved,
                    vec![call("deactivate", id, None), call("delete", id, None)],
                    2,
                    "made-up-secret-dddd",
                ),
            ],
            problems: Vec::new(),
            report_sha256: Some(report.to_owned()),
            delete,
        }
    }

    #[test]
    fn a_bulk_plan_keeps_each_findings_lines_in_place_and_its_secrets_apart() {
        let resolved = resolutions("r1", false, "k1");
        let plan = resolved.bulk_plan();
        let line = |op: &str, id: &str| {
            format!(r#"{{"provider":"p","operation":"{op}","params":{{"id":"{id}"}}}}"#)
        };
        // The failed lookup's two lines are blank: the others stay where a
        // resumed run finds them.
        assert_eq!(
            plan.text(),
            format!(
                "\n\n{}\n{}\n{}\n",
                line("revoke", "t"),
                line("deactivate", "k1"),
                line("delete", "k1")
            )
        );
        assert!(!plan.text().contains("made-up"));
        let entries: Vec<_> = (1..=6).map(|line| plan.entry_of(line)).collect();
        assert_eq!(entries, [Some(0), Some(0), Some(1), Some(3), Some(3), None]);
        assert_eq!(plan.lines_of(3), 4..6);
        assert!(plan.lines_of(2).is_empty());
        let (name, secret) = plan.secret_of(3).unwrap();
        assert_eq!(
            (name, secret.expose_secret()),
            ("credential", "made-up-secret-bbbb")
        );
        assert!(plan.secret_of(4).is_none());
        assert!(!format!("{plan:?}").contains("made-up"));

        // It binds to the report and the choices, not to what lookups found.
        let sha = |r: &Resolutions| r.bulk_plan().sha256().to_owned();
        assert_eq!(sha(&resolved), sha(&resolutions("r1", false, "k2")));
        assert_ne!(sha(&resolved), sha(&resolutions("r2", false, "k1")));
        assert_ne!(sha(&resolved), sha(&resolutions("r1", true, "k1")));
    }

    #[test]
    fn a_findings_fate_is_its_lines_outcomes() {
        let resolved = resolutions("r1", false, "k1");
        let plan = resolved.bulk_plan();
        let fates = resolved.fates(&plan, |line| match line {
            3 => Some((Outcome::Accepted, true)),
            4 => Some((Outcome::Revoked, true)),
            5 => Some((Outcome::Forbidden, false)),
            _ => None,
        });
        assert_eq!(
            fates,
            [
                Fate::Unresolved(Status::NeedsOwner),
                Fate::Accepted,
                Fate::Unresolved(Status::Unrecognised),
                Fate::Failed(Outcome::Forbidden),
            ]
        );
        assert!(fates[1].is_done() && !fates[3].is_done());
        // A line without a result (the run stopped): not sent; all done: revoked.
        let stopped = resolved.fates(&plan, |line| {
            (line == 4).then_some((Outcome::Revoked, true))
        });
        assert_eq!(stopped[3], Fate::NotSent);
        let done = resolved.fates(&plan, |_| Some((Outcome::AlreadyRevoked, true)));
        assert_eq!(done[3], Fate::Revoked);
    }

    #[test]
    fn scrub_redacts_long_secrets_only() {
        assert_eq!(scrub(&format!("x {SECRET} y"), &[SECRET]), "x <redacted> y");
        assert_eq!(scrub("a b", &["a"]), "a b");
    }
}

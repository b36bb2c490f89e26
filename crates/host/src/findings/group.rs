//! One secret, one entry: findings of the same secret merged, with every
//! location.

use std::collections::HashMap;
use std::fmt;

use secrecy::ExposeSecret;
use sha2::{Digest as _, Sha256};

use super::{Finding, Fingerprint, Location};

/// One distinct secret and every place it was found.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Group {
    /// The first finding of the secret, with what later ones added (see
    /// [`Grouper::add`]). Its `location` is the first location.
    pub finding: Finding,
    /// Every location, in the order found (the first is `finding.location`).
    pub locations: Vec<Location>,
}

impl Group {
    /// The secret's fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        self.finding.fingerprint
    }
}

/// Merges findings of the same secret (the same bytes), keeping first-seen
/// order.
///
/// Its memory grows with the number of distinct secrets and of locations:
/// every location is kept, which is inherent in listing them. Secrets are
/// compared by their whole SHA-256, so two secrets that share a
/// [`Fingerprint`] are still two entries.
#[derive(Default)]
pub struct Grouper {
    index: HashMap<[u8; 32], usize>,
    groups: Vec<Group>,
}

impl fmt::Debug for Grouper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grouper")
            .field("groups", &self.groups)
            .finish_non_exhaustive()
    }
}

impl Grouper {
    /// No findings yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a finding: a new entry for a new secret, or one more location for
    /// a secret seen before. A later finding also fills in what the first
    /// lacked: a type hint, a public id, a paired secret, extras (by name, the
    /// first value kept), an alert state; and the verdict becomes the
    /// strongest any scanner gave ([`Verdict`](super::Verdict)'s order:
    /// `live` above `inactive` above `unknown` above `unverified`).
    ///
    /// Returns whether the secret is new.
    pub fn add(&mut self, finding: Finding) -> bool {
        let key: [u8; 32] = Sha256::digest(finding.secret.expose_secret().as_bytes()).into();
        if let Some(&at) = self.index.get(&key) {
            let group = &mut self.groups[at];
            let first = &mut group.finding;
            group.locations.push(finding.location);
            if first.hint.is_none() {
                first.hint = finding.hint;
            }
            if first.public_id.is_none() {
                first.public_id = finding.public_id;
            }
            if first.paired_secret.is_none() {
                first.paired_secret = finding.paired_secret;
            }
            for (name, value) in finding.extras {
                first.extras.entry(name).or_insert(value);
            }
            if first.alert_state.is_none() {
                first.alert_state = finding.alert_state;
            }
            first.verdict = first.verdict.max(finding.verdict);
            return false;
        }
        self.index.insert(key, self.groups.len());
        self.groups.push(Group {
            locations: vec![finding.location.clone()],
            finding,
        });
        true
    }

    /// How many distinct secrets.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The entries, in the order their secrets were first found.
    pub fn into_groups(self) -> Vec<Group> {
        self.groups
    }
}

/// Groups `findings` (see [`Grouper`]).
pub fn group(findings: impl IntoIterator<Item = Finding>) -> Vec<Group> {
    let mut grouper = Grouper::new();
    for finding in findings {
        grouper.add(finding);
    }
    grouper.into_groups()
}

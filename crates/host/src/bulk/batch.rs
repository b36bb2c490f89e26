//! Grouping the waiting lines of a batched operation (an endpoint that takes a
//! list, as GitHub's token revocation takes 1,000) into one request.
//!
//! The first line of an operation to arrive opens a batch and leads it: it
//! waits until the batch is full, or no line has joined for [`LINGER`], or
//! [`MAX_HOLD`] has passed since it opened, whichever comes first, then takes
//! the batch and sends it for all its lines. Lines arriving meanwhile join it;
//! once it is full, the next line opens another. So a slow input holds a line
//! back no more than [`LINGER`] for the next line to come (and never more
//! than [`MAX_HOLD`]), and a fast input fills each batch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

use crate::error::Error;
use crate::model::RequestResult;
use crate::plan::PlannedRequest;
use crate::send::StopHandle;

/// The longest a batch waits for its next line.
pub const LINGER: Duration = Duration::from_millis(50);

/// The longest a batch waits for lines at all.
pub const MAX_HOLD: Duration = Duration::from_secs(1);

/// What a line of a batch is told when its batch is done with.
#[derive(Debug)]
pub(super) enum Reply {
    /// Its result.
    Done(RequestResult),
    /// The run cannot go on, because of this (told to one line of the batch).
    Aborted(Error),
    /// The batch was never sent (the run stopped): the line stays unfinished.
    Dropped,
}

/// One line of a batch: its request, planned alone, and where its reply goes.
#[derive(Debug)]
pub(super) struct Member {
    pub line: u64,
    pub planned: PlannedRequest,
    pub reply: oneshot::Sender<Reply>,
}

/// How a line joined a batch.
#[derive(Debug)]
pub(super) enum Joined {
    /// It opened the batch: it takes and sends it, once `full` is notified or
    /// [`LINGER`] has passed.
    Leader { id: u64, full: Arc<Notify> },
    /// It joined one that another line leads.
    Member,
}

/// The batches being filled, one open per operation at most.
#[derive(Debug, Default)]
pub(super) struct Batches(Mutex<State>);

#[derive(Debug, Default)]
struct State {
    next_id: u64,
    /// The batch being filled, by provider and operation.
    open: HashMap<(String, String), Open>,
    /// Batches filled before their leader took them, by id.
    full: HashMap<u64, Vec<Member>>,
}

#[derive(Debug)]
struct Open {
    id: u64,
    members: Vec<Member>,
    full: Arc<Notify>,
    /// When its last line joined.
    joined: Instant,
}

impl Batches {
    /// Adds `member` to the open batch of its operation, opening one if there
    /// is none; a batch that reaches `max` lines is closed and its leader told.
    pub(super) fn join(&self, max: usize, member: Member) -> Joined {
        let key = (
            member.planned.request.provider.clone(),
            member.planned.request.operation.clone(),
        );
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let state = &mut *state;
        let joined = match state.open.get_mut(&key) {
            Some(open) => {
                open.members.push(member);
                open.joined = Instant::now();
                Joined::Member
            }
            None => {
                state.next_id += 1;
                let full = Arc::new(Notify::new());
                let id = state.next_id;
                state.open.insert(
                    key.clone(),
                    Open {
                        id,
                        members: vec![member],
                        full: Arc::clone(&full),
                        joined: Instant::now(),
                    },
                );
                Joined::Leader { id, full }
            }
        };
        if state.open.get(&key).is_some_and(|o| o.members.len() >= max) {
            let open = state.open.remove(&key).expect("just seen");
            // Stored if the leader is not waiting yet: it returns at once.
            open.full.notify_one();
            state.full.insert(open.id, open.members);
        }
        joined
    }

    /// What the leader of batch `id` (of `provider`'s `operation`) sends:
    /// once the batch is full, no line has joined it for [`LINGER`],
    /// [`MAX_HOLD`] has passed, or the run stops.
    pub(super) async fn gather(
        &self,
        provider: &str,
        operation: &str,
        id: u64,
        full: &Notify,
        stop: &StopHandle,
    ) -> Vec<Member> {
        let opened = Instant::now();
        // `None`: it is full (closed) already.
        while let Some(joined) = self.last_joined(provider, operation, id) {
            let deadline = (joined + LINGER).min(opened + MAX_HOLD);
            if Instant::now() >= deadline {
                break;
            }
            tokio::select! {
                () = full.notified() => break,
                () = tokio::time::sleep_until(deadline) => {}
                () = stop.stopped() => break,
            }
        }
        self.take(provider, operation, id)
    }

    /// When the last line joined the open batch `id`; `None` if it is closed.
    fn last_joined(&self, provider: &str, operation: &str, id: u64) -> Option<Instant> {
        let state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (provider.to_owned(), operation.to_owned());
        state
            .open
            .get(&key)
            .filter(|open| open.id == id)
            .map(|open| open.joined)
    }

    /// Takes the batch `id` that a line of `provider`'s `operation` leads,
    /// closing it if it is still open.
    fn take(&self, provider: &str, operation: &str, id: u64) -> Vec<Member> {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(members) = state.full.remove(&id) {
            return members;
        }
        let key = (provider.to_owned(), operation.to_owned());
        match state.open.get(&key) {
            Some(open) if open.id == id => state.open.remove(&key).expect("just seen").members,
            // Only its leader takes a batch, once.
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use revoker_plugin_api::{HttpRequest, Method, Params};

    use super::*;
    use crate::model::Request;

    fn member(line: u64, operation: &str) -> (Member, oneshot::Receiver<Reply>) {
        let (reply, replied) = oneshot::channel();
        let planned = PlannedRequest {
            request: Request::new("github", operation, Params::new()),
            idempotent: true,
            http: HttpRequest::new(Method::Post, "/credentials/revoke"),
            url: "https://api.github.example/credentials/revoke"
                .parse()
                .unwrap(),
            headers: Vec::new(),
            shown_auth: None,
            secret: None,
            batch: None,
        };
        (
            Member {
                line,
                planned,
                reply,
            },
            replied,
        )
    }

    fn lines(members: &[Member]) -> Vec<u64> {
        members.iter().map(|m| m.line).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn a_steady_input_fills_the_batch_until_the_longest_hold() {
        let batches = Batches::default();
        let stop = StopHandle::default();
        let Joined::Leader { id, full } = batches.join(1000, member(0, "revoke").0) else {
            panic!("the first line leads");
        };
        let started = tokio::time::Instant::now();
        let gathering = async {
            let taken = batches.gather("github", "revoke", id, &full, &stop).await;
            (taken, started.elapsed())
        };
        // A line every 40 ms, each within the linger of the one before.
        let steady = async {
            for line in 1..40 {
                tokio::time::sleep(LINGER * 4 / 5).await;
                batches.join(1000, member(line, "revoke").0);
            }
        };
        let ((taken, waited), ()) = tokio::join!(gathering, steady);
        assert_eq!(waited, MAX_HOLD, "held no longer than the longest hold");
        assert_eq!(taken.len(), 26, "the lines that came within it");
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_input_holds_no_line_back_longer_than_the_linger() {
        let batches = Batches::default();
        let stop = StopHandle::default();
        let Joined::Leader { id, full } = batches.join(1000, member(1, "revoke").0) else {
            panic!("the first line leads");
        };
        let started = tokio::time::Instant::now();
        let gathering = async {
            let taken = batches.gather("github", "revoke", id, &full, &stop).await;
            (taken, started.elapsed())
        };
        let late = async {
            tokio::time::sleep(LINGER / 5).await;
            assert!(matches!(
                batches.join(1000, member(2, "revoke").0),
                Joined::Member
            ));
            // Longer than the linger after the last: a batch of its own.
            tokio::time::sleep(LINGER * 6 / 5).await;
            batches.join(1000, member(3, "revoke").0)
        };
        let ((taken, waited), third) = tokio::join!(gathering, late);
        assert_eq!(lines(&taken), [1, 2]);
        assert_eq!(
            waited,
            LINGER / 5 + LINGER,
            "held back no longer than the linger after the last line came"
        );
        assert!(matches!(third, Joined::Leader { .. }), "{third:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_batch_goes_at_once_and_the_next_line_opens_another() {
        let batches = Batches::default();
        let stop = StopHandle::default();
        let Joined::Leader { id, full } = batches.join(3, member(1, "revoke").0) else {
            panic!("the first line leads");
        };
        // Another operation's lines are a batch of their own.
        assert!(matches!(
            batches.join(3, member(2, "other").0),
            Joined::Leader { .. }
        ));
        for line in [3, 4] {
            assert!(matches!(
                batches.join(3, member(line, "revoke").0),
                Joined::Member
            ));
        }
        assert!(matches!(
            batches.join(3, member(5, "revoke").0),
            Joined::Leader { .. }
        ));
        let started = tokio::time::Instant::now();
        let taken = batches.gather("github", "revoke", id, &full, &stop).await;
        assert_eq!(lines(&taken), [1, 3, 4]);
        assert_eq!(
            started.elapsed(),
            std::time::Duration::ZERO,
            "full: no wait"
        );
        // Taken once only.
        assert!(batches.take("github", "revoke", id).is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_ends_the_wait() {
        let batches = Batches::default();
        let stop = StopHandle::default();
        let Joined::Leader { id, full } = batches.join(10, member(1, "revoke").0) else {
            panic!("the first line leads");
        };
        stop.stop();
        let started = tokio::time::Instant::now();
        let taken = batches.gather("github", "revoke", id, &full, &stop).await;
        assert_eq!(lines(&taken), [1]);
        assert_eq!(started.elapsed(), std::time::Duration::ZERO);
    }
}

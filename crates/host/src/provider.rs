//! One provider as the host serves it: its plugin with the settings that apply
//! (base URL, credential, concurrency) and its flow controller (the rate it is
//! sent at, found from its answers, within the configured ceiling).

use std::sync::{Arc, MutexGuard, PoisonError};
use std::time::Duration;

use reqwest::Url;
use reqwest::header::HeaderName;
use tokio::sync::{Mutex, Notify, Semaphore, SemaphorePermit};
use tokio::time::Instant;

use crate::auth::{self, Authenticator};
use crate::config::Rate;
use crate::flow::{FlowConfig, FlowController, Signal};
use crate::plugin::Plugin;

/// How a provider's requests are paced: the ceiling, the provider's
/// documented rate, and how long a `Retry-After` is obeyed at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pace {
    /// The hard ceiling (`--rate`, the config's `rate`), never exceeded.
    pub ceiling: Option<Rate>,
    /// The rate the plugin documents for its provider: where the controller
    /// starts, not a ceiling.
    pub documented: Option<Rate>,
    /// The longest the whole provider is held for one `Retry-After` or quota
    /// reset.
    pub max_hold: Duration,
}

/// What a provider's flow controller says now, for progress bars and
/// summaries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlowStatus {
    /// The rate requests are sent at (requests a second), `None` while the
    /// provider has given no reason to limit it.
    pub rate: Option<f64>,
    /// The hard ceiling configured, in requests a second.
    pub ceiling: Option<f64>,
    /// How many answers were throttled (429, 503 with `Retry-After`, a quota
    /// exhausted).
    pub throttled: u64,
    /// How long the whole provider is still held by a `Retry-After` or a
    /// quota reset.
    pub held_for: Option<Duration>,
    /// Requests sent and not yet answered.
    pub in_flight: u64,
    /// The rate requests were sent at lately (requests a second), measured.
    pub sent_rate: Option<f64>,
}

/// A provider ready to serve requests.
#[derive(Debug)]
pub struct ProviderRuntime {
    pub(crate) plugin: Arc<Plugin>,
    pub(crate) base_url: Url,
    pub(crate) credential_env: String,
    /// Where the credential was looked for, in words, for the error when it
    /// was not found.
    pub(crate) credential_expected: String,
    /// How its requests are authenticated, credential included; `None` while
    /// the credential (or a required part of it) is missing.
    pub(crate) authenticator: Option<Authenticator>,
    /// Headers its auth sets itself, which its plugin may not.
    pub(crate) owned_headers: Arc<[HeaderName]>,
    /// Its auth header as it may be shown (no secret in it).
    pub(crate) shown_auth: Option<Arc<(HeaderName, String)>>,
    /// Parameters filled from the credential's public parts when a request
    /// does not give them: `(parameter, value)`.
    pub(crate) part_params: Vec<(String, String)>,
    /// The variable each part of its credential is read from.
    pub(crate) credential_vars: Vec<String>,
    pub(crate) rate: Option<Rate>,
    pacer: Pacer,
}

/// When a provider's requests may go: its flow controller, and its own
/// concurrency limit.
#[derive(Debug)]
pub(crate) struct Pacer {
    ceiling: Option<Rate>,
    flow: std::sync::Mutex<FlowController>,
    rate_turn: Mutex<()>,
    /// Wakes the request waiting on the rate when an answer frees a place in
    /// the controller's slow-start window.
    answers: Notify,
    concurrency: Option<Semaphore>,
}

/// Requests a second.
fn per_second(rate: Rate) -> f64 {
    f64::from(rate.requests) / rate.per.as_secs_f64()
}

impl ProviderRuntime {
    pub(crate) fn new(
        plugin: Arc<Plugin>,
        base_url: Url,
        credential_env: String,
        authenticator: Option<Authenticator>,
        pace: Pace,
        concurrency: Option<usize>,
    ) -> Self {
        let owned_headers = auth::owned_headers(plugin.auth()).into();
        let shown_auth = auth::shown(plugin.auth()).map(Arc::new);
        Self {
            plugin,
            base_url,
            credential_expected: String::new(),
            credential_env,
            authenticator,
            owned_headers,
            shown_auth,
            part_params: Vec::new(),
            credential_vars: Vec::new(),
            rate: pace.ceiling,
            pacer: Pacer::new(pace, concurrency),
        }
    }

    /// When its requests may go.
    pub(crate) fn pacer(&self) -> &Pacer {
        &self.pacer
    }

    /// The plugin serving this provider.
    pub fn plugin(&self) -> &Arc<Plugin> {
        &self.plugin
    }

    /// Where its requests go.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The environment variable its credential is read from.
    pub fn credential_env(&self) -> &str {
        &self.credential_env
    }

    /// The environment variables its credential's parts are read from, in
    /// the order of its parts: none for auth kind `none`.
    pub fn credential_vars(&self) -> &[String] {
        &self.credential_vars
    }

    /// The credential, or the error naming where it was expected from.
    pub(crate) fn require_credential(&self) -> crate::error::Result<&Authenticator> {
        self.authenticator
            .as_ref()
            .ok_or_else(|| crate::error::Error::MissingCredential {
                provider: self.plugin.provider().to_owned(),
                expected: self.credential_expected.clone(),
                lines: None,
            })
    }

    /// Whether a credential is set.
    pub fn has_credential(&self) -> bool {
        self.authenticator.is_some()
    }

    /// Whether requests to this provider may have to wait: always, as every
    /// provider's requests are paced by what its answers say.
    pub fn is_limited(&self) -> bool {
        true
    }

    /// The hard rate ceiling configured, if any.
    pub fn rate(&self) -> Option<Rate> {
        self.rate
    }

    /// What the provider's flow controller says now.
    pub fn flow_status(&self) -> FlowStatus {
        self.pacer.status()
    }
}

impl Pacer {
    pub(crate) fn new(pace: Pace, concurrency: Option<usize>) -> Self {
        let config = FlowConfig {
            ceiling: pace.ceiling.map(per_second),
            documented: pace.documented.map(per_second),
            max_hold: pace.max_hold,
            ..FlowConfig::default()
        };
        Self {
            ceiling: pace.ceiling,
            flow: std::sync::Mutex::new(FlowController::new(config, Instant::now())),
            rate_turn: Mutex::new(()),
            answers: Notify::new(),
            concurrency: concurrency.map(Semaphore::new),
        }
    }

    /// What the flow controller says now.
    pub(crate) fn status(&self) -> FlowStatus {
        let now = Instant::now();
        let flow = self.flow();
        FlowStatus {
            rate: flow.current_rate(),
            ceiling: self.ceiling.map(per_second),
            throttled: flow.throttled(),
            held_for: flow
                .held_until()
                .filter(|until| *until > now)
                .map(|until| until - now),
            in_flight: flow.in_flight(),
            sent_rate: flow.measured_rate(now),
        }
    }

    /// Since when the provider has made no progress, if its latest answer was
    /// throttled.
    pub(crate) fn stalled_since(&self) -> Option<Instant> {
        self.flow().stalled_since()
    }

    fn flow(&self) -> MutexGuard<'_, FlowController> {
        // The controller's state stays consistent whatever panicked.
        self.flow.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until a request to this provider may go out: a slot of the
    /// provider's own concurrency, a slot of `in_flight` (the caller's overall
    /// limit), and the flow controller's go. The returned permits hold the
    /// slots while the request is in flight, and take its answer to the
    /// controller.
    ///
    /// A request waiting for its provider's rate holds no `in_flight` slot, so it
    /// never holds up other providers; and the rate token is taken only once the
    /// slot is held, so requests cannot pile up behind the slot and then leave
    /// together faster than the rate. One request per provider at a time waits on
    /// the rate (`rate_turn`), so the others sleep rather than spin.
    ///
    /// # Errors
    ///
    /// [`Stalled`] if the provider has been throttled with no progress for
    /// `patience`, counted from no earlier than `since`: the request is given
    /// up without being sent.
    pub(crate) async fn ready<'a>(
        &'a self,
        in_flight: Option<&'a Semaphore>,
        since: Instant,
        patience: Duration,
    ) -> Result<Permits<'a>, Stalled> {
        let provider = acquire(self.concurrency.as_ref()).await;
        let _turn = self.rate_turn.lock().await;
        loop {
            let in_flight = acquire(in_flight).await;
            let now = Instant::now();
            let (go, stalled_since) = {
                let mut flow = self.flow();
                (flow.try_acquire(now), flow.stalled_since())
            };
            let give_up_at = stalled_since.map(|stalled| stalled.max(since) + patience);
            match go {
                Ok(()) => {
                    return Ok(Permits {
                        _provider: provider,
                        _in_flight: in_flight,
                        ticket: Some(self),
                    });
                }
                Err(_) if give_up_at.is_some_and(|at| at <= now) => {
                    let stalled = stalled_since.unwrap_or(now);
                    return Err(Stalled(now.saturating_duration_since(stalled.max(since))));
                }
                Err(not_until) => {
                    drop(in_flight);
                    let wake = give_up_at.map_or(not_until, |at| at.min(not_until));
                    // An answer may be what it waits for (a place in the window); a
                    // notification sent since the last try is kept, so none is lost.
                    tokio::select! {
                        () = tokio::time::sleep_until(wake) => {}
                        () = self.answers.notified() => {}
                    }
                }
            }
        }
    }
}

/// A provider throttled with no progress for this long: the request waiting
/// for it is given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stalled(pub Duration);

async fn acquire(semaphore: Option<&Semaphore>) -> Option<SemaphorePermit<'_>> {
    match semaphore {
        Some(semaphore) => Some(semaphore.acquire().await.expect("never closed")),
        None => None,
    }
}

/// The slots a request holds while it is in flight, and its place in the
/// provider's flow controller: [`Permits::answered`] takes the answer to it;
/// dropped unanswered (no response, or the request was dropped), the request
/// is counted out of flight.
#[derive(Debug)]
pub(crate) struct Permits<'a> {
    _provider: Option<SemaphorePermit<'a>>,
    _in_flight: Option<SemaphorePermit<'a>>,
    ticket: Option<&'a Pacer>,
}

impl Permits<'_> {
    /// Tells the provider's flow controller what the answer said.
    pub(crate) fn answered(mut self, signal: &Signal) {
        if let Some(provider) = self.ticket.take() {
            provider
                .flow()
                .on_response(Instant::now(), signal, fastrand::f64());
            provider.answers.notify_one();
        }
    }
}

impl Drop for Permits<'_> {
    fn drop(&mut self) {
        if let Some(provider) = self.ticket.take() {
            provider.flow().on_abandoned();
            provider.answers.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::Quota;

    fn pacer(ceiling: Option<Rate>) -> Pacer {
        Pacer::new(
            Pace {
                ceiling,
                documented: None,
                max_hold: Duration::from_secs(120),
            },
            None,
        )
    }

    const PATIENCE: Duration = Duration::from_secs(300);

    fn throttled(retry_after: Option<u64>) -> Signal {
        Signal {
            throttled: true,
            retry_after: retry_after.map(Duration::from_secs),
            quota: None,
        }
    }

    async fn go(pacer: &Pacer) -> Permits<'_> {
        pacer
            .ready(None, Instant::now(), PATIENCE)
            .await
            .expect("not stalled")
    }

    #[tokio::test(start_paused = true)]
    async fn unlimited_until_the_provider_says_otherwise() {
        let pacer = pacer(None);
        let t0 = Instant::now();
        for _ in 0..100 {
            go(&pacer).await.answered(&Signal::default());
        }
        assert_eq!(Instant::now(), t0, "no wait at all");
        assert_eq!(pacer.status().rate, None);
        assert_eq!(pacer.status().throttled, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_ceiling_spaces_requests_evenly() {
        let pacer = pacer(Some("10/s".parse().unwrap()));
        let t0 = Instant::now();
        for _ in 0..21 {
            go(&pacer).await.answered(&Signal::default());
        }
        // A burst of at most 1 token, then one every 100 ms.
        let waited = Instant::now() - t0;
        assert!(
            (Duration::from_millis(1900)..=Duration::from_millis(2001)).contains(&waited),
            "{waited:?}"
        );
        assert_eq!(pacer.status().rate, Some(10.0));
        assert_eq!(pacer.status().ceiling, Some(10.0));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_holds_the_whole_provider() {
        let pacer = pacer(None);
        // Slow start lets one go before an answer, two after one.
        go(&pacer).await.answered(&Signal::default());
        let first = go(&pacer).await;
        let second = go(&pacer).await;
        let t0 = Instant::now();
        first.answered(&throttled(Some(2)));
        assert!(pacer.status().held_for.unwrap() >= Duration::from_secs(2));
        // Another request, never throttled itself, waits out the hold too
        // (plus at most 10 % of jitter).
        let third = go(&pacer).await;
        let waited = Instant::now() - t0;
        assert!(
            (Duration::from_secs(2)..=Duration::from_millis(2201)).contains(&waited),
            "{waited:?}"
        );
        assert_eq!(pacer.status().in_flight, 2);
        second.answered(&Signal::default());
        drop(third);
        assert_eq!(
            pacer.status().in_flight,
            0,
            "a dropped request leaves the flight"
        );
        assert_eq!(pacer.status().throttled, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiting_request_holds_no_in_flight_slot() {
        let pacer = pacer(None);
        let in_flight = Semaphore::new(1);
        go(&pacer).await.answered(&throttled(Some(60)));
        let waiting = pacer.ready(Some(&in_flight), Instant::now(), PATIENCE);
        let mut waiting = std::pin::pin!(waiting);
        tokio::select! {
            _ = &mut waiting => panic!("the provider is held"),
            () = tokio::time::sleep(Duration::from_secs(30)) => {}
        }
        assert_eq!(
            in_flight.available_permits(),
            1,
            "the slot is free for others"
        );
        let permits = waiting.await.expect("not stalled");
        assert_eq!(in_flight.available_permits(), 0);
        drop(permits);
        assert_eq!(in_flight.available_permits(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn an_announced_quota_is_kept_to() {
        let pacer = pacer(None);
        // A window of 10 that resets 10 s from the start, one fewer left with each answer.
        let start = Instant::now();
        let quota = |remaining| Signal {
            quota: Some(Quota {
                limit: Some(10),
                remaining,
                reset_after: Duration::from_secs(10).saturating_sub(Instant::now() - start),
            }),
            ..Signal::default()
        };
        go(&pacer).await.answered(&quota(5));
        assert_eq!(pacer.status().rate, Some(0.5), "5 left over 10 s");
        let t0 = Instant::now();
        for left in (2..5).rev() {
            go(&pacer).await.answered(&quota(left));
        }
        assert!(Instant::now() - t0 >= Duration::from_secs(4));
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_only_once_the_provider_made_no_progress_for_the_patience() {
        let pacer = pacer(None);
        let patience = Duration::from_secs(120);
        let since = Instant::now();
        // Progress now and then: never given up, however long it takes.
        let mut round = 0;
        while Instant::now() - since <= 2 * patience {
            round += 1;
            let permits = pacer.ready(None, since, patience).await.expect("progress");
            let signal = if round % 3 == 0 {
                Signal::default()
            } else {
                throttled(Some(10))
            };
            permits.answered(&signal);
        }
        // Then only throttled answers: a waiting request is given up once the
        // provider has had no progress for the patience, and not before.
        let permits = pacer.ready(None, since, patience).await.expect("progress");
        permits.answered(&Signal::default());
        let stalled_from = Instant::now();
        loop {
            match pacer.ready(None, since, patience).await {
                Ok(permits) => permits.answered(&throttled(None)),
                Err(Stalled(stalled)) => {
                    assert!(stalled >= patience, "{stalled:?}");
                    assert!(Instant::now() - stalled_from >= patience);
                    break;
                }
            }
        }
        // A request that starts waiting now is given its own patience.
        let late = Instant::now();
        match pacer.ready(None, late, patience).await {
            Ok(permits) => permits.answered(&throttled(None)),
            Err(Stalled(_)) => assert!(Instant::now() - late >= patience),
        }
    }
}

//! One provider as the host serves it: its plugin with the settings that apply
//! (base URL, credential, rate limit, concurrency).

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota};
use reqwest::Url;
use reqwest::header::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Mutex, Semaphore, SemaphorePermit};

use crate::config::Rate;
use crate::plugin::Plugin;

/// A provider's credential, ready to send: the auth header's value, marked
/// sensitive so that `http`'s own `Debug` hides it too.
#[derive(Clone)]
pub(crate) struct Credential(HeaderValue);

impl Credential {
    /// `prefix + secret` as a header value.
    ///
    /// # Errors
    ///
    /// If the secret holds characters a header cannot carry (the message does not
    /// repeat it).
    pub(crate) fn new(prefix: &str, secret: &SecretString) -> Result<Self, String> {
        let mut value = HeaderValue::from_str(&format!("{prefix}{}", secret.expose_secret()))
            .map_err(|_| {
                "the credential holds characters an HTTP header cannot carry (a newline?)"
                    .to_owned()
            })?;
        value.set_sensitive(true);
        Ok(Self(value))
    }

    pub(crate) fn header_value(&self) -> &HeaderValue {
        &self.0
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credential(<redacted>)")
    }
}

/// A provider ready to serve requests.
#[derive(Debug)]
pub struct ProviderRuntime {
    pub(crate) plugin: Arc<Plugin>,
    pub(crate) base_url: Url,
    pub(crate) credential_env: String,
    pub(crate) credential: Option<Credential>,
    pub(crate) auth_header: HeaderName,
    pub(crate) auth_prefix: Arc<str>,
    pub(crate) rate: Option<Rate>,
    limiter: Option<DefaultDirectRateLimiter>,
    rate_turn: Mutex<()>,
    concurrency: Option<Semaphore>,
}

impl ProviderRuntime {
    pub(crate) fn new(
        plugin: Arc<Plugin>,
        base_url: Url,
        credential_env: String,
        credential: Option<Credential>,
        rate: Option<Rate>,
        concurrency: Option<usize>,
    ) -> Self {
        let auth_header = HeaderName::from_bytes(plugin.manifest().auth.header.as_bytes())
            .expect("the loader checked the credential header name");
        let auth_prefix = Arc::from(plugin.manifest().auth.prefix.as_str());
        Self {
            auth_prefix,
            plugin,
            base_url,
            credential_env,
            credential,
            auth_header,
            rate,
            limiter: rate.map(|rate| {
                // One request every interval, no burst: smooth, never bursty.
                let quota = Quota::with_period(rate.interval())
                    .expect("a rate allows at least one request")
                    .allow_burst(NonZeroU32::MIN);
                DefaultDirectRateLimiter::direct(quota)
            }),
            rate_turn: Mutex::new(()),
            concurrency: concurrency.map(Semaphore::new),
        }
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

    /// The credential, or the error naming where it was expected from.
    pub(crate) fn require_credential(&self) -> crate::Result<&Credential> {
        self.credential
            .as_ref()
            .ok_or_else(|| crate::Error::MissingCredential {
                provider: self.plugin.provider().to_owned(),
                env_var: self.credential_env.clone(),
            })
    }

    /// Whether a credential is set.
    pub fn has_credential(&self) -> bool {
        self.credential.is_some()
    }

    /// Whether requests to this provider wait for a rate or concurrency limit.
    pub fn is_limited(&self) -> bool {
        self.limiter.is_some() || self.concurrency.is_some()
    }

    /// The rate limit in force, if any.
    pub fn rate(&self) -> Option<Rate> {
        self.rate
    }

    /// Waits until a request to this provider may go out: a slot of the
    /// provider's own concurrency, a slot of `in_flight` (the caller's overall
    /// limit), and the provider's rate limit. The returned permits hold the
    /// slots while the request is in flight.
    ///
    /// A request waiting for its provider's rate holds no `in_flight` slot, so it
    /// never holds up other providers; and the rate token is taken only once the
    /// slot is held, so requests cannot pile up behind the slot and then leave
    /// together faster than the rate. One request per provider at a time waits on
    /// the rate (`rate_turn`), so the others sleep rather than spin.
    pub(crate) async fn ready<'a>(&'a self, in_flight: Option<&'a Semaphore>) -> Permits<'a> {
        let provider = match &self.concurrency {
            Some(semaphore) => Some(semaphore.acquire().await.expect("never closed")),
            None => None,
        };
        let Some(limiter) = &self.limiter else {
            return Permits {
                _provider: provider,
                _in_flight: acquire(in_flight).await,
            };
        };
        let _turn = self.rate_turn.lock().await;
        loop {
            let in_flight = acquire(in_flight).await;
            match limiter.check() {
                Ok(()) => {
                    return Permits {
                        _provider: provider,
                        _in_flight: in_flight,
                    };
                }
                Err(not_until) => {
                    drop(in_flight);
                    let wait = not_until.wait_time_from(DefaultClock::default().now());
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

async fn acquire(semaphore: Option<&Semaphore>) -> Option<SemaphorePermit<'_>> {
    match semaphore {
        Some(semaphore) => Some(semaphore.acquire().await.expect("never closed")),
        None => None,
    }
}

/// The slots a request holds while it is in flight.
#[derive(Debug)]
pub(crate) struct Permits<'a> {
    _provider: Option<SemaphorePermit<'a>>,
    _in_flight: Option<SemaphorePermit<'a>>,
}

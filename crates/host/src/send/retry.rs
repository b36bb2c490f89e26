//! When to try a request again, and how long to wait first.

use std::time::{Duration, SystemTime};

/// The retry policy: exponential backoff with jitter for 408, 429, 5xx and
/// transport errors, on idempotent operations only, honouring `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How many attempts at most, counting the first (1: no retries).
    pub max_attempts: u32,
    /// The wait before the first retry; each later one doubles it.
    pub base_delay: Duration,
    /// The longest computed wait.
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured; a provider asking for more is taken at
    /// its word that the request will not succeed soon, and the result stands.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

/// What went wrong with an attempt that got no HTTP response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportFailure {
    /// The connection was never made: the request did not reach the provider.
    NotSent,
    /// The request may have reached the provider (timeout, reset, closed).
    MaybeSent,
}

impl RetryPolicy {
    /// Whether a response with `status` is worth retrying.
    pub fn is_retryable_status(status: u16) -> bool {
        matches!(status, 408 | 429 | 500..=599)
    }

    /// How long to wait before retrying after attempt number `attempt` (from 1)
    /// ended with `status`, or `None` to stop. `retry_after` is the parsed
    /// `Retry-After` header; `jitter` is uniform in `[0, 1)`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use revoker_host::RetryPolicy;
    ///
    /// let policy = RetryPolicy::default();
    /// let retry_after = Some(Duration::from_secs(3));
    /// assert_eq!(policy.after_status(1, true, 429, retry_after, 0.5), retry_after);
    /// assert_eq!(policy.after_status(1, false, 503, None, 0.5), None, "a create is never retried");
    /// assert_eq!(policy.after_status(1, true, 404, None, 0.5), None);
    /// ```
    pub fn after_status(
        &self,
        attempt: u32,
        idempotent: bool,
        status: u16,
        retry_after: Option<Duration>,
        jitter: f64,
    ) -> Option<Duration> {
        if !idempotent || attempt >= self.max_attempts || !Self::is_retryable_status(status) {
            return None;
        }
        match retry_after {
            Some(wait) if wait > self.max_retry_after => None,
            Some(wait) => Some(wait),
            None => Some(self.backoff(attempt, jitter)),
        }
    }

    /// How long to wait before retrying after attempt number `attempt` got no
    /// response, or `None` to stop. Only idempotent operations are retried: a
    /// request that is not safe to repeat is never sent twice.
    pub fn after_transport_failure(
        &self,
        attempt: u32,
        idempotent: bool,
        jitter: f64,
    ) -> Option<Duration> {
        (idempotent && attempt < self.max_attempts).then(|| self.backoff(attempt, jitter))
    }

    /// The backoff after attempt `attempt`: `base * 2^(attempt-1)`, capped at
    /// `max_delay`, of which a random half is kept ("equal jitter"), so retries
    /// of many keys spread out instead of arriving together.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let full = self
            .base_delay
            .saturating_mul(1 << exponent)
            .min(self.max_delay);
        full / 2 + full.mul_f64(jitter.clamp(0.0, 1.0) / 2.0)
    }
}

/// Parses a `Retry-After` value: delay-seconds or an HTTP-date (as of `now`).
/// A date in the past means no wait.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy::default()
    }

    #[test]
    fn retries_only_transient_statuses() {
        for status in [408, 429, 500, 502, 503, 504, 599] {
            assert!(RetryPolicy::is_retryable_status(status), "{status}");
        }
        for status in [200, 204, 400, 401, 403, 404, 409, 422, 600] {
            assert!(!RetryPolicy::is_retryable_status(status), "{status}");
        }
    }

    #[test]
    fn never_retries_what_is_not_idempotent() {
        assert_eq!(policy().after_status(1, false, 503, None, 0.5), None);
        assert_eq!(policy().after_transport_failure(1, false, 0.5), None);
    }

    #[test]
    fn stops_at_max_attempts() {
        let p = RetryPolicy {
            max_attempts: 3,
            ..policy()
        };
        assert!(p.after_status(2, true, 500, None, 0.0).is_some());
        assert_eq!(p.after_status(3, true, 500, None, 0.0), None);
        assert!(p.after_transport_failure(2, true, 0.0).is_some());
        assert_eq!(p.after_transport_failure(3, true, 0.0), None);
        let once = RetryPolicy {
            max_attempts: 1,
            ..policy()
        };
        assert_eq!(once.after_status(1, true, 429, None, 0.0), None);
    }

    #[test]
    fn honours_retry_after_up_to_the_cap() {
        let p = policy();
        assert_eq!(
            p.after_status(1, true, 429, Some(Duration::from_secs(7)), 0.9),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            p.after_status(1, true, 429, Some(Duration::from_secs(121)), 0.9),
            None
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            ..policy()
        };
        assert_eq!(p.backoff(1, 0.0), Duration::from_millis(50));
        assert_eq!(p.backoff(1, 1.0), Duration::from_millis(100));
        assert_eq!(p.backoff(2, 0.0), Duration::from_millis(100));
        assert_eq!(p.backoff(3, 0.5), Duration::from_millis(300));
        assert_eq!(p.backoff(10, 1.0), Duration::from_millis(1000));
        assert_eq!(p.backoff(u32::MAX, 1.0), Duration::from_millis(1000));
    }

    #[test]
    fn parses_retry_after_seconds_and_dates() {
        let now = httpdate::parse_http_date("Fri, 12 Jul 2024 15:35:04 GMT").unwrap();
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Fri, 12 Jul 2024 15:35:34 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Fri, 12 Jul 2024 15:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }
}

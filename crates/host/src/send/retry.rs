//! When to try a request again, and how long to wait first.

use std::time::Duration;

/// The retry policy: exponential backoff with jitter for 408, 5xx and
/// transport errors, on idempotent operations only, honouring `Retry-After`;
/// and for throttled answers (429, 503 with `Retry-After`), which use up no
/// attempt, how long a provider may throttle with no progress before a
/// request is given up.
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
    /// It is also the longest a whole provider is held for one `Retry-After`.
    pub max_retry_after: Duration,
    /// How long a provider may throttle with no progress (no answer that was
    /// not throttled) before a request waiting for it is given up.
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(120),
            give_up_after: Duration::from_secs(300),
        }
    }
}

/// What to do after a throttled answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterThrottle {
    /// Wait for the provider's flow controller and send it again; no attempt
    /// is used up.
    Resend,
    /// Count it as an ordinary attempt (a create answered 503: it may have
    /// happened, so it is never resent).
    Attempt,
    /// The provider asked for a longer wait than is obeyed.
    TooLong(Duration),
    /// The provider has throttled with no progress for this long.
    Stalled(Duration),
}

impl RetryPolicy {
    /// What to do after a throttled answer with `status` (429, or 503 with a
    /// `Retry-After`) to a request that is `idempotent` or not; `retry_after`
    /// is the wait asked for, `stalled` how long the provider has made no
    /// progress while this request waited. A 429 refuses the request outright,
    /// so even a create is sent again.
    pub(crate) fn after_throttle(
        &self,
        idempotent: bool,
        status: u16,
        retry_after: Option<Duration>,
        stalled: Duration,
    ) -> AfterThrottle {
        if !idempotent && status != 429 {
            AfterThrottle::Attempt
        } else if let Some(wait) = retry_after.filter(|wait| *wait > self.max_retry_after) {
            AfterThrottle::TooLong(wait)
        } else if stalled >= self.give_up_after {
            AfterThrottle::Stalled(stalled)
        } else {
            AfterThrottle::Resend
        }
    }

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
    fn throttled_answers_use_up_no_attempt_until_the_provider_stalls() {
        let p = policy();
        let minute = Duration::from_secs(60);
        assert_eq!(
            p.after_throttle(true, 429, None, minute),
            AfterThrottle::Resend
        );
        assert_eq!(
            p.after_throttle(true, 503, Some(Duration::from_secs(5)), minute),
            AfterThrottle::Resend
        );
        // A 429 refused the create outright; a 503 may have let it through.
        assert_eq!(
            p.after_throttle(false, 429, None, minute),
            AfterThrottle::Resend
        );
        assert_eq!(
            p.after_throttle(false, 503, Some(Duration::from_secs(5)), minute),
            AfterThrottle::Attempt
        );
        let week = Duration::from_secs(7 * 24 * 3600);
        assert_eq!(
            p.after_throttle(true, 429, Some(week), minute),
            AfterThrottle::TooLong(week)
        );
        let stalled = Duration::from_secs(300);
        assert_eq!(
            p.after_throttle(true, 429, None, stalled),
            AfterThrottle::Stalled(stalled)
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
}

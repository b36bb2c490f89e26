//! Adaptive flow control: finding the rate a provider sustains, and staying
//! just under it.
//!
//! One [`FlowController`] exists per provider. It finds the rate the provider sustains and
//! stays just under it, with no configuration. Like quinn-proto's congestion controllers it is a
//! plain state machine: the caller feeds it events with the current [`Instant`]; it owns no timer,
//! socket or task, and never reads a clock or an RNG itself (jitter is passed in). That makes it
//! fully deterministic and testable in virtual time.
//!
//! # Design
//!
//! **Token bucket + CUBIC** (as botocore's `adaptive` retry mode). Sending is gated by a client-side
//! token bucket with a tiny burst (1–2 tokens), so requests leave evenly spaced instead of in
//! clumps that a provider-side bucket would reject. The bucket is *disabled* — [`try_acquire`]
//! returns `Ok` at zero cost — until the first throttling signal, a quota header, a `ceiling` or a
//! `documented` rate gives it something to enforce. Its fill rate follows CUBIC: on a congestion
//! event the rate drops to `β·r` where `r` is the *measured* send rate (an EWMA over 0.5 s
//! buckets, as botocore does, so a client that was sending slower than its bucket allows is not
//! credited with a rate it never used); it then regrows along `W(t) = W_max + C·(t − K)³`: fast
//! at first, flat around `W_max`, then convex again to probe past it. `C` is scaled with
//! `W_max`, so the time to climb back, `K`, is the same at 1 req/s as at 1000 req/s (bounded
//! below by ~60 requests per cycle so that slow providers are not probed — and throttled — every
//! few requests). Growth is capped at twice the measured send rate so an idle client does not
//! accumulate an unused, unsafe rate.
//!
//! A provider's limit is a number in its configuration, not a share of a link that other flows
//! compete for, so three choices differ from TCP's and botocore's. **β = 0.85**, not 0.7: a cut
//! from just above a fixed limit only needs to get below it (a deeper cut is paid for in every
//! cycle's climb; the large cut a first storm needs comes from the delivery rate, below). **The
//! plateau is 95 % of the throttled rate**: a provider's burst lets a client exceed its limit
//! for a while before it is throttled, so the rate it was throttled at is above the limit, and a
//! plateau there would be throttled every cycle. **A limit found again is probed less often**:
//! when a cut's `W_max` is within 10 % of the last one's, `K` doubles (up to 8×, and 120 s), as
//! each probe costs a 429 and its `Retry-After`; a limit found elsewhere starts over.
//!
//! **The first estimate is searched past.** The first cut's rate is estimated from the first
//! flight (below); it is a guess, not a rate the provider was seen to sustain: a provider whose
//! burst holds a tenth of a second of its rate looks five times slower than it is. That epoch
//! climbs back in a third of the usual `K`, and past its `W_max` the rate doubles each second
//! (or in ten requests' time, for a slow provider) until the next throttle, as slow start does;
//! the storm that follows is again measured.
//!
//! **Slow start.** Until something gives the bucket a rate, requests in flight are capped by a
//! window, as TCP's slow start caps a new connection: it starts at 1 and grows by half a request
//! per answer that was not throttled (×1.5 per round trip), and ends at the first throttle, quota
//! or rate. A provider that lets one request a second through then sees one or two 429s, not a
//! whole concurrency's worth, and one that announces its quota does so before a second request
//! leaves. The window is also capped by time: 4 at first, doubling every half second. Every
//! answer of a provider's burst succeeds, so the window alone would reach the whole concurrency
//! before a large burst is spent, and then every request in flight is throttled at once (29 of a
//! concurrency of 32 in the simulator at 100/s); the cap bounds that first storm to a handful and
//! costs at most the first second and a half of a fast provider's run.
//!
//! **Discovery.** Before the first throttle the client may still be sending above the limit (its
//! whole slow-start window at once). Cutting 0.7× per event from such a rate takes a dozen round trips of
//! 429 storms, so during a *storm* (decreases less than 2 s apart) the rate is also capped by the
//! *delivery rate*: successful answers divided by the time the answered requests took to send
//! (each answer counts `1/r`, `r` being the rate enforced when it was sent, remembered in a small
//! fixed ring matched FIFO). While the client is over the limit the provider's bucket is empty
//! and delivers exactly its refill rate, so this converges to the limit within a round trip or
//! two; being a measurement rather than a reaction it is applied on every throttled answer of the
//! storm, coalesced or not. The very first cut uses the successes seen so far over the time since
//! the first request, but over at least 1 s: the first flight's successes are the provider's
//! burst, not its rate, and most providers' windows are a second or longer. When the first
//! throttle carries a hold, that estimate is redone at the end of the hold, when every answer of
//! the first flight is in. After a storm `W_max` is at most the delivery rate ÷ β, so CUBIC
//! climbs back to just above the measured limit and plateaus there.
//!
//! **Coalesced throttles.** Requests that were in flight together come back throttled together;
//! they describe one overload, not N. At each decrease the controller remembers how many requests
//! were in flight (sent and not yet answered); the next that many answers are *stale* — sent
//! before the decrease — and their throttles do not cut the rate again (they still count, and
//! their holds are still obeyed). This is TCP's "one reduction per window" and approximates "until
//! a request sent after the decrease comes back" without needing per-request tickets. A 5 s cap
//! bounds the effect of requests the caller dropped without reporting ([`FlowController::on_abandoned`]).
//!
//! **Holds.** A `Retry-After` (or a quota with `remaining: 0`) holds the *whole* provider until
//! then, capped by [`FlowConfig::max_hold`] (a week-long reset is not silently obeyed), plus up to
//! 10 % (at most 1 s) of caller-supplied jitter. The bucket is emptied, so after the hold requests
//! resume one at a time at the reduced rate, not at full blast.
//!
//! **Quotas.** When answers announce `remaining` R requests until a reset in T seconds
//! (`X-RateLimit-*`, GitHub's epoch resets, or the IETF `RateLimit`/`RateLimit-Policy` fields),
//! the bucket rate is additionally capped at `(R − in_flight) / T`: the requests already in flight
//! will consume part of R. Every answer refreshes the cap, so where a provider announces its quota
//! no 429 happens after the first answer. A throttle that carries `remaining: 0` is explained by
//! the quota: it holds until the reset rather than also cutting CUBIC. When the announced window
//! passes without newer information, the cap becomes `limit / window`.
//!
//! **Quotas that refill.** The same headers also describe token buckets, whose "reset" is the
//! time until the bucket is full again: "10 left, reset in 1 s" from a bucket refilling at
//! 100/s would hold a client to 10/s. Two readings at least 0.25 s and two answers apart tell
//! them apart: within one announced window a fixed quota only goes down, by one for each request
//! that went through; one that went down by less was refilled, at `gained / elapsed` (a second
//! of slack is allowed, as resets are whole seconds and a window may end up to one early). Such a
//! quota is paced at its refill rate, up to 1.5× while more than half of it is left and down to
//! 0.5× as it empties. A quota that stays full while requests go through refills at least as
//! fast as they were sent: that floor is probed above the same way. A throttle with nothing left
//! after a refill was read means it was a window after all: the quota is treated as a fixed
//! window from then on, so a misread costs one 429.
//!
//! **Bounds.** The rate never exceeds [`FlowConfig::ceiling`]. The adaptive rate never goes below
//! [`FlowConfig::min_rate`]; only a hold or an announced quota (the provider's explicit word) can
//! slow the provider further.
//!
//! [`try_acquire`]: FlowController::try_acquire

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// Multiplicative decrease factor of CUBIC (and botocore).
const BETA: f64 = 0.85;
/// Length of a send-rate measurement bucket (botocore uses 0.5 s).
const MEASURE_BUCKET: f64 = 0.5;
/// Weight of the newest bucket in the send-rate EWMA (botocore's `smooth`).
const SMOOTH: f64 = 0.8;
/// CUBIC climbs back to `W_max` in at least this many requests' time...
const K_REQUESTS: f64 = 60.0;
/// ...but in no less than this many seconds...
const K_MIN: f64 = 6.0;
/// ...and no more than this many seconds.
const K_MAX: f64 = 120.0;
/// Where CUBIC's plateau is set, as a share of the rate that was throttled.
const PLATEAU: f64 = 0.95;
/// Past the first flight's estimate the rate doubles this often (s) until a throttle...
const ESTIMATE_DOUBLING: f64 = 1.0;
/// ...or, for a slow provider, in the time this many requests take at the estimate.
const ESTIMATE_DOUBLING_REQUESTS: f64 = 10.0;
/// A cut whose `W_max` is within this share of the last one's confirms the limit...
const K_CONFIRM_TOLERANCE: f64 = 0.1;
/// ...and each confirmation doubles the time to climb back, up to this many times (and
/// [`K_MAX`]): a provider's limit is a number in its configuration, not a share of a link, so
/// once found it is re-probed rarely, each probe costing a 429 (and its `Retry-After`).
const K_CONFIRMED_MAX: f64 = 8.0;
/// The first cut's rate is an estimate from the first flight, not a rate the provider was seen
/// to sustain (a provider whose burst is a tenth of a second of its rate looks five times
/// slower than it is): its epoch climbs back and probes past it this many times sooner.
const FIRST_K_SCALE: f64 = 1.0 / 3.0;
/// Decreases less than this apart belong to one storm, whose delivery rate bounds the cut.
const SEQ_GAP: Duration = Duration::from_secs(2);
/// Shortest provider window assumed when estimating the first rate from the first flight (s).
const FIRST_WINDOW: f64 = 1.0;
/// Sends remembered for matching answers (FIFO) to the rate they were sent at.
const RING: usize = 64;
/// Answers needed in a storm before its delivery rate caps the send rate between decreases.
const STORM_MIN_SAMPLES: u64 = 4;
/// Longest time stale (in-flight at a decrease) answers are ignored for further decreases.
const COALESCE_MAX: Duration = Duration::from_secs(5);
/// Smallest window assumed for an announced quota: header resets are whole seconds, so `0`
/// means "within the second".
const QUOTA_MIN_WINDOW: Duration = Duration::from_secs(1);
/// Largest duration `read_signal` reports (a year); the controller caps further by `max_hold`.
const MAX_SIGNAL_SECS: f64 = 365.0 * 24.0 * 3600.0;
/// Requests in flight allowed at first, before anything gave the bucket a rate (slow start).
const INITIAL_WINDOW: f64 = 1.0;
/// Most requests in flight in slow start's first moment...
const SLOW_START_CAP: f64 = 4.0;
/// ...a cap that doubles this often (s).
const SLOW_START_DOUBLING: f64 = 0.5;
/// How much the slow-start window grows with each answer that was not throttled.
const WINDOW_GROWTH: f64 = 0.5;
/// When the slow-start window is full, ask again after this long at the latest (the caller is
/// woken sooner by an answer).
const WINDOW_RECHECK: Duration = Duration::from_millis(50);
/// Tolerance when comparing token counts, against float rounding.
const TOKEN_EPS: f64 = 1e-9;
/// Shortest span between two quota readings compared to measure how the quota refills...
const REFILL_SPAN: Duration = Duration::from_millis(250);
/// ...and fewest answers between them.
const REFILL_MIN_ANSWERS: u64 = 2;
/// How far a refilling quota's pace moves from its refill rate as the remaining count moves
/// from half the quota to full (faster) or to empty (slower).
const REFILL_GAIN: f64 = 0.5;

/// Configuration of one provider's [`FlowController`]. Everything is optional; the defaults give a
/// fully adaptive controller.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FlowConfig {
    /// Hard ceiling in requests/second (user's `--rate`), never exceeded. `None` = no ceiling.
    pub(crate) ceiling: Option<f64>,
    /// The provider's documented default limit (from the plugin manifest), in requests/second.
    ///
    /// Decision: it is used as the **initial cap**, and as CUBIC's first `W_max`. The controller
    /// then probes above it (CUBIC's convex phase), so a key on a higher tier is not held to the
    /// documented default for ever, while a correct manifest avoids the otherwise unavoidable
    /// first storm of 429s (a whole concurrency's worth of requests sent before any answer).
    /// `None` = unknown: no limit until the first throttling signal.
    pub(crate) documented: Option<f64>,
    /// Longest a single Retry-After / reset hold is obeyed (caps absurd values such as a week).
    /// Default 5 minutes.
    pub(crate) max_hold: Duration,
    /// Floor of the adaptive rate in requests/second (default 0.05/s, one request per 20 s).
    pub(crate) min_rate: f64,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            ceiling: None,
            documented: None,
            max_hold: Duration::from_secs(300),
            min_rate: 0.05,
        }
    }
}

/// What one HTTP answer says about the provider's limit. Built by [`read_signal`].
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Signal {
    /// The request was rejected for exceeding a rate limit (it should be retried).
    pub(crate) throttled: bool,
    /// How long the provider asked to wait (`Retry-After`), capped at a year.
    pub(crate) retry_after: Option<Duration>,
    /// The most restrictive quota announced by the answer's headers.
    pub(crate) quota: Option<Quota>,
}

/// A quota announced by a provider: `remaining` requests are left until the quota resets in
/// `reset_after`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Quota {
    /// The quota per window, if announced (`X-RateLimit-Limit`, `RateLimit-Policy` `q`).
    pub(crate) limit: Option<u64>,
    /// Requests left in the current window.
    pub(crate) remaining: u64,
    /// Time until the window resets (quota refilled).
    pub(crate) reset_after: Duration,
}

/// CUBIC state: `W(t) = w_max + c·(t − k)³`, `t` seconds since `epoch`.
#[derive(Clone, Copy, Debug)]
struct Cubic {
    rate: f64,
    w_max: f64,
    c: f64,
    k: f64,
    epoch: Instant,
    /// `w_max` is the first flight's estimate (see [`FIRST_K_SCALE`]).
    estimated: bool,
    /// How many times over the epoch's climb is stretched: doubled each time a cut finds the
    /// limit where the last one did (see [`K_CONFIRMED_MAX`]).
    stretch: f64,
}

impl Cubic {
    /// A CUBIC epoch starting at `epoch` from `rate`, climbing back to `w_max`.
    fn new(rate: f64, w_max: f64, epoch: Instant, estimated: bool, stretch: f64) -> Cubic {
        let w_max = w_max.max(rate);
        let mut k_target = (K_REQUESTS / w_max).clamp(K_MIN, K_MAX);
        if estimated {
            k_target *= FIRST_K_SCALE;
        } else {
            k_target = (k_target * stretch).min(K_MAX);
        }
        let c = (1.0 - BETA) * w_max / (k_target * k_target * k_target);
        let k = ((w_max - rate) / c).cbrt();
        Cubic {
            rate,
            w_max,
            c,
            k,
            epoch,
            estimated,
            stretch,
        }
    }

    fn window(&self, now: Instant) -> f64 {
        let t = now.saturating_duration_since(self.epoch).as_secs_f64() - self.k;
        if self.estimated && t > 0.0 {
            // Past an estimate nothing was seen: search for the rate as slow start does.
            let doubling = (ESTIMATE_DOUBLING_REQUESTS / self.w_max).max(ESTIMATE_DOUBLING);
            return self.w_max * (t / doubling).exp2();
        }
        self.w_max + self.c * t * t * t
    }
}

/// The announced-quota cap.
#[derive(Clone, Copy, Debug)]
struct QuotaCap {
    rate: f64,
    expires: Instant,
    limit: Option<u64>,
    window: Duration,
}

/// One quota reading, kept to compare with a later one: how many requests went through between
/// the two, and how the remaining count moved, tell a quota that refills continuously (a token
/// bucket) from one that resets at the end of a fixed window.
#[derive(Clone, Copy, Debug)]
struct QuotaMark {
    at: Instant,
    remaining: u64,
    ok_total: u64,
    in_flight: u64,
    reset_at: Instant,
}

/// Adaptive flow controller for one provider. See the [module docs](self) for the design.
///
/// Every token obtained from [`try_acquire`](Self::try_acquire) must be matched by exactly one
/// [`on_response`](Self::on_response) or [`on_abandoned`](Self::on_abandoned): the controller
/// counts requests in flight.
#[derive(Clone, Debug)]
pub(crate) struct FlowController {
    cfg: FlowConfig,
    // --- token bucket ---
    limited: bool,
    /// Slow start: most requests in flight while not `limited` (∞ once slow start ended).
    window: f64,
    rate: f64,
    tokens: f64,
    last_refill: Instant,
    // --- rate sources ---
    cubic: Option<Cubic>,
    quota: Option<QuotaCap>,
    /// The last quota reading compared against.
    quota_mark: Option<QuotaMark>,
    /// The rate (req/s) at which the announced quota was seen to refill within its window, once
    /// it was: the quota is then a token bucket, paced by its refill rate, not a fixed window.
    refill: Option<f64>,
    /// `refill` is only a floor: the quota stayed full at the pace it was measured at.
    refill_is_floor: bool,
    /// A throttle said the quota was spent where its refill rate said it was not: the quota
    /// resets at the end of a window after all (its resets are whole seconds, so a reset can
    /// look like a refill), and is not measured again.
    fixed_window: bool,
    /// The largest quota seen (its limit, or the most remaining).
    quota_peak: u64,
    // --- hold ---
    hold_until: Option<Instant>,
    hold_from_quota: bool,
    estimate_at_hold_end: bool,
    // --- measurement ---
    first_send: Option<Instant>,
    meas_start: Instant,
    meas_count: u64,
    send_ewma: Option<f64>,
    sent: u64,
    answered: u64,
    ok_total: u64,
    // --- coalescing / storm ---
    stale: u64,
    last_decrease: Option<Instant>,
    storm_ok: u64,
    storm_time: f64,
    storm_skip: u64,
    storm_n: u64,
    prev_rate: f64,
    /// Enforced rate at each of the last `RING` sends, for answers matched in FIFO order.
    send_rates: [f32; RING],
    // --- stats ---
    throttled: u64,
    last_progress: Instant,
    last_throttle: Option<Instant>,
}

impl FlowController {
    /// Creates a controller at time `now`.
    pub(crate) fn new(config: FlowConfig, now: Instant) -> Self {
        let mut cfg = config;
        if !(cfg.min_rate.is_finite() && cfg.min_rate > 0.0) {
            cfg.min_rate = FlowConfig::default().min_rate;
        }
        cfg.ceiling = cfg.ceiling.filter(|c| c.is_finite() && *c > 0.0);
        cfg.documented = cfg.documented.filter(|d| d.is_finite() && *d > 0.0);
        let cubic = cfg.documented.map(|d| {
            let d = cfg.ceiling.map_or(d, |c| d.min(c)).max(cfg.min_rate);
            Cubic::new(d, d, now, false, 1.0)
        });
        let mut fc = FlowController {
            cfg,
            limited: false,
            window: INITIAL_WINDOW,
            rate: f64::INFINITY,
            tokens: 1.0,
            last_refill: now,
            cubic,
            quota: None,
            quota_mark: None,
            refill: None,
            refill_is_floor: false,
            fixed_window: false,
            quota_peak: 0,
            hold_until: None,
            hold_from_quota: false,
            estimate_at_hold_end: false,
            first_send: None,
            meas_start: now,
            meas_count: 0,
            send_ewma: None,
            sent: 0,
            answered: 0,
            ok_total: 0,
            stale: 0,
            last_decrease: None,
            storm_ok: 0,
            storm_time: 0.0,
            storm_skip: 0,
            storm_n: 0,
            prev_rate: f64::INFINITY,
            send_rates: [f32::INFINITY; RING],
            throttled: 0,
            last_progress: now,
            last_throttle: None,
        };
        fc.refresh_rate();
        fc.tokens = fc.capacity();
        fc
    }

    /// Asks to send one request now. `Ok(())` = go (a token was consumed); `Err(t)` = not before
    /// instant `t` (the caller sleeps until `t`, or until an answer arrives, and asks again;
    /// `t > now`). O(1) and allocation-free; when nothing was ever throttled and no
    /// ceiling/quota applies it returns `Ok` as long as the slow-start window has room.
    pub(crate) fn try_acquire(&mut self, now: Instant) -> Result<(), Instant> {
        if let Some(h) = self.hold_until {
            if now < h {
                return Err(h);
            }
            self.end_hold(now);
        }
        if let Some(q) = self.quota
            && now >= q.expires
        {
            self.refill(now);
            self.quota = match (self.refill, q.limit) {
                (Some(refill), _) => Some(QuotaCap {
                    rate: refill,
                    expires: now + q.window,
                    ..q
                }),
                (None, Some(l)) => Some(QuotaCap {
                    rate: l as f64 / q.window.as_secs_f64(),
                    expires: now + q.window,
                    ..q
                }),
                (None, None) => None,
            };
            self.refresh_rate();
        }
        if !self.limited {
            if (self.sent - self.answered) as f64 >= self.slow_start_window(now) {
                // Woken sooner by an answer (the caller's job); this is the fallback.
                return Err(now + WINDOW_RECHECK);
            }
            self.note_send(now);
            return Ok(());
        }
        self.refill(now);
        if self.tokens >= 1.0 - TOKEN_EPS {
            self.tokens = (self.tokens - 1.0).max(0.0);
            self.note_send(now);
            Ok(())
        } else {
            let wait = (1.0 - self.tokens) / self.rate;
            let wait = Duration::try_from_secs_f64(wait).unwrap_or(self.cfg.max_hold);
            Err(now + wait.clamp(Duration::from_micros(1), self.cfg.max_hold))
        }
    }

    /// Feeds the answer to a request that was sent (a token from [`try_acquire`](Self::try_acquire)).
    /// `jitter` in `[0, 1)` is supplied by the caller (there is no RNG inside); it spreads the end
    /// of holds.
    pub(crate) fn on_response(&mut self, now: Instant, signal: &Signal, jitter: f64) {
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.refill(now);
        let sent_rate = (self.sent - self.answered <= RING as u64)
            .then(|| f64::from(self.send_rates[(self.answered % RING as u64) as usize]));
        self.answered = (self.answered + 1).min(self.sent);
        if self
            .last_decrease
            .is_some_and(|d| now.saturating_duration_since(d) > COALESCE_MAX)
        {
            self.stale = 0;
        }
        let stale = self.stale > 0;
        self.stale = self.stale.saturating_sub(1);
        if self.storm_skip > 0 {
            self.storm_skip -= 1;
        } else if self.cubic.is_some() {
            // Sent after the storm began: stale answers at the rate before the last decrease,
            // fresh ones at the rate enforced now.
            let r = sent_rate.unwrap_or(if stale { self.prev_rate } else { self.rate });
            self.storm_time += 1.0 / r.max(1e-6);
            self.storm_ok += u64::from(!signal.throttled);
            self.storm_n += 1;
        }
        if signal.throttled {
            self.throttled += 1;
            self.last_throttle = Some(now);
        } else {
            self.ok_total += 1;
            self.last_progress = now;
        }

        let first_event = self.cubic.is_none();
        let mut explained_by_quota = false;
        if let Some(q) = &signal.quota {
            self.apply_quota(now, q, signal.throttled, jitter);
            explained_by_quota = signal.throttled && q.remaining == 0;
        }
        if signal.throttled
            && let Some(ra) = signal.retry_after
            && !ra.is_zero()
        {
            self.hold(now, ra, jitter, false);
            if first_event {
                self.estimate_at_hold_end = true;
            }
        }
        if signal.throttled {
            if explained_by_quota {
            } else if !stale {
                self.decrease(now);
            } else {
                self.cap_to_delivery(now);
            }
        } else {
            self.grow(now);
            self.window += WINDOW_GROWTH;
        }
        self.refresh_rate();
    }

    /// Reports that a request which obtained a token will never get an answer (timeout, network
    /// error, caller gave up), so it no longer counts as in flight.
    pub(crate) fn on_abandoned(&mut self) {
        self.answered = (self.answered + 1).min(self.sent);
        self.stale = self.stale.saturating_sub(1);
        self.storm_skip = self.storm_skip.saturating_sub(1);
    }

    /// The rate currently enforced (req/s), `None` when unlimited.
    pub(crate) fn current_rate(&self) -> Option<f64> {
        self.limited.then_some(self.rate)
    }

    /// Until when the whole provider is held (Retry-After / quota exhausted), if it is. The
    /// instant may already be past; the hold is cleared by the next `try_acquire`.
    pub(crate) fn held_until(&self) -> Option<Instant> {
        self.hold_until
    }

    /// How many throttled answers were seen.
    pub(crate) fn throttled(&self) -> u64 {
        self.throttled
    }

    /// The last time a non-throttled answer arrived (progress), for "give up after no progress
    /// for N minutes". Starts at the creation time.
    #[cfg(test)]
    pub(crate) fn last_progress(&self) -> Instant {
        self.last_progress
    }

    /// When the provider last made progress, if its latest answer was throttled:
    /// it has been stalled since then. `None` while it is not being throttled.
    pub(crate) fn stalled_since(&self) -> Option<Instant> {
        self.last_throttle
            .filter(|t| *t >= self.last_progress)
            .map(|_| self.last_progress)
    }

    /// Requests that obtained a token and were neither answered nor abandoned.
    pub(crate) fn in_flight(&self) -> u64 {
        self.sent - self.answered
    }

    /// The measured send rate (req/s): an EWMA over 0.5 s buckets, or the current partial bucket
    /// before the first one completed. `None` before the first request.
    pub(crate) fn measured_rate(&self, now: Instant) -> Option<f64> {
        self.first_send.map(|_| self.send_rate(now))
    }

    // ----------------------------------------------------------------------------------------

    /// The slow-start window, also capped by time: [`SLOW_START_CAP`] at first, doubling each
    /// [`SLOW_START_DOUBLING`]. Every answer of a provider's burst succeeds, so the window alone
    /// would reach the whole concurrency before the burst is spent, and then every request in
    /// flight is throttled at once; this bounds that first storm for the first second or two.
    fn slow_start_window(&self, now: Instant) -> f64 {
        let since = self
            .first_send
            .map_or(0.0, |t| now.saturating_duration_since(t).as_secs_f64());
        let cap = SLOW_START_CAP * (since / SLOW_START_DOUBLING).min(30.0).exp2();
        self.window.min(cap)
    }

    fn capacity(&self) -> f64 {
        (self.rate * 0.02).clamp(1.0, 2.0)
    }

    fn refill(&mut self, now: Instant) {
        if self.limited && now > self.last_refill {
            let dt = (now - self.last_refill).as_secs_f64();
            self.tokens = (self.tokens + dt * self.rate).min(self.capacity());
        }
        if now > self.last_refill {
            self.last_refill = now;
        }
    }

    fn refresh_rate(&mut self) {
        let mut r = f64::INFINITY;
        let mut limited = false;
        if let Some(c) = &self.cubic {
            r = r.min(c.rate.max(self.cfg.min_rate));
            limited = true;
        }
        if let Some(q) = &self.quota {
            r = r.min(q.rate);
            limited = true;
        }
        if let Some(c) = self.cfg.ceiling {
            r = r.min(c);
            limited = true;
        }
        if limited && !self.limited {
            self.tokens = 1.0;
        }
        if limited {
            // Slow start ends for good: the bucket paces from now on.
            self.window = f64::INFINITY;
        }
        self.limited = limited;
        self.rate = if limited { r.max(1e-6) } else { f64::INFINITY };
        self.tokens = self.tokens.min(self.capacity());
    }

    fn note_send(&mut self, now: Instant) {
        if self.first_send.is_none() {
            self.first_send = Some(now);
            self.meas_start = now;
        }
        self.send_rates[(self.sent % RING as u64) as usize] = if self.limited {
            self.rate as f32
        } else {
            f32::INFINITY
        };
        self.sent += 1;
        self.meas_count += 1;
        let elapsed = now.saturating_duration_since(self.meas_start).as_secs_f64();
        if elapsed >= MEASURE_BUCKET {
            let sample = self.meas_count as f64 / elapsed;
            self.send_ewma = Some(match self.send_ewma {
                None => sample,
                Some(e) => SMOOTH * sample + (1.0 - SMOOTH) * e,
            });
            self.meas_start = now;
            self.meas_count = 0;
        }
    }

    fn send_rate(&self, now: Instant) -> f64 {
        match self.send_ewma {
            Some(e) => e,
            None => {
                let elapsed = now.saturating_duration_since(self.meas_start).as_secs_f64();
                self.meas_count as f64 / elapsed.max(1e-3)
            }
        }
    }

    fn clamp_rate(&self, r: f64) -> f64 {
        let r = r.max(self.cfg.min_rate);
        self.cfg.ceiling.map_or(r, |c| r.min(c))
    }

    fn hold(&mut self, now: Instant, dur: Duration, jitter: f64, from_quota: bool) {
        let dur = dur.min(self.cfg.max_hold);
        let extra = dur.mul_f64(0.1 * jitter).min(Duration::from_secs(1));
        let until = now + dur + extra;
        self.hold_until = Some(self.hold_until.map_or(until, |h| h.max(until)));
        self.hold_from_quota |= from_quota;
        self.tokens = 0.0;
    }

    fn end_hold(&mut self, now: Instant) {
        self.hold_until = None;
        if self.estimate_at_hold_end {
            self.estimate_at_hold_end = false;
            // All answers of the first flight are in: the provider delivered `ok_total` requests
            // over the time from the first request to the end of the hold.
            let start = self.first_send.unwrap_or(now);
            let span = now.saturating_duration_since(start).as_secs_f64().max(1e-3);
            let est = self.clamp_rate((self.ok_total as f64).max(1.0) / span);
            self.cubic = Some(Cubic::new(est, est, now, true, 1.0));
        }
        if std::mem::take(&mut self.hold_from_quota)
            && let Some(q) = self.quota.as_mut()
            && let Some(l) = q.limit
        {
            // The window was reset: the full quota is available again.
            q.rate = l as f64 / q.window.as_secs_f64();
            q.expires = now + q.window;
        }
        self.refresh_rate();
        self.tokens = 1.0_f64.min(self.capacity());
        self.last_refill = now;
    }

    fn apply_quota(&mut self, now: Instant, q: &Quota, throttled: bool, jitter: f64) {
        let window = if q.reset_after.is_zero() {
            QUOTA_MIN_WINDOW
        } else {
            q.reset_after
        };
        let t = window.max(QUOTA_MIN_WINDOW).min(self.cfg.max_hold);
        let prev_window = self.quota.map_or(Duration::ZERO, |c| c.window);
        self.quota_peak = self.quota_peak.max(q.remaining).max(q.limit.unwrap_or(0));
        if throttled && q.remaining == 0 && self.refill.is_some() {
            self.refill = None;
            self.fixed_window = true;
        }
        if !self.fixed_window {
            self.measure_refill(now, q);
        }
        let r_eff = q.remaining.saturating_sub(self.sent - self.answered);
        let rate = match self.refill {
            // A token bucket: sustain its refill rate, faster while more than half of it is
            // left, slower below (spending or rebuilding the burst it allows).
            Some(refill) => {
                // An answer reports what is left after its own request: at most the peak less one.
                let half = (self.quota_peak.saturating_sub(1) as f64 / 2.0).max(0.5);
                let fill = ((r_eff as f64 - half) / half).clamp(-1.0, 1.0);
                (refill * (1.0 + REFILL_GAIN * fill)).max(1.0 / t.as_secs_f64())
            }
            // A fixed window: what is left, spread over the time until it resets.
            None if r_eff == 0 => 1.0 / t.as_secs_f64(),
            None => r_eff as f64 / t.as_secs_f64(),
        };
        self.quota = Some(QuotaCap {
            rate,
            expires: now + t,
            limit: q.limit.filter(|l| *l > 0),
            window: prev_window.max(t),
        });
        if q.remaining == 0 {
            // A bucket that refills has its next request's worth in 1/refill.
            let wait = self.refill.map_or(window, |r| secs(1.0 / r).min(window));
            self.hold(now, wait, jitter, true);
        }
    }

    /// Compares a quota reading with the last one at least [`REFILL_SPAN`] and
    /// [`REFILL_MIN_ANSWERS`] before it. Within one announced window a fixed quota only goes
    /// down, by one for each request that went through; if it went down by less, it was
    /// refilled, at `gained / elapsed`. A quota that stays full while requests go through
    /// refills at least as fast as they were sent: that is a floor for the refill rate, which
    /// [`REFILL_GAIN`] then probes above.
    fn measure_refill(&mut self, now: Instant, q: &Quota) {
        let mark = QuotaMark {
            at: now,
            remaining: q.remaining,
            ok_total: self.ok_total,
            in_flight: self.sent - self.answered,
            reset_at: now + q.reset_after,
        };
        let Some(prev) = self.quota_mark else {
            self.quota_mark = Some(mark);
            return;
        };
        let span = now.saturating_duration_since(prev.at);
        let through = self.ok_total - prev.ok_total;
        if span < REFILL_SPAN || through < REFILL_MIN_ANSWERS {
            return;
        }
        self.quota_mark = Some(mark);
        // Answers overtake one another by up to the requests in flight at either end.
        let noise = 2 + prev.in_flight + mark.in_flight;
        let span = span.as_secs_f64();
        // Full: nothing taken but the answer's own request. A quota of one is never seen full.
        let full = |r: u64| r > 0 && r + 1 >= self.quota_peak;
        if full(prev.remaining) && full(q.remaining) {
            let floor = through as f64 / span;
            if self.refill.is_none_or(|r| floor >= r) {
                self.refill = Some(floor);
                self.refill_is_floor = true;
            }
        } else if now + QUOTA_MIN_WINDOW < prev.reset_at {
            // Resets are whole seconds: the window may end up to one before the one announced.
            let gained = (q.remaining + through).saturating_sub(prev.remaining);
            if gained >= noise {
                // A measured sample replaces a floor, and is averaged with earlier samples.
                let sample = gained as f64 / span;
                self.refill = Some(match self.refill {
                    Some(r) if !self.refill_is_floor => 0.5 * (r + sample),
                    _ => sample,
                });
                self.refill_is_floor = false;
            }
        }
    }

    fn decrease(&mut self, now: Instant) {
        let inflight = self.sent - self.answered;
        let send = self.send_rate(now);
        let first = self.cubic.is_none();
        let base = match &self.cubic {
            Some(c) => send.min(c.rate),
            None => send,
        };
        let continuing = !first
            && self
                .last_decrease
                .is_some_and(|d| now.saturating_duration_since(d) <= SEQ_GAP);
        let delivery = if first {
            // What the provider let through before throttling, assuming its window is at least
            // a second (a shorter elapsed time would credit its burst as a rate).
            let start = self.first_send.unwrap_or(now);
            let span = now
                .saturating_duration_since(start)
                .as_secs_f64()
                .max(FIRST_WINDOW);
            (self.ok_total as f64).max(1.0) / span
        } else if continuing && self.storm_time > 0.0 {
            (self.storm_ok as f64 + 1.0) / self.storm_time
        } else {
            f64::INFINITY
        };
        if !continuing {
            self.storm_ok = 0;
            self.storm_time = 0.0;
            self.storm_skip = inflight;
            self.storm_n = 0;
        }
        // A storm begun from the first flight's estimate is still probing for the real rate.
        let estimated = first || (continuing && self.cubic.is_some_and(|c| c.estimated));
        let new = self.clamp_rate((BETA * base).min(delivery));
        // The rate sent at when throttled is above the limit (a provider's burst lets a client
        // exceed it for a while): the plateau is set a little below it.
        let w_max = self.clamp_rate(PLATEAU * base.min(delivery.max(new)));
        // A limit found again where it was last found is stable: probe for a change less often.
        let stretch = match &self.cubic {
            Some(c) if continuing => c.stretch,
            Some(c) if !c.estimated && (w_max - c.w_max).abs() <= K_CONFIRM_TOLERANCE * c.w_max => {
                (c.stretch * 2.0).min(K_CONFIRMED_MAX)
            }
            _ => 1.0,
        };
        let epoch = self.hold_until.map_or(now, |h| h.max(now));
        self.cubic = Some(Cubic::new(new, w_max, epoch, estimated, stretch));
        self.last_decrease = Some(now);
        self.prev_rate = if self.limited { self.rate } else { send };
        self.stale = inflight;
    }

    /// During a storm, every throttled answer (even a coalesced one) caps the rate at the measured
    /// delivery rate: that is a measurement, not a reaction, so applying it often is safe.
    fn cap_to_delivery(&mut self, now: Instant) {
        let in_storm = self
            .last_decrease
            .is_some_and(|d| now.saturating_duration_since(d) <= SEQ_GAP);
        if !in_storm || self.storm_n < STORM_MIN_SAMPLES || self.storm_time <= 0.0 {
            return;
        }
        let d = self.clamp_rate((self.storm_ok as f64 + 1.0) / self.storm_time);
        if let Some(c) = self.cubic
            && d < c.rate
        {
            self.cubic = Some(Cubic::new(
                d,
                c.w_max.min(d / BETA),
                c.epoch,
                c.estimated,
                c.stretch,
            ));
        }
    }

    fn grow(&mut self, now: Instant) {
        if self.hold_until.is_some() {
            return;
        }
        let cap = 2.0 * self.send_rate(now);
        let ceiling = self.cfg.ceiling;
        if let Some(c) = self.cubic.as_mut() {
            let w = c.window(now).min(cap.max(c.rate));
            let w = ceiling.map_or(w, |x| w.min(x));
            if w > c.rate {
                c.rate = w;
            }
        }
    }
}

// ============================================================================================
// Header parsing
// ============================================================================================

/// Reads what an answer says about the provider's limit: its status, headers (names in any case)
/// and the wall clock `now` (for HTTP-date `Retry-After` and epoch-second resets).
///
/// * `throttled`: status 429; 503 with a valid `Retry-After`; 403 with a remaining count of 0
///   (`X-RateLimit-Remaining: 0`, GitHub's way; the IETF forms count too).
/// * `Retry-After`: delta-seconds (fractions tolerated) or an IMF-fixdate HTTP-date.
/// * `X-RateLimit-Limit` / `-Remaining` / `-Reset` (and `X-RateLimit-Reset-After`, seconds): the
///   reset is seconds-from-now, except values above 10⁹ which are Unix epoch seconds (GitHub);
///   10⁹ s is 31 years, no real window is that long, and epoch 10⁹ is 2001.
/// * IETF draft-ietf-httpapi-ratelimit-headers: the structured fields of drafts 08+
///   (`RateLimit: "default";r=50;t=30`, `RateLimit-Policy: "default";q=100;w=60`, joined on the
///   policy name), the dictionary form of draft 07 (`RateLimit: limit=100, remaining=50,
///   reset=30`) and the separate fields of drafts ≤ 06 (`RateLimit-Limit`, `RateLimit-Remaining`,
///   `RateLimit-Reset`, seconds).
///
/// When several quotas are announced the most restrictive (lowest remaining per second) wins.
/// Garbage is ignored, never panics; durations are capped at a year (the controller caps holds
/// further with [`FlowConfig::max_hold`]).
pub(crate) fn read_signal<'a>(
    status: u16,
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    now: SystemTime,
) -> Signal {
    let now_epoch = now
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let mut retry_after = None;
    let mut x = Legacy::default();
    let mut old = Legacy::default();
    let mut dict = Legacy::default();
    let mut items: Vec<(&'a str, Option<u64>, Option<f64>)> = Vec::new();
    let mut policies: Vec<(&'a str, Option<u64>, Option<f64>)> = Vec::new();

    for (name, value) in headers {
        let name = name.trim();
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        if is("retry-after") {
            retry_after = parse_retry_after(value, now).or(retry_after);
        } else if is("x-ratelimit-limit") {
            x.limit = parse_count(value).or(x.limit);
        } else if is("x-ratelimit-remaining") {
            x.remaining = parse_count(value).or(x.remaining);
        } else if is("x-ratelimit-reset") {
            x.reset = parse_reset(value, now_epoch).or(x.reset);
        } else if is("x-ratelimit-reset-after") {
            x.reset = parse_secs(first_token(value)).or(x.reset);
        } else if is("ratelimit-limit") {
            old.limit = parse_count(value).or(old.limit);
        } else if is("ratelimit-remaining") {
            old.remaining = parse_count(value).or(old.remaining);
        } else if is("ratelimit-reset") {
            old.reset = parse_reset(value, now_epoch).or(old.reset);
        } else if is("ratelimit") {
            parse_ratelimit_field(value, &mut items, &mut dict);
        } else if is("ratelimit-policy") {
            parse_policy_field(value, &mut policies);
        }
    }

    let mut quota: Option<Quota> = None;
    let mut any_zero = false;
    let mut offer = |q: Option<Quota>| {
        if let Some(q) = q {
            any_zero |= q.remaining == 0;
            quota = Some(match quota {
                Some(p) if !more_restrictive(&q, &p) => p,
                _ => q,
            });
        }
    };
    for l in [&x, &old, &dict] {
        offer(l.quota());
    }
    for &(name, r, t) in &items {
        let Some(r) = r else { continue };
        let policy = policies.iter().find(|p| p.0 == name);
        let Some(t) = t.or_else(|| policy.and_then(|p| p.2)) else {
            continue;
        };
        offer(Some(Quota {
            limit: policy.and_then(|p| p.1),
            remaining: r,
            reset_after: secs(t),
        }));
    }
    let zero_remaining = any_zero
        || [x.remaining, old.remaining, dict.remaining].contains(&Some(0))
        || items.iter().any(|i| i.1 == Some(0));

    let throttled = status == 429
        || (status == 503 && retry_after.is_some())
        || (status == 403 && zero_remaining);
    Signal {
        throttled,
        retry_after,
        quota,
    }
}

/// One set of separate limit/remaining/reset values.
#[derive(Default)]
struct Legacy {
    limit: Option<u64>,
    remaining: Option<u64>,
    reset: Option<f64>,
}

impl Legacy {
    fn quota(&self) -> Option<Quota> {
        Some(Quota {
            limit: self.limit,
            remaining: self.remaining?,
            reset_after: secs(self.reset?),
        })
    }
}

fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s.clamp(0.0, MAX_SIGNAL_SECS)).unwrap_or(Duration::ZERO)
}

/// `a` leaves fewer requests per second than `b` (ties: the longer wait).
fn more_restrictive(a: &Quota, b: &Quota) -> bool {
    let per_sec = |q: &Quota| q.remaining as f64 / q.reset_after.as_secs_f64().max(1e-3);
    match (a.remaining == 0, b.remaining == 0) {
        (true, true) => a.reset_after > b.reset_after,
        (true, false) => true,
        (false, true) => false,
        (false, false) => per_sec(a) < per_sec(b),
    }
}

/// The part of a value before any list/parameter separator, trimmed.
fn first_token(v: &str) -> &str {
    v.split([',', ';']).next().unwrap_or("").trim()
}

/// A non-negative integer count, strictly digits (first list member of `100, 100;w=60` forms).
fn parse_count(v: &str) -> Option<u64> {
    parse_u64(first_token(v))
}

fn parse_u64(t: &str) -> Option<u64> {
    let t = t.trim();
    if t.is_empty() || t.len() > 19 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// Non-negative decimal seconds, finite, capped at a year.
fn parse_secs(t: &str) -> Option<f64> {
    let t = t.trim();
    if t.is_empty() || t.len() > 32 || !t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let v: f64 = t.parse().ok()?;
    (v.is_finite() && v >= 0.0).then_some(v.min(MAX_SIGNAL_SECS))
}

/// A reset in seconds, or Unix epoch seconds when above 10⁹ (GitHub sends epochs).
fn parse_reset(v: &str, now_epoch: f64) -> Option<f64> {
    let t = first_token(v);
    let t = t.trim();
    if t.is_empty() || t.len() > 32 || !t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let raw: f64 = t.parse().ok()?;
    if !raw.is_finite() || raw < 0.0 {
        return None;
    }
    let s = if raw > 1e9 { raw - now_epoch } else { raw };
    Some(s.clamp(0.0, MAX_SIGNAL_SECS))
}

fn parse_retry_after(v: &str, now: SystemTime) -> Option<Duration> {
    let v = v.trim();
    if let Some(s) = parse_secs(v) {
        return Some(secs(s));
    }
    let at = parse_http_date(v)?;
    Some(
        at.duration_since(now)
            .unwrap_or(Duration::ZERO)
            .min(secs(MAX_SIGNAL_SECS)),
    )
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the only HTTP-date form senders
/// may generate (RFC 9110 §5.6.7). The obsolete RFC 850 and asctime forms are not accepted.
fn parse_http_date(v: &str) -> Option<SystemTime> {
    let b = v.trim().as_bytes();
    if b.len() != 29 || &b[3..5] != b", " || &b[25..] != b" GMT" {
        return None;
    }
    let days = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];
    if !days.iter().any(|d| &b[..3] == *d) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        let s = std::str::from_utf8(&b[r]).ok()?;
        parse_u64(s)
    };
    if b[7] != b' ' || b[11] != b' ' || b[16] != b' ' || b[19] != b':' || b[22] != b':' {
        return None;
    }
    let day = num(5..7)?;
    let months = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let month = months.iter().position(|m| &b[8..11] == *m)? as u64 + 1;
    let year = num(12..16)?;
    let (h, m, s) = (num(17..19)?, num(20..22)?, num(23..25)?);
    if !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 || year < 1970 {
        return None;
    }
    let days_since = crate::civil::days_from_civil(year as i64, month as i64, day as i64);
    let secs = days_since * 86_400 + (h * 3600 + m * 60 + s) as i64;
    UNIX_EPOCH.checked_add(Duration::from_secs(u64::try_from(secs).ok()?))
}

/// Splits `s` on `sep` outside double-quoted strings (with backslash escapes).
fn split_outside_quotes(s: &str, sep: u8) -> impl Iterator<Item = &str> {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut pos = 0;
    let mut in_q = false;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        while pos < bytes.len() {
            let c = bytes[pos];
            if in_q && c == b'\\' {
                pos += 2;
                continue;
            }
            if c == b'"' {
                in_q = !in_q;
            } else if c == sep && !in_q {
                let piece = &s[start..pos];
                pos += 1;
                start = pos;
                return Some(piece);
            }
            pos += 1;
        }
        done = true;
        Some(&s[start.min(s.len())..])
    })
}

/// An item's name: a quoted string's content, or the bare token.
fn item_name(t: &str) -> &str {
    let t = t.trim();
    t.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(t)
}

/// `key=value` parameters of one list member (after the item).
fn params(member: &str) -> impl Iterator<Item = (&str, &str)> {
    split_outside_quotes(member, b';')
        .skip(1)
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
}

/// `RateLimit`: structured list (`"name";r=..;t=..`) or draft-07 dictionary
/// (`limit=.., remaining=.., reset=..`).
fn parse_ratelimit_field<'a>(
    v: &'a str,
    items: &mut Vec<(&'a str, Option<u64>, Option<f64>)>,
    dict: &mut Legacy,
) {
    for member in split_outside_quotes(v, b',') {
        let head = split_outside_quotes(member, b';')
            .next()
            .unwrap_or("")
            .trim();
        if !head.starts_with('"')
            && let Some((k, val)) = head.split_once('=')
        {
            let (k, val) = (k.trim(), val.trim());
            if k.eq_ignore_ascii_case("limit") {
                dict.limit = parse_u64(val).or(dict.limit);
            } else if k.eq_ignore_ascii_case("remaining") {
                dict.remaining = parse_u64(val).or(dict.remaining);
            } else if k.eq_ignore_ascii_case("reset") {
                dict.reset = parse_secs(val).or(dict.reset);
            }
            continue;
        }
        if head.is_empty() {
            continue;
        }
        let (mut r, mut t) = (None, None);
        for (k, val) in params(member) {
            match k {
                "r" => r = parse_u64(val),
                "t" => t = parse_secs(val),
                _ => {}
            }
        }
        if r.is_some() && items.len() < 16 {
            items.push((item_name(head), r, t));
        }
    }
}

/// `RateLimit-Policy`: `"name";q=..;w=..` (drafts 08+) or `100;w=60` (drafts ≤ 07).
fn parse_policy_field<'a>(v: &'a str, policies: &mut Vec<(&'a str, Option<u64>, Option<f64>)>) {
    for member in split_outside_quotes(v, b',') {
        let head = split_outside_quotes(member, b';')
            .next()
            .unwrap_or("")
            .trim();
        if head.is_empty() {
            continue;
        }
        let (mut q, mut w) = (parse_u64(head), None);
        for (k, val) in params(member) {
            match k {
                "q" => q = parse_u64(val),
                "w" => w = parse_secs(val),
                _ => {}
            }
        }
        if policies.len() < 16 {
            policies.push((item_name(head), q, w));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Reverse;
    use std::collections::{BinaryHeap, VecDeque};

    /// Deterministic pseudo-random numbers (Knuth's MMIX LCG).
    struct Lcg(u64);
    impl Lcg {
        fn next_u64(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            self.0
        }
        /// Uniform in [0, 1).
        fn f64(&mut self) -> f64 {
            (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn ok() -> Signal {
        Signal::default()
    }

    fn bare429() -> Signal {
        Signal {
            throttled: true,
            ..Signal::default()
        }
    }

    // ---------------------------------------------------------------------------------------
    // Simulation harness
    // ---------------------------------------------------------------------------------------

    /// How the simulated provider signals its limit.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Style {
        /// 429 + `Retry-After: 1`.
        RetryAfter,
        /// Bare 429, no headers.
        Bare,
        /// `X-RateLimit-Limit/Remaining/Reset` on every answer.
        XHeaders,
        /// IETF `RateLimit` + `RateLimit-Policy` structured fields on every answer.
        Ietf,
    }

    /// A provider-side token bucket unknown to the controller, or, with `window`, a quota of
    /// `burst` requests per fixed window of that many seconds.
    struct Provider {
        rate: f64,
        burst: f64,
        tokens: f64,
        last: Instant,
        window: Option<(f64, Instant)>,
    }

    impl Provider {
        fn admit(&mut self, now: Instant) -> bool {
            if let Some((w, end)) = &mut self.window {
                while now >= *end {
                    *end += Duration::from_secs_f64(*w);
                    self.tokens = self.burst;
                }
            } else {
                let dt = now.saturating_duration_since(self.last).as_secs_f64();
                self.tokens = (self.tokens + dt * self.rate).min(self.burst);
            }
            self.last = self.last.max(now);
            if self.tokens >= 1.0 {
                self.tokens -= 1.0;
                true
            } else {
                false
            }
        }

        fn headers(&self, style: Style, admitted: bool) -> Vec<(String, String)> {
            let remaining = self.tokens.floor() as u64;
            let reset = match self.window {
                Some((_, end)) => (end - self.last).as_secs_f64().ceil() as u64,
                None => ((self.burst - self.tokens) / self.rate).ceil().max(0.0) as u64,
            };
            let quota = self.burst.floor() as u64;
            let window = match self.window {
                Some((w, _)) => w.ceil() as u64,
                None => (self.burst / self.rate).ceil() as u64,
            };
            match style {
                Style::RetryAfter if !admitted => vec![("Retry-After".into(), "1".into())],
                Style::RetryAfter | Style::Bare => vec![],
                Style::XHeaders => vec![
                    ("X-RateLimit-Limit".into(), quota.to_string()),
                    ("X-RateLimit-Remaining".into(), remaining.to_string()),
                    ("X-RateLimit-Reset".into(), reset.to_string()),
                ],
                Style::Ietf => vec![
                    (
                        "RateLimit-Policy".into(),
                        format!("\"default\";q={quota};w={window}"),
                    ),
                    (
                        "RateLimit".into(),
                        format!("\"default\";r={remaining};t={reset}"),
                    ),
                ],
            }
        }
    }

    enum Ev {
        Wake,
        Arrive {
            key: u32,
            sent_at: Instant,
            rtt: Duration,
            blind: bool,
        },
        Answer {
            key: u32,
            sent_at: Instant,
            ok: bool,
            blind: bool,
            headers: Vec<(String, String)>,
        },
    }

    #[derive(Debug)]
    struct SimResult {
        limit: f64,
        style: Style,
        keys: usize,
        done: usize,
        elapsed: f64,
        ideal: f64,
        requests: u64,
        throttled: u64,
        throttled_after_first_answer: u64,
        throttled_first_flight: u64,
        throttled_blind: u64,
    }

    impl SimResult {
        fn ratio(&self) -> f64 {
            self.elapsed / self.ideal
        }
        fn pct429(&self) -> f64 {
            100.0 * self.throttled as f64 / self.requests as f64
        }
        fn row(&self) -> String {
            format!(
                "| {:>6} | {:<10} | {:>6} | {:>7.1} | {:>6.3} | {:>6} | {:>5.2}% | {:>5} | {:>5} | {:>5} | {:>4} |",
                self.limit,
                format!("{:?}", self.style),
                self.keys,
                self.elapsed,
                self.ratio(),
                self.requests,
                self.pct429(),
                self.throttled_blind,
                self.throttled_first_flight,
                self.throttled_after_first_answer,
                self.keys - self.done,
            )
        }
    }

    const TABLE_HEAD: &str = "| limit  | style      | keys   | time s  | /ideal | reqs   | 429%   | blind | 1st-f | after | lost |\n|--------|------------|--------|---------|--------|--------|--------|-------|-------|-------|------|";

    /// Drives a client with `concurrency` workers over `keys` keys against a provider limited to
    /// `limit` req/s (burst `burst`), in virtual time. Throttled keys are retried.
    /// The simulated provider's limit: `rate` req/s with a bucket of `burst`, or `burst` per
    /// fixed `window` of seconds.
    struct Limit {
        rate: f64,
        burst: f64,
        window: Option<f64>,
    }

    fn simulate(
        provider: Limit,
        style: Style,
        cfg: FlowConfig,
        concurrency: usize,
        keys: usize,
        seed: u64,
    ) -> SimResult {
        let Limit {
            rate: limit,
            burst,
            window,
        } = provider;
        let t0 = Instant::now();
        let sys0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let ideal = keys as f64 / limit;
        let deadline = t0 + Duration::from_secs_f64(ideal * 20.0 + 60.0);
        let mut rng = Lcg(seed);
        let mut fc = FlowController::new(cfg, t0);
        let mut prov = Provider {
            rate: limit,
            burst,
            tokens: burst,
            last: t0,
            window: window.map(|w| (w, t0 + Duration::from_secs_f64(w))),
        };
        let mut heap: BinaryHeap<Reverse<(Instant, usize)>> = BinaryHeap::new();
        let mut evs: Vec<Option<Ev>> = Vec::new();
        let push = |heap: &mut BinaryHeap<Reverse<(Instant, usize)>>,
                    evs: &mut Vec<Option<Ev>>,
                    t: Instant,
                    e: Ev| {
            evs.push(Some(e));
            heap.push(Reverse((t, evs.len() - 1)));
        };
        let mut pending: VecDeque<u32> = (0..keys as u32).collect();
        let mut free = concurrency;
        let mut done = 0usize;
        let mut wake_at: Option<Instant> = None;
        let mut first_answer: Option<Instant> = None;
        let (mut requests, mut throttled, mut after_first, mut first_flight, mut blind) =
            (0u64, 0u64, 0u64, 0u64, 0u64);
        let mut last_done = t0;
        let trace = std::env::var("FLOW_TRACE").is_ok_and(|v| v == format!("{limit}{style:?}"));
        let mut next_trace = t0;
        push(&mut heap, &mut evs, t0, Ev::Wake);
        while let Some(Reverse((now, id))) = heap.pop() {
            if now > deadline || done == keys {
                break;
            }
            let mut dispatch = false;
            match evs[id].take().expect("event") {
                Ev::Wake => {
                    if wake_at == Some(now) {
                        wake_at = None;
                    }
                    dispatch = true;
                }
                Ev::Arrive {
                    key,
                    sent_at,
                    rtt,
                    blind,
                } => {
                    let admitted = prov.admit(now);
                    let headers = prov.headers(style, admitted);
                    push(
                        &mut heap,
                        &mut evs,
                        sent_at + rtt,
                        Ev::Answer {
                            key,
                            sent_at,
                            ok: admitted,
                            blind,
                            headers,
                        },
                    );
                }
                Ev::Answer {
                    key,
                    sent_at,
                    ok,
                    blind: was_blind,
                    headers,
                } => {
                    let status = if ok { 200 } else { 429 };
                    let sys = sys0 + (now - t0);
                    let signal = read_signal(
                        status,
                        headers.iter().map(|(a, b)| (a.as_str(), b.as_str())),
                        sys,
                    );
                    assert_eq!(signal.throttled, !ok);
                    fc.on_response(now, &signal, rng.f64());
                    if trace && (!ok || now >= next_trace) {
                        next_trace = now + Duration::from_secs(1);
                        eprintln!(
                            "t={:8.3} ok={} rate={:?} meas={:?} hold={:?} inflight={} cubic={:?}",
                            (now - t0).as_secs_f64(),
                            ok,
                            fc.current_rate(),
                            fc.measured_rate(now),
                            fc.held_until().map(|h| (h - t0).as_secs_f64()),
                            fc.in_flight(),
                            fc.cubic.map(|c| (c.w_max, c.k))
                        );
                    }
                    if !ok {
                        throttled += 1;
                        blind += u64::from(was_blind);
                        match first_answer {
                            Some(f) if sent_at > f => after_first += 1,
                            _ => first_flight += 1,
                        }
                        pending.push_front(key);
                    } else {
                        done += 1;
                        last_done = now;
                    }
                    first_answer.get_or_insert(now);
                    free += 1;
                    dispatch = true;
                }
            }
            while dispatch && free > 0 && !pending.is_empty() {
                match fc.try_acquire(now) {
                    Ok(()) => {
                        let key = pending.pop_front().expect("key");
                        free -= 1;
                        requests += 1;
                        let rtt = Duration::from_secs_f64(0.015 + 0.010 * rng.f64());
                        push(
                            &mut heap,
                            &mut evs,
                            now + rtt / 2,
                            Ev::Arrive {
                                key,
                                sent_at: now,
                                rtt,
                                blind: fc.throttled() == 0,
                            },
                        );
                    }
                    Err(t) => {
                        assert!(t > now, "try_acquire must ask to wait for a later instant");
                        if wake_at.is_none_or(|w| t < w) {
                            wake_at = Some(t);
                            push(&mut heap, &mut evs, t, Ev::Wake);
                        }
                        break;
                    }
                }
            }
        }
        SimResult {
            limit,
            style,
            keys,
            done,
            elapsed: (last_done - t0).as_secs_f64(),
            ideal,
            requests,
            throttled,
            throttled_after_first_answer: after_first,
            throttled_first_flight: first_flight,
            throttled_blind: blind,
        }
    }

    fn keys_for(limit: f64) -> usize {
        ((60.0 * limit) as usize).max(200)
    }

    fn run_matrix(styles: &[Style], burst_secs: f64) -> Vec<SimResult> {
        let mut out = Vec::new();
        for &style in styles {
            for limit in [1.0, 20.0, 100.0, 1000.0] {
                let burst = (limit * burst_secs).max(1.0);
                out.push(simulate(
                    Limit {
                        rate: limit,
                        burst,
                        window: None,
                    },
                    style,
                    FlowConfig::default(),
                    32,
                    keys_for(limit),
                    7,
                ));
            }
        }
        println!("{TABLE_HEAD}");
        for r in &out {
            println!("{}", r.row());
        }
        out
    }

    /// Targets for 429-signalled limits: all keys done, time ≤ 1.1 × ideal, ≤ 2 % 429s.
    ///
    /// Two exceptions, stated rather than hidden (and measured in `docs/performance.md`):
    /// * **Blind phase.** Until the first throttled answer arrives the controller is, by
    ///   specification, disabled: the first flight (32 concurrent requests) and every request
    ///   sent on its successful answers before the first 429 comes back cannot be paced. Against
    ///   a provider whose burst is below the concurrency (1/s and 20/s here) that alone is ≈ 32
    ///   429s — 13 % of 1/s's 231 requests, 2.6 % of 20/s's 1 240. For those limits the 2 %
    ///   budget is asserted on the 429s of requests sent after the controller saw a throttle.
    /// * **1 req/s time.** With a 1-token provider burst, CUBIC's β = 0.7 sawtooth averages
    ///   ≈ 0.92 of the limit and each probe costs a hold; measured ≈ 1.12 × ideal. Asserted ≤ 1.15.
    fn check_throttle_targets(results: &[SimResult]) {
        for r in results {
            assert_eq!(r.done, r.keys, "keys lost: {r:?}");
            let max_ratio = if r.limit < 20.0 { 1.15 } else { 1.1 };
            assert!(r.ratio() <= max_ratio, "too slow: {}", r.row());
            let budget = 0.02 * r.requests as f64;
            if r.limit >= 100.0 {
                assert!((r.throttled as f64) <= budget, "too many 429: {}", r.row());
            } else {
                let seeing = r.throttled - r.throttled_blind;
                assert!(
                    (seeing as f64) <= budget,
                    "too many 429 after the blind phase: {}",
                    r.row()
                );
            }
        }
    }

    /// Not a target: a harsher provider whose burst is only 0.1 s of its rate, printed for the
    /// report (`cargo test small_burst -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn sim_small_burst_report() {
        for r in run_matrix(&[Style::RetryAfter, Style::Bare, Style::XHeaders], 0.1) {
            assert_eq!(r.done, r.keys);
        }
    }

    /// Not a target: short runs (the issue's own scenarios: 1,000 keys at 100/s, 100 at 20/s),
    /// where the first flight's 429s weigh most, printed for the report
    /// (`cargo test short_runs -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn sim_short_runs_report() {
        println!("{TABLE_HEAD}");
        for style in [Style::RetryAfter, Style::Bare, Style::XHeaders] {
            for (limit, keys) in [(100.0, 1000), (20.0, 100)] {
                let provider = Limit {
                    rate: limit,
                    burst: limit,
                    window: None,
                };
                let r = simulate(provider, style, FlowConfig::default(), 32, keys, 7);
                println!("{}", r.row());
                assert_eq!(r.done, r.keys);
            }
        }
    }

    #[test]
    fn sim_retry_after() {
        check_throttle_targets(&run_matrix(&[Style::RetryAfter], 1.0));
    }

    #[test]
    fn sim_bare_429() {
        check_throttle_targets(&run_matrix(&[Style::Bare], 1.0));
    }

    #[test]
    fn sim_quota_headers() {
        for r in run_matrix(&[Style::XHeaders, Style::Ietf], 1.0) {
            assert_eq!(r.done, r.keys, "keys lost: {r:?}");
            assert_eq!(
                r.throttled_after_first_answer,
                0,
                "429 after the first answer: {}",
                r.row()
            );
        }
    }

    /// A quota that resets at the end of fixed windows (of 1 s, whose whole-second resets could
    /// make a reset look like a refill, and of 10 s) is never taken for a token bucket: no 429
    /// after the first answer, and every key done close to the pace it allows.
    #[test]
    fn sim_fixed_window_quota() {
        println!("{TABLE_HEAD}");
        for window in [1.0, 10.0] {
            for style in [Style::XHeaders, Style::Ietf] {
                for limit in [1.0, 20.0, 100.0, 1000.0] {
                    let keys = keys_for(limit);
                    let burst = limit * window;
                    let r = simulate(
                        Limit {
                            rate: limit,
                            burst,
                            window: Some(window),
                        },
                        style,
                        FlowConfig::default(),
                        32,
                        keys,
                        7,
                    );
                    println!("{} window {window} s", r.row());
                    assert_eq!(r.done, r.keys, "keys lost: {r:?}");
                    assert_eq!(r.throttled_after_first_answer, 0, "{}", r.row());
                    // A one-second window announced in whole seconds ("1 s left" from 0 to
                    // 1 s before its end) is spread over a second when less is left: measured
                    // 1.59–1.62 × ideal, the cost of the headers' resolution, not of 429s.
                    // At 1/s a window's whole-second slack weighs a tenth of a 10 s window.
                    let max_ratio = match (window < 2.0, limit < 20.0) {
                        (true, false) => 1.7,
                        (_, true) => 1.15,
                        (false, false) => 1.1,
                    };
                    assert!(r.ratio() <= max_ratio, "too slow: {}", r.row());
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Unit tests of decisions
    // ---------------------------------------------------------------------------------------

    /// Sends `n` requests evenly over `dur` starting at `t`, answering each `rtt` later with `sig`.
    fn steady(
        fc: &mut FlowController,
        t: Instant,
        n: u32,
        dur: Duration,
        rtt: Duration,
        sig: &Signal,
    ) -> Instant {
        let step = dur / n;
        let mut now = t;
        for _ in 0..n {
            while let Err(w) = fc.try_acquire(now) {
                now = w;
            }
            fc.on_response(now + rtt, sig, 0.5);
            now += step;
        }
        now
    }

    #[test]
    fn unlimited_until_first_throttle_within_the_slow_start_window() {
        let t0 = Instant::now();
        let mut fc = FlowController::new(FlowConfig::default(), t0);
        // One may go before any answer; the second waits for it, woken by it.
        assert_eq!(fc.try_acquire(t0), Ok(()));
        assert_eq!(fc.try_acquire(t0), Err(t0 + WINDOW_RECHECK));
        // Each answer not throttled frees its place and widens the window by half a place.
        fc.on_response(t0, &ok(), 0.0);
        assert_eq!(fc.try_acquire(t0), Ok(()));
        assert_eq!(fc.try_acquire(t0), Ok(()));
        assert!(fc.try_acquire(t0).is_err(), "2 in flight, window 1.5");
        fc.on_response(t0, &ok(), 0.0);
        fc.on_response(t0, &ok(), 0.0);
        for _ in 0..3 {
            assert_eq!(fc.try_acquire(t0), Ok(()));
        }
        assert!(fc.try_acquire(t0).is_err(), "3 in flight, window 2.5");
        // The window is capped by time too: four at first, doubling each half second.
        for _ in 0..100 {
            fc.on_response(t0, &ok(), 0.0);
            while fc.try_acquire(t0).is_ok() {}
        }
        assert_eq!(fc.in_flight(), 4);
        let later = t0 + Duration::from_secs(10);
        for _ in 0..10_000 {
            fc.on_response(later, &ok(), 0.0);
            while fc.try_acquire(later).is_ok() {}
        }
        assert_eq!(fc.current_rate(), None, "no rate without a reason");
        assert_eq!(fc.held_until(), None);
        assert!(fc.in_flight() > 5_000, "{}", fc.in_flight());
    }

    #[test]
    fn slow_start_ends_at_the_first_throttle() {
        let t0 = Instant::now();
        let mut fc = FlowController::new(FlowConfig::default(), t0);
        fc.try_acquire(t0).unwrap();
        fc.on_response(t0 + ms(10), &ok(), 0.0);
        fc.try_acquire(t0 + ms(10)).unwrap();
        fc.on_response(t0 + ms(20), &bare429(), 0.0);
        assert!(fc.current_rate().is_some());
        assert_eq!(fc.window, f64::INFINITY, "the bucket paces from now on");
    }

    #[test]
    fn a_ceiling_paces_from_the_start_without_a_window() {
        let t0 = Instant::now();
        let cfg = FlowConfig {
            ceiling: Some(1000.0),
            ..FlowConfig::default()
        };
        let mut fc = FlowController::new(cfg, t0);
        let mut now = t0;
        for _ in 0..100 {
            while fc.try_acquire(now).is_err() {
                now += ms(1);
            }
        }
        assert_eq!(fc.in_flight(), 100, "no answer needed under a ceiling");
    }

    #[test]
    fn ceiling_is_never_exceeded() {
        let t0 = Instant::now();
        let cfg = FlowConfig {
            ceiling: Some(10.0),
            ..FlowConfig::default()
        };
        let mut fc = FlowController::new(cfg, t0);
        let mut now = t0;
        let mut granted = 0;
        while now < t0 + Duration::from_secs(10) {
            match fc.try_acquire(now) {
                Ok(()) => {
                    granted += 1;
                    fc.on_response(now, &ok(), 0.0);
                }
                Err(t) => {
                    assert!(t > now);
                    now = t;
                }
            }
        }
        assert!((100..=102).contains(&granted), "granted {granted}");
        assert_eq!(fc.current_rate(), Some(10.0));
    }

    #[test]
    fn bare_429_cuts_from_measured_rate() {
        let t0 = Instant::now();
        let mut fc = FlowController::new(FlowConfig::default(), t0);
        // 100 req/s for 5 s, all accepted.
        let now = steady(&mut fc, t0, 500, Duration::from_secs(5), ms(0), &ok());
        let measured = fc.measured_rate(now).unwrap();
        assert!((90.0..=110.0).contains(&measured), "{measured}");
        fc.on_response(now, &bare429(), 0.0);
        let r = fc.current_rate().unwrap();
        assert!(
            (r - BETA * measured).abs() < 1.0,
            "rate {r}, measured {measured}"
        );
        assert_eq!(fc.throttled(), 1);
    }

    #[test]
    fn throttles_in_flight_together_are_one_event() {
        let t0 = Instant::now();
        let mut fc = FlowController::new(FlowConfig::default(), t0);
        let now = steady(&mut fc, t0, 500, Duration::from_secs(5), ms(0), &ok());
        for _ in 0..10 {
            fc.try_acquire(now).unwrap();
        }
        fc.on_response(now + ms(20), &bare429(), 0.0);
        let after_first = fc.current_rate().unwrap();
        // The other nine were in flight at the decrease: no further cut.
        for i in 0..9 {
            fc.on_response(now + ms(21 + i), &bare429(), 0.0);
        }
        assert_eq!(fc.current_rate().unwrap(), after_first);
        assert_eq!(fc.throttled(), 10);
        // A request sent after the decrease and throttled is a new event.
        let mut t = now + ms(40);
        while let Err(w) = fc.try_acquire(t) {
            t = w;
        }
        fc.on_response(t + ms(20), &bare429(), 0.0);
        assert!(fc.current_rate().unwrap() <= after_first * BETA + 1e-9);
    }

    #[test]
    fn retry_after_holds_everything_then_resumes_slower() {
        let t0 = Instant::now();
        let mut fc = FlowController::new(FlowConfig::default(), t0);
        let now = steady(&mut fc, t0, 500, Duration::from_secs(5), ms(0), &ok());
        fc.try_acquire(now).unwrap();
        let sig = Signal {
            throttled: true,
            retry_after: Some(Duration::from_secs(2)),
            quota: None,
        };
        fc.on_response(now, &sig, 0.5);
        let held = fc.held_until().unwrap();
        // 2 s plus 10 % × jitter 0.5 = 0.1 s.
        assert_eq!(held, now + Duration::from_millis(2100));
        assert_eq!(fc.try_acquire(now + Duration::from_secs(1)), Err(held));
        assert_eq!(fc.try_acquire(held), Ok(()));
        assert_eq!(fc.held_until(), None);
        // Resumes paced (one token, then spaced), at a reduced rate.
        assert!(fc.try_acquire(held).is_err());
        assert!(fc.current_rate().unwrap() < 80.0);
    }

    #[test]
    fn absurd_holds_are_capped() {
        let t0 = Instant::now();
        let cfg = FlowConfig {
            max_hold: Duration::from_secs(60),
            ..FlowConfig::default()
        };
        let mut fc = FlowController::new(cfg, t0);
        fc.try_acquire(t0).unwrap();
        let week = Duration::from_secs(7 * 24 * 3600);
        fc.on_response(
            t0,
            &Signal {
                throttled: true,
                retry_after: Some(week),
                quota: None,
            },
            0.99,
        );
        let held = fc.held_until().unwrap();
        assert!(held <= t0 + Duration::from_secs(61), "{:?}", held - t0);
        // Same for a quota reset a week away.
        let mut fc = FlowController::new(FlowConfig::default(), t0);
        fc.try_acquire(t0).unwrap();
        let q = Quota {
            limit: Some(10),
            remaining: 0,
            reset_after: week,
        };
        fc.on_response(
            t0,
            &Signal {
                throttled: false,
                retry_after: None,
                quota: Some(q),
            },
            0.0,
        );
        assert_eq!(fc.held_until(), Some(t0 + Duration::from_secs(300)));
    }

    #[test]
    fn quota_paces_within_remaining_over_reset() {
        let t0 = Instant::now();
        let mut fc = FlowController::new(FlowConfig::default(), t0);
        fc.try_acquire(t0).unwrap();
        let q = Quota {
            limit: Some(100),
            remaining: 20,
            reset_after: Duration::from_secs(10),
        };
        fc.on_response(
            t0,
            &Signal {
                quota: Some(q),
                ..Signal::default()
            },
            0.0,
        );
        assert_eq!(fc.current_rate(), Some(2.0));
        assert_eq!(fc.held_until(), None);
        // In-flight requests count against the remaining quota.
        for _ in 0..2 {
            let mut t = t0;
            while let Err(w) = fc.try_acquire(t) {
                t = w;
            }
        }
        fc.on_response(
            t0 + Duration::from_secs(1),
            &Signal {
                quota: Some(q),
                ..Signal::default()
            },
            0.0,
        );
        assert_eq!(fc.current_rate(), Some(1.9));
        // Exhausted quota: hold until the reset (plus jitter), not a CUBIC cut.
        let q0 = Quota {
            limit: Some(100),
            remaining: 0,
            reset_after: Duration::from_secs(10),
        };
        let now = t0 + Duration::from_secs(2);
        fc.on_response(
            now,
            &Signal {
                throttled: true,
                retry_after: None,
                quota: Some(q0),
            },
            0.0,
        );
        assert_eq!(fc.held_until(), Some(now + Duration::from_secs(10)));
        assert!(fc.cubic.is_none());
        // After the reset the window's full quota is paced over the window.
        assert_eq!(fc.try_acquire(now + Duration::from_secs(10)), Ok(()));
        assert_eq!(fc.current_rate(), Some(10.0));
    }

    #[test]
    fn never_below_min_rate() {
        let t0 = Instant::now();
        let cfg = FlowConfig {
            min_rate: 0.5,
            ..FlowConfig::default()
        };
        let mut fc = FlowController::new(cfg, t0);
        let mut now = t0;
        for _ in 0..200 {
            while let Err(w) = fc.try_acquire(now) {
                now = w;
            }
            now += ms(10);
            fc.on_response(now, &bare429(), 0.3);
        }
        assert!(fc.current_rate().unwrap() >= 0.5);
        assert_eq!(fc.throttled(), 200);
        assert_eq!(fc.last_progress(), t0);
    }

    #[test]
    fn cubic_regrows_to_and_past_last_max() {
        let t0 = Instant::now();
        let mut fc = FlowController::new(FlowConfig::default(), t0);
        // The first cut is the first flight's estimate; the second finds the limit.
        let now = throttle_at(&mut fc, t0, 100);
        let now = throttle_at(&mut fc, now + Duration::from_secs(3), 100);
        assert!(!fc.cubic.unwrap().estimated);
        let cut = fc.current_rate().unwrap();
        let w_max = fc.cubic.unwrap().w_max;
        assert!(cut < w_max);
        // Keep the client busy (it always wants more than allowed) and answer OK.
        let mut t = now;
        let mut rates = Vec::new();
        while t < now + Duration::from_secs(20) {
            match fc.try_acquire(t) {
                Ok(()) => fc.on_response(t, &ok(), 0.0),
                Err(w) => t = w,
            }
            rates.push((t, fc.current_rate().unwrap()));
        }
        assert!(
            rates.windows(2).all(|w| w[1].1 >= w[0].1),
            "monotone growth between events"
        );
        let at = |secs: u64| {
            rates
                .iter()
                .find(|r| r.0 >= now + Duration::from_secs(secs))
                .unwrap()
                .1
        };
        assert!(at(3) > cut && at(3) < w_max);
        assert!(
            (at(7) - w_max).abs() < 0.05 * w_max,
            "plateau near w_max: {} vs {w_max}",
            at(7)
        );
        assert!(at(19) > w_max * 1.05, "probes past w_max");
        assert!(fc.last_progress() > now);
    }

    /// Throttles the controller at about `rate` req/s after three steady seconds at that rate
    /// (long enough for the measured send rate to forget what came before).
    fn throttle_at(fc: &mut FlowController, t: Instant, rate: u32) -> Instant {
        let now = steady(fc, t, 3 * rate, Duration::from_secs(3), ms(0), &ok());
        fc.on_response(now, &bare429(), 0.0);
        now
    }

    /// Sends whenever allowed until `until`, every answer `sig`; returns when it stopped.
    fn busy(fc: &mut FlowController, mut t: Instant, until: Instant, sig: &Signal) -> Instant {
        while t < until {
            match fc.try_acquire(t) {
                Ok(()) => fc.on_response(t, sig, 0.0),
                Err(w) => t = w,
            }
        }
        t
    }

    #[test]
    fn a_limit_found_again_is_probed_less_often() {
        let t0 = Instant::now();
        let mut fc = FlowController::new(FlowConfig::default(), t0);
        // The first cut comes from an estimate: its climb is short.
        let mut now = throttle_at(&mut fc, t0, 100);
        assert!(fc.cubic.unwrap().estimated);
        now = busy(&mut fc, now, now + Duration::from_secs(5), &ok());
        now = throttle_at(&mut fc, now, 100);
        let first = fc.cubic.unwrap();
        assert!(!first.estimated);
        assert!((first.rate - BETA * 100.0).abs() < 2.0, "{first:?}");
        assert!(
            (first.w_max - PLATEAU * 100.0).abs() < 2.0,
            "plateau below the throttled rate"
        );
        // The same limit again (more than a storm's gap later): the climb back takes twice as long.
        now = busy(&mut fc, now, now + Duration::from_secs(3), &ok());
        throttle_at(&mut fc, now, 100);
        let again = fc.cubic.unwrap();
        assert_eq!(again.stretch, 2.0 * first.stretch);
        assert!(again.k > 1.9 * first.k, "{} vs {}", again.k, first.k);
        // A limit found elsewhere starts over.
        let mut other = fc.clone();
        let later = busy(&mut other, now, now + Duration::from_secs(3), &ok());
        throttle_at(&mut other, later, 40);
        assert_eq!(other.cubic.unwrap().stretch, 1.0);
    }

    #[test]
    fn past_the_first_estimate_the_rate_doubles_until_a_throttle() {
        let t0 = Instant::now();
        let mut fc = FlowController::new(FlowConfig::default(), t0);
        // Twenty went through before the first 429: taken as 20/s (a window of at least 1 s).
        for _ in 0..21 {
            fc.try_acquire(t0).ok();
        }
        for _ in 0..20 {
            fc.on_response(t0 + ms(5), &ok(), 0.0);
        }
        fc.on_response(t0 + ms(5), &bare429(), 0.0);
        let c = fc.cubic.unwrap();
        assert!(c.estimated && (c.w_max - 20.0).abs() < 1.0, "{c:?}");
        // A provider far faster than that: the rate doubles each second past the estimate.
        let past = c.epoch + Duration::from_secs_f64(c.k);
        let w = |secs: f64| c.window(past + Duration::from_secs_f64(secs));
        assert!((w(1.0) / c.w_max - 2.0).abs() < 1e-9);
        assert!((w(3.0) / c.w_max - 8.0).abs() < 1e-9);
        // A slow provider's estimate doubles in ten of its requests' time, not in a second.
        let slow = Cubic::new(0.5, 0.5, t0, true, 1.0);
        let w = slow.window(t0 + Duration::from_secs_f64(slow.k + 20.0));
        assert!((w / 0.5 - 2.0).abs() < 1e-9, "{w}");
    }

    fn quota(limit: u64, remaining: u64, reset_secs: u64) -> Signal {
        Signal {
            quota: Some(Quota {
                limit: Some(limit),
                remaining,
                reset_after: Duration::from_secs(reset_secs),
            }),
            ..Signal::default()
        }
    }

    /// Answers `n` requests evenly over `dur`, each announcing `remaining(i)` of `limit` (the
    /// requests are taken as sent: this is about reading the answers, not pacing).
    fn quota_answers(
        fc: &mut FlowController,
        t: Instant,
        n: u32,
        dur: Duration,
        limit: u64,
        reset_secs: u64,
        remaining: impl Fn(u32) -> u64,
    ) -> Instant {
        let step = dur / n;
        let mut now = t;
        for i in 0..n {
            fc.on_response(now, &quota(limit, remaining(i), reset_secs), 0.0);
            now += step;
        }
        now
    }

    #[test]
    fn a_quota_that_refills_within_its_window_is_paced_at_its_refill_rate() {
        let t0 = Instant::now();
        let mut fc = FlowController::new(FlowConfig::default(), t0);
        // "10 a window, 5 left, resets in 5 s" on every answer while 100 go through in a
        // second: a fixed window would be spent; this one refills at 100/s.
        let mut bucket = FlowController::new(FlowConfig::default(), t0);
        let now = quota_answers(&mut bucket, t0, 100, Duration::from_secs(1), 10, 5, |_| 5);
        let refill = bucket.refill.expect("a refill was seen");
        assert!(!bucket.refill_is_floor);
        assert!((refill - 100.0).abs() < 5.0, "{refill}");
        // Paced at the refill rate with half the quota left; faster when full, slower when low.
        let at = |remaining: u64| {
            let mut probe = bucket.clone();
            probe.on_response(now, &quota(10, remaining, 5), 0.0);
            probe.quota.unwrap().rate
        };
        let (half, full, low) = (at(4), at(9), at(1));
        assert!(low < half && half < full, "{low} {half} {full}");
        assert!((half / refill - 1.0).abs() < 0.15, "{half}");
        // The same answers from a fixed window (one fewer left each time) are not a refill.
        let now = quota_answers(&mut fc, t0, 50, ms(500), 100, 5, |i| 99 - u64::from(i));
        quota_answers(&mut fc, now, 40, ms(500), 100, 5, |i| 49 - u64::from(i));
        assert_eq!(fc.refill, None);
    }

    #[test]
    fn a_quota_of_one_per_window_is_never_taken_for_a_refilling_one() {
        let t0 = Instant::now();
        let mut fc = FlowController::new(FlowConfig::default(), t0);
        // GitHub-like: one request a 2 s window, "0 left" on every answer.
        let mut now = t0;
        for _ in 0..10 {
            fc.on_response(now, &quota(1, 0, 2), 0.0);
            now += Duration::from_secs(2);
        }
        assert_eq!(fc.refill, None);
        assert_eq!(
            fc.held_until(),
            Some(now - Duration::from_secs(2) + Duration::from_secs(2)),
            "held to the window's reset"
        );
    }

    #[test]
    fn a_quota_that_stays_full_is_probed_above_and_a_spent_one_ends_the_refill_reading() {
        let t0 = Instant::now();
        let mut fc = FlowController::new(FlowConfig::default(), t0);
        // Always 9 of 10 left (its own request taken), reset 0: never the limit at this pace.
        let now = quota_answers(&mut fc, t0, 10, Duration::from_secs(1), 10, 0, |_| 9);
        let floor = fc.refill.expect("a floor");
        assert!(fc.refill_is_floor);
        assert!(
            fc.quota.unwrap().rate > 1.4 * floor,
            "probes above: {:?}",
            fc.quota
        );
        // A throttle with nothing left: the quota is a window after all, and is held to it.
        fc.try_acquire(now + Duration::from_secs(5)).ok();
        let spent = Signal {
            throttled: true,
            ..quota(10, 0, 3)
        };
        fc.on_response(now + Duration::from_secs(5), &spent, 0.0);
        assert_eq!(fc.refill, None);
        assert!(fc.fixed_window);
        assert_eq!(
            fc.held_until(),
            Some(now + Duration::from_secs(8)),
            "held to the announced reset"
        );
        let later = now + Duration::from_secs(9);
        quota_answers(&mut fc, later, 10, Duration::from_secs(1), 10, 0, |_| 9);
        assert_eq!(fc.refill, None, "not measured again");
    }

    #[test]
    fn documented_rate_is_the_initial_cap() {
        let t0 = Instant::now();
        let cfg = FlowConfig {
            documented: Some(5.0),
            ..FlowConfig::default()
        };
        let mut fc = FlowController::new(cfg, t0);
        assert_eq!(fc.current_rate(), Some(5.0));
        assert_eq!(fc.try_acquire(t0), Ok(()));
        assert_eq!(fc.try_acquire(t0), Err(t0 + ms(200)));
        // Ceiling wins over the documented rate.
        let cfg = FlowConfig {
            documented: Some(50.0),
            ceiling: Some(2.0),
            ..FlowConfig::default()
        };
        assert_eq!(FlowController::new(cfg, t0).current_rate(), Some(2.0));
    }

    #[test]
    fn first_hold_estimates_rate_from_first_flight() {
        let t0 = Instant::now();
        let mut fc = FlowController::new(FlowConfig::default(), t0);
        // The first request at t0; two seconds later (slow start's time cap long past) 24 more
        // sent, with answers (all successes) opening the window.
        fc.try_acquire(t0).unwrap();
        fc.on_response(t0, &ok(), 0.0);
        let t1 = t0 + Duration::from_secs(2);
        let (mut sent, mut ok_before) = (0, 1);
        while sent < 24 {
            if fc.try_acquire(t1).is_ok() {
                sent += 1;
            } else {
                fc.on_response(t1, &ok(), 0.0);
                ok_before += 1;
            }
        }
        assert!(fc.in_flight() >= 8, "{}", fc.in_flight());
        let ra = Signal {
            throttled: true,
            retry_after: Some(Duration::from_secs(1)),
            quota: None,
        };
        // The next answer is a 429; 5 more successes arrive after it, then 3 more 429s.
        fc.on_response(t1 + ms(20), &ra, 0.0);
        for _ in 0..5 {
            fc.on_response(t1 + ms(21), &ok(), 0.0);
        }
        for _ in 0..3 {
            fc.on_response(t1 + ms(22), &ra, 0.0);
        }
        let held = fc.held_until().unwrap();
        assert_eq!(held, t1 + ms(1022));
        assert_eq!(fc.try_acquire(held), Ok(()));
        // Every success, over the time from the first request to the end of the hold.
        let r = fc.current_rate().unwrap();
        let expected = f64::from(ok_before + 5) / (held - t0).as_secs_f64();
        assert!((r - expected).abs() < 1e-6, "{r} vs {expected}");
    }

    #[test]
    fn err_instants_always_advance() {
        let t0 = Instant::now();
        let cfg = FlowConfig {
            ceiling: Some(3000.0),
            ..FlowConfig::default()
        };
        let mut fc = FlowController::new(cfg, t0);
        let mut now = t0;
        let mut n = 0;
        while n < 3000 {
            match fc.try_acquire(now) {
                Ok(()) => n += 1,
                Err(t) => {
                    assert!(t > now);
                    now = t;
                }
            }
        }
        let secs = (now - t0).as_secs_f64();
        assert!((0.99..=1.01).contains(&secs), "{secs}");
    }

    // ---------------------------------------------------------------------------------------
    // Parsing
    // ---------------------------------------------------------------------------------------

    fn sys() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn sig(status: u16, h: &[(&str, &str)]) -> Signal {
        read_signal(status, h.iter().copied(), sys())
    }

    #[test]
    fn throttled_statuses() {
        assert!(sig(429, &[]).throttled);
        assert!(!sig(503, &[]).throttled);
        assert!(sig(503, &[("Retry-After", "3")]).throttled);
        assert!(!sig(503, &[("Retry-After", "soon")]).throttled);
        assert!(sig(403, &[("x-ratelimit-remaining", "0")]).throttled);
        assert!(!sig(403, &[("x-ratelimit-remaining", "5")]).throttled);
        assert!(!sig(403, &[]).throttled);
        assert!(!sig(200, &[("X-RateLimit-Remaining", "0")]).throttled);
        assert!(sig(403, &[("RateLimit", "\"default\";r=0;t=5")]).throttled);
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(
            sig(429, &[("Retry-After", "120")]).retry_after,
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            sig(429, &[("retry-after", " 1.5 ")]).retry_after,
            Some(Duration::from_millis(1500))
        );
        // 1_700_000_000 is Tue, 14 Nov 2023 22:13:20 GMT.
        let d = sig(429, &[("RETRY-AFTER", "Tue, 14 Nov 2023 22:14:20 GMT")]).retry_after;
        assert_eq!(d, Some(Duration::from_secs(60)));
        let past = sig(429, &[("Retry-After", "Sun, 06 Nov 1994 08:49:37 GMT")]).retry_after;
        assert_eq!(past, Some(Duration::ZERO));
        for bad in [
            "",
            "-1",
            "abc",
            "1e9999",
            "NaN",
            "inf",
            "Tue, 14 Nov 2023 25:14:20 GMT",
            "Xyz, 14 Nov 2023 22:14:20 GMT",
            "Tue, 14 Foo 2023 22:14:20 GMT",
        ] {
            assert_eq!(
                sig(429, &[("Retry-After", bad)]).retry_after,
                None,
                "{bad:?}"
            );
        }
        // Absurd values are capped at a year by the parser (and by max_hold in the controller).
        let huge = sig(429, &[("Retry-After", "99999999999999")])
            .retry_after
            .unwrap();
        assert_eq!(huge, Duration::from_secs(365 * 24 * 3600));
    }

    #[test]
    fn http_date_known_values() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(UNIX_EPOCH + Duration::from_secs(784_111_777))
        );
        assert_eq!(
            parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"),
            Some(UNIX_EPOCH)
        );
        assert_eq!(
            parse_http_date("Tue, 29 Feb 2000 12:00:00 GMT"),
            Some(UNIX_EPOCH + Duration::from_secs(951_825_600))
        );
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), None);
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), None);
    }

    #[test]
    fn x_ratelimit_headers() {
        let s = sig(
            200,
            &[
                ("X-RateLimit-Limit", "100"),
                ("X-RateLimit-Remaining", "40"),
                ("X-RateLimit-Reset", "30"),
            ],
        );
        assert_eq!(
            s.quota,
            Some(Quota {
                limit: Some(100),
                remaining: 40,
                reset_after: Duration::from_secs(30)
            })
        );
        assert!(!s.throttled);
        // GitHub: epoch-second reset.
        let s = sig(
            403,
            &[
                ("x-ratelimit-limit", "5000"),
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "1700000600"),
            ],
        );
        assert!(s.throttled);
        assert_eq!(
            s.quota,
            Some(Quota {
                limit: Some(5000),
                remaining: 0,
                reset_after: Duration::from_secs(600)
            })
        );
        // An epoch in the past resets now.
        let s = sig(
            200,
            &[
                ("x-ratelimit-remaining", "3"),
                ("x-ratelimit-reset", "1600000000"),
            ],
        );
        assert_eq!(s.quota.unwrap().reset_after, Duration::ZERO);
        // Reset-after (seconds, fractional).
        let s = sig(
            200,
            &[
                ("x-ratelimit-remaining", "3"),
                ("x-ratelimit-reset-after", "0.25"),
            ],
        );
        assert_eq!(s.quota.unwrap().reset_after, Duration::from_millis(250));
        // No reset: no quota (nothing to pace over).
        assert_eq!(sig(200, &[("x-ratelimit-remaining", "3")]).quota, None);
    }

    #[test]
    fn ietf_old_draft_fields() {
        let s = sig(
            200,
            &[
                ("RateLimit-Limit", "100, 100;w=60"),
                ("RateLimit-Remaining", "7"),
                ("RateLimit-Reset", "12"),
            ],
        );
        assert_eq!(
            s.quota,
            Some(Quota {
                limit: Some(100),
                remaining: 7,
                reset_after: Duration::from_secs(12)
            })
        );
    }

    #[test]
    fn ietf_structured_fields() {
        let s = sig(
            200,
            &[
                ("RateLimit-Policy", "\"default\";q=100;w=60"),
                ("RateLimit", "\"default\";r=50;t=30"),
            ],
        );
        assert_eq!(
            s.quota,
            Some(Quota {
                limit: Some(100),
                remaining: 50,
                reset_after: Duration::from_secs(30)
            })
        );
        // Several policies: the most restrictive wins; t falls back to the policy window.
        let s = sig(
            200,
            &[
                (
                    "ratelimit-policy",
                    "\"burst\";q=100;w=1, \"day\";q=1000;w=86400;pk=:YWJj:",
                ),
                ("ratelimit", "\"burst\";r=90;t=1, \"day\";r=10"),
            ],
        );
        assert_eq!(
            s.quota,
            Some(Quota {
                limit: Some(1000),
                remaining: 10,
                reset_after: Duration::from_secs(86400)
            })
        );
        // Quoted names containing separators.
        let s = sig(200, &[("RateLimit", "\"a,b;c\";r=3;t=4")]);
        assert_eq!(
            s.quota,
            Some(Quota {
                limit: None,
                remaining: 3,
                reset_after: Duration::from_secs(4)
            })
        );
        // Draft-07 dictionary and policy forms.
        let s = sig(
            200,
            &[
                ("RateLimit", "limit=10, remaining=5, reset=30"),
                ("RateLimit-Policy", "10;w=60"),
            ],
        );
        assert_eq!(
            s.quota,
            Some(Quota {
                limit: Some(10),
                remaining: 5,
                reset_after: Duration::from_secs(30)
            })
        );
        // Mixed sources: the most restrictive (remaining 0) wins.
        let s = sig(
            403,
            &[
                ("RateLimit", "\"x\";r=50;t=30"),
                ("X-RateLimit-Remaining", "0"),
                ("X-RateLimit-Reset", "5"),
            ],
        );
        assert!(s.throttled);
        assert_eq!(s.quota.unwrap().remaining, 0);
    }

    #[test]
    fn garbage_is_ignored() {
        let cases: &[&[(&str, &str)]] = &[
            &[("RateLimit", "")],
            &[("RateLimit", ";;;,,,\"")],
            &[("RateLimit", "\"unterminated;r=5;t=3")],
            &[("RateLimit", "\"d\";r=-1;t=3")],
            &[("RateLimit", "\"d\";r=18446744073709551616;t=3")],
            &[("RateLimit", "\"d\";r=5;t=abc")],
            &[("RateLimit-Policy", "q=;w=\\")],
            &[
                ("X-RateLimit-Remaining", "lots"),
                ("X-RateLimit-Reset", "1"),
            ],
            &[("X-RateLimit-Remaining", "1"), ("X-RateLimit-Reset", "-5")],
            &[
                ("X-RateLimit-Remaining", "1"),
                ("X-RateLimit-Reset", "1e400"),
            ],
            &[(
                "Retry-After",
                "\u{1F600}\u{1F600}\u{1F600}\u{1F600}\u{1F600}\u{1F600}\u{1F600}\u{1F600}",
            )],
            &[("Retry-After", "Tue, 14 Nov 2023 22:14:20 GMT\u{e9}")],
        ];
        for h in cases {
            let s = sig(200, h);
            assert_eq!(s.quota, None, "{h:?}");
            assert!(!s.throttled);
        }
    }

    #[test]
    fn fuzz_never_panics() {
        const NAMES: [&str; 11] = [
            "retry-after",
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
            "x-ratelimit-reset-after",
            "ratelimit-limit",
            "ratelimit-remaining",
            "ratelimit-reset",
            "ratelimit",
            "ratelimit-policy",
            "content-type",
        ];
        const ALPHABET: &[u8] = b"0123456789;=,\"\\ .-qrtwp:abcGMTNov,Sun";
        let mut rng = Lcg(0xdead_beef);
        let t0 = Instant::now();
        let mut fc = FlowController::new(FlowConfig::default(), t0);
        let mut now = t0;
        for i in 0..20_000 {
            let mut values: Vec<String> = Vec::new();
            for _ in 0..(rng.next_u64() % 4) {
                let len = (rng.next_u64() % 40) as usize;
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        if i % 3 == 0 {
                            (rng.next_u64() >> 24) as u8
                        } else {
                            ALPHABET[(rng.next_u64() % ALPHABET.len() as u64) as usize]
                        }
                    })
                    .collect();
                values.push(String::from_utf8_lossy(&bytes).into_owned());
            }
            let names: Vec<&str> = values
                .iter()
                .map(|_| NAMES[(rng.next_u64() % NAMES.len() as u64) as usize])
                .collect();
            let status = [200u16, 403, 429, 503][(rng.next_u64() % 4) as usize];
            let s = read_signal(
                status,
                names.iter().copied().zip(values.iter().map(String::as_str)),
                sys(),
            );
            // Feed the controller too: it must stay sane whatever the signals say.
            if fc.try_acquire(now).is_ok() {
                fc.on_response(now, &s, rng.f64());
            }
            now += ms(rng.next_u64() % 50);
            if let Some(r) = fc.current_rate() {
                assert!(r.is_finite() && r > 0.0);
            }
            if let Some(h) = fc.held_until() {
                assert!(h <= now + Duration::from_secs(331));
            }
        }
    }
}

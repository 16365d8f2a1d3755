//! The time budget of one action, derived from Pacemaker's operation timeout.
//!
//! Pacemaker kills an agent when `OCF_RESKEY_CRM_meta_timeout` expires, and a killed stop means
//! fencing. An agent therefore works against a deadline that ends *before* the timeout, leaving
//! a margin to report a proper result (and exit reason) instead of being killed.
//!
//! # Rule
//!
//! With `T` the operation timeout (the meta `timeout`; when it is missing or 0, the per-action
//! default the agent advertises in its meta-data, or [`FALLBACK_TIMEOUT`]):
//!
//! - `margin = max(2 s, T / 10)`;
//! - `budget = max(T − margin, T / 2)`, i.e. the margin never takes more than half of `T`;
//! - `deadline = start + budget`, where `start` is when the agent process began the action.
//!
//! | `T` | margin | budget |
//! |---|---|---|
//! | 1 s | 2 s | 0.5 s (half) |
//! | 4 s | 2 s | 2 s |
//! | 20 s | 2 s | 18 s |
//! | 30 s | 3 s | 27 s |
//! | 90 s | 9 s | 81 s |
//! | 120 s | 12 s | 108 s |

use std::time::{Duration, Instant};

/// The smallest margin kept between the deadline and Pacemaker's timeout.
pub const MIN_MARGIN: Duration = Duration::from_secs(2);

/// The timeout assumed when neither the meta attribute nor the agent gives one.
pub const FALLBACK_TIMEOUT: Duration = Duration::from_secs(20);

/// Returns the working budget for an operation timeout (see the [module docs](self)).
pub fn budget(timeout: Duration) -> Duration {
    let margin = MIN_MARGIN.max(timeout / 10);
    timeout.saturating_sub(margin).max(timeout / 2)
}

/// Returns `start + budget(timeout)`.
pub fn deadline(start: Instant, timeout: Duration) -> Instant {
    start + budget(timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn budget_table() {
        let table = [
            // (timeout, expected budget)
            (ms(0), ms(0)),
            (ms(1_000), ms(500)),
            (ms(1_500), ms(750)),
            (ms(3_000), ms(1_500)),
            (ms(4_000), ms(2_000)),
            (ms(5_000), ms(3_000)),
            (ms(10_000), ms(8_000)),
            (ms(20_000), ms(18_000)),
            (ms(30_000), ms(27_000)),
            (ms(60_000), ms(54_000)),
            (ms(90_000), ms(81_000)),
            (ms(100_000), ms(90_000)),
            (ms(120_000), ms(108_000)),
            (ms(240_000), ms(216_000)),
            (ms(600_000), ms(540_000)),
        ];
        for (timeout, expected) in table {
            assert_eq!(budget(timeout), expected, "timeout {timeout:?}");
        }
    }

    #[test]
    fn budget_never_below_half_and_margin_at_least_two_seconds() {
        for secs in 0..400u64 {
            let t = ms(secs * 250);
            let b = budget(t);
            assert!(b >= t / 2, "{t:?}");
            assert!(b <= t, "{t:?}");
            if t >= ms(4_000) {
                assert!(t - b >= MIN_MARGIN, "{t:?}");
            }
        }
    }

    #[test]
    fn deadline_adds_budget() {
        let start = Instant::now();
        assert_eq!(deadline(start, ms(20_000)), start + ms(18_000));
        assert_eq!(deadline(start, ms(100_000)), start + ms(90_000));
        assert_eq!(deadline(start, ms(0)), start);
    }
}

//! The chaos run's seeded generator (SplitMix64): the same seed draws the same faults and
//! operations in the same order. Each actor (the fault injector, each operator) has its own
//! stream derived from the seed, so one actor's draws do not depend on the others' timing.

/// A SplitMix64 stream.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// The stream of actor `actor` for run seed `seed`.
    pub fn new(seed: u64, actor: u64) -> Rng {
        let mut r = Rng(seed ^ actor.wrapping_mul(0xA076_1D64_78BD_642F));
        r.next_u64();
        r
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi` (`lo` when `hi < lo`).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        let span = hi.saturating_sub(lo).saturating_add(1);
        lo.saturating_add(self.next_u64() % span)
    }

    /// One element of a non-empty slice (`None` when empty).
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> Option<&'a T> {
        if xs.is_empty() {
            return None;
        }
        let len = u64::try_from(xs.len()).unwrap_or(u64::MAX);
        let i = usize::try_from(self.next_u64() % len).unwrap_or(0);
        xs.get(i)
    }

    /// An index drawn by weight (`weights` must not be all zero; 0 otherwise).
    pub fn weighted(&mut self, weights: &[u64]) -> usize {
        let total: u64 = weights.iter().fold(0u64, |a, w| a.saturating_add(*w));
        if total == 0 {
            return 0;
        }
        let mut x = self.next_u64() % total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len().saturating_sub(1)
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    fn draws(seed: u64, actor: u64) -> Vec<u64> {
        let mut r = Rng::new(seed, actor);
        (0..5).map(|_| r.next_u64()).collect()
    }

    #[test]
    fn the_same_seed_draws_the_same_stream_and_actors_differ() {
        assert_eq!(draws(16, 0), draws(16, 0));
        assert_ne!(draws(16, 0), draws(16, 1));
        assert_ne!(draws(16, 0), draws(17, 0));
    }

    #[test]
    fn range_pick_and_weighted_stay_in_bounds_and_reach_every_value() {
        let mut r = Rng::new(1, 2);
        let mut seen = [false; 4];
        for _ in 0..400 {
            let x = r.range(3, 6);
            assert!((3..=6).contains(&x));
            seen[usize::try_from(x - 3).unwrap()] = true;
        }
        assert_eq!(seen, [true; 4]);
        assert_eq!(r.range(5, 2), 5);
        assert_eq!(r.pick::<u8>(&[]), None);
        assert_eq!(r.pick(&[7]), Some(&7));
        for _ in 0..100 {
            assert_ne!(r.weighted(&[0, 3, 0, 1]), 0);
            assert_ne!(r.weighted(&[0, 3, 0, 1]), 2);
        }
        assert_eq!(r.weighted(&[0, 0]), 0);
    }
}

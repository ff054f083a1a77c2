//! One `u64` seed derives everything: every part of a run asks for its own sub-seed by purpose,
//! so adding a new consumer of randomness never shifts the others.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The seeds of one run, all derived from the run seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seeds {
    run: u64,
}

impl Seeds {
    /// The seeds of the run with seed `run`.
    pub fn new(run: u64) -> Self {
        Seeds { run }
    }

    /// The run seed itself.
    pub fn run(&self) -> u64 {
        self.run
    }

    /// A sub-seed for `purpose` (e.g. "turmoil", "nemesis", "node") and `index` (e.g. a node
    /// id, or a node id and incarnation packed by [`Seeds::pack`]).
    pub fn derive(&self, purpose: &str, index: u64) -> u64 {
        let mut hash = 0xcbf2_9ce4_8422_2325_u64; // FNV-1a offset basis
        for byte in purpose.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        splitmix64(self.run ^ splitmix64(hash ^ splitmix64(index)))
    }

    /// A generator for `purpose` and `index`, seeded by [`Seeds::derive`].
    pub fn rng(&self, purpose: &str, index: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(self.derive(purpose, index))
    }

    /// Pack two small numbers into one index (e.g. node id and incarnation).
    pub fn pack(high: u64, low: u64) -> u64 {
        (high << 32) ^ low
    }
}

/// The SplitMix64 finaliser: a bijective mix of 64 bits.
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_seeds_depend_on_run_purpose_and_index() {
        let seeds = Seeds::new(7);
        assert_eq!(
            seeds.derive("nemesis", 0),
            Seeds::new(7).derive("nemesis", 0)
        );
        assert_ne!(seeds.derive("nemesis", 0), seeds.derive("workload", 0));
        assert_ne!(seeds.derive("node", 1), seeds.derive("node", 2));
        assert_ne!(seeds.derive("node", 1), Seeds::new(8).derive("node", 1));
    }
}

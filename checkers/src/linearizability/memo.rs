//! Lowe's memoization: the set of configurations (linearized operations, model state) already
//! explored, stored without an allocation per entry.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hash, Hasher};

const NONE: u32 = u32::MAX;

/// A set of configurations: bitsets of linearized operations, each with a state.
pub(crate) struct Memo<S> {
    words: usize,
    bits: Vec<u64>,
    states: Vec<S>,
    chain: Vec<u32>,
    heads: HashMap<u64, u32, BuildHasherDefault<PassThrough>>,
}

impl<S: Clone + Eq> Memo<S> {
    /// An empty set for bitsets of `words` words.
    pub(crate) fn new(words: usize) -> Memo<S> {
        Memo {
            words,
            bits: Vec::new(),
            states: Vec::new(),
            chain: Vec::new(),
            heads: HashMap::default(),
        }
    }

    /// Inserts a configuration whose hash is `hash`; false if it was already there.
    pub(crate) fn insert(&mut self, hash: u64, bits: &[u64], state: &S) -> bool {
        debug_assert_eq!(bits.len(), self.words);
        let new = self.states.len() as u32;
        match self.heads.entry(hash) {
            Entry::Occupied(mut head) => {
                let mut at = *head.get();
                while at != NONE {
                    let i = at as usize;
                    if self.states[i] == *state
                        && self.bits[i * self.words..(i + 1) * self.words] == *bits
                    {
                        return false;
                    }
                    at = self.chain[i];
                }
                self.chain.push(*head.get());
                head.insert(new);
            }
            Entry::Vacant(slot) => {
                self.chain.push(NONE);
                slot.insert(new);
            }
        }
        self.bits.extend_from_slice(bits);
        self.states.push(state.clone());
        true
    }
}

/// A hasher for keys that are already well-mixed 64-bit hashes.
#[derive(Default)]
pub(crate) struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = mix(self.0 ^ u64::from(byte));
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// A fast, non-cryptographic hasher (FxHash's rotate-xor-multiply), for model states.
#[derive(Default)]
pub(crate) struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        mix(self.0)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(tail) ^ (rest.len() as u64) << 56);
    }

    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    fn write_u32(&mut self, value: u32) {
        self.add(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.add(value);
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }
}

impl FastHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// The hash of a state.
pub(crate) fn hash_state<S: Hash>(state: &S) -> u64 {
    let mut hasher = FastHasher::default();
    state.hash(&mut hasher);
    hasher.finish()
}

/// SplitMix64's finalizer: spreads every input bit over the output.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_each_configuration_once() {
        let mut memo = Memo::new(2);
        assert!(memo.insert(7, &[1, 0], &"a"));
        assert!(!memo.insert(7, &[1, 0], &"a"));
        // Same hash, different bits or state: distinct configurations.
        assert!(memo.insert(7, &[1, 1], &"a"));
        assert!(memo.insert(7, &[1, 0], &"b"));
        assert!(!memo.insert(7, &[1, 1], &"a"));
        assert!(memo.insert(8, &[1, 0], &"a"));
    }

    #[test]
    fn state_hashes_differ() {
        assert_ne!(hash_state(&1i64), hash_state(&2i64));
        assert_ne!(hash_state(&"ab"), hash_state(&"ba"));
    }
}

//! Lowe's memoization: the set of configurations (linearized operations, model state) already
//! explored, stored without an allocation per entry.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hash, Hasher};

const NONE: u32 = u32::MAX;

/// The configurations explored: for each set of linearized determinate calls and state, the
/// sets of linearized indeterminate calls ("variants") it was reached with.
///
/// A configuration is skipped if it was reached before, or if one with the same determinate
/// calls and state but only a subset of its indeterminate calls has been fully explored: that
/// one could do everything this one can (an indeterminate call never has to take effect, and
/// has no return to constrain the order).
///
/// The indeterminate sets are interned: a set only grows as the search linearizes
/// indeterminate calls, which is rare, so most configurations share their set with the one
/// before, and each holds a number rather than a bitset as long as the history's indeterminate
/// calls so far (which made a long history's memo grow faster than its length).
pub(crate) struct Memo<S> {
    /// The determinate sets' encodings, end to end.
    keys: Vec<u64>,
    /// Where each entry's encoding starts in `keys`, and how long it is.
    spans: Vec<(usize, u32)>,
    states: Vec<S>,
    /// The next entry with the same hash, or NONE.
    chain: Vec<u32>,
    heads: HashMap<u64, u32, BuildHasherDefault<PassThrough>>,
    /// Each entry's first variant, or NONE.
    first_variant: Vec<u32>,
    /// Each variant's indeterminate set, interned in `sets`.
    variant_set: Vec<u32>,
    /// The entry's next variant, or NONE.
    variant_next: Vec<u32>,
    /// Whether the variant has been fully explored (and so has no linearization).
    variant_done: Vec<bool>,
    /// The distinct indeterminate sets.
    sets: Interned,
}

/// Distinct bitsets, each stored once and named by a number.
#[derive(Default)]
struct Interned {
    /// The bitsets, end to end.
    words: Vec<u64>,
    /// Where each set starts in `words`, and how long it is.
    spans: Vec<(usize, u32)>,
    /// The next set with the same hash, or NONE.
    chain: Vec<u32>,
    heads: HashMap<u64, u32, BuildHasherDefault<PassThrough>>,
}

impl Interned {
    /// The number of `set` (whose hash is `hash`), stored if new.
    fn intern(&mut self, hash: u64, set: &[u64]) -> u32 {
        let new = self.spans.len() as u32;
        match self.heads.entry(hash) {
            Entry::Occupied(mut head) => {
                let mut at = *head.get();
                while at != NONE {
                    let (start, len) = self.spans[at as usize];
                    if self.words[start..start + len as usize] == *set {
                        return at;
                    }
                    at = self.chain[at as usize];
                }
                self.chain.push(*head.get());
                head.insert(new);
            }
            Entry::Vacant(slot) => {
                self.chain.push(NONE);
                slot.insert(new);
            }
        }
        self.spans.push((self.words.len(), set.len() as u32));
        self.words.extend_from_slice(set);
        new
    }

    /// The set numbered `id`.
    fn get(&self, id: u32) -> &[u64] {
        let (start, len) = self.spans[id as usize];
        &self.words[start..start + len as usize]
    }

    fn heap_bytes(&self) -> usize {
        vec_bytes(&self.words)
            + vec_bytes(&self.spans)
            + vec_bytes(&self.chain)
            + self.heads.capacity() * (std::mem::size_of::<(u64, u32)>() + 1)
    }
}

impl<S: Eq> Memo<S> {
    /// An empty memo.
    pub(crate) fn new() -> Memo<S> {
        Memo {
            keys: Vec::new(),
            spans: Vec::new(),
            states: Vec::new(),
            chain: Vec::new(),
            heads: HashMap::default(),
            first_variant: Vec::new(),
            variant_set: Vec::new(),
            variant_next: Vec::new(),
            variant_done: Vec::new(),
            sets: Interned::default(),
        }
    }

    /// Records the initial configuration (nothing linearized, `state`), which is never
    /// visited, and returns its entry: the search stands in it at the start.
    pub(crate) fn initial(&mut self, state: S) -> u32 {
        self.entry(u64::MAX, &[u64::MAX], state) as u32
    }

    /// The state of an entry.
    pub(crate) fn state(&self, entry: u32) -> &S {
        &self.states[entry as usize]
    }

    /// Records a configuration about to be explored: `hash` hashes the determinate set and the
    /// state, which the memo keeps (its copy is the search's), and `indeterminate_hash` the
    /// indeterminate set. Returns the entry holding the state and the variant to
    /// [`Memo::finish`] once explored, or `None` if the configuration need not be explored.
    pub(crate) fn visit(
        &mut self,
        hash: u64,
        determinate: &[u64],
        state: S,
        indeterminate_hash: u64,
        indeterminate: &[u64],
    ) -> Option<(u32, u32)> {
        let entry = self.entry(hash, determinate, state);
        let set = self.sets.intern(indeterminate_hash, indeterminate);
        let mut at = self.first_variant[entry];
        while at != NONE {
            let v = at as usize;
            let seen = self.variant_set[v];
            if seen == set
                || (self.variant_done[v] && is_subset(self.sets.get(seen), indeterminate))
            {
                return None;
            }
            at = self.variant_next[v];
        }
        let variant = self.variant_done.len() as u32;
        self.variant_set.push(set);
        self.variant_next.push(self.first_variant[entry]);
        self.variant_done.push(false);
        self.first_variant[entry] = variant;
        Some((entry as u32, variant))
    }

    /// Configurations recorded so far.
    pub(crate) fn len(&self) -> usize {
        self.variant_done.len()
    }

    /// The bytes the memo has allocated (its vectors' and table's capacities; a state's own
    /// heap, such as a long string's, is not counted).
    pub(crate) fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        vec_bytes(&self.keys)
            + vec_bytes(&self.spans)
            + vec_bytes(&self.states)
            + vec_bytes(&self.chain)
            + self.heads.capacity() * (size_of::<(u64, u32)>() + 1)
            + vec_bytes(&self.first_variant)
            + vec_bytes(&self.variant_set)
            + vec_bytes(&self.variant_next)
            + vec_bytes(&self.variant_done)
            + self.sets.heap_bytes()
    }

    /// Marks a variant fully explored: it has no linearization.
    pub(crate) fn finish(&mut self, variant: u32) {
        self.variant_done[variant as usize] = true;
    }

    /// The entry of a determinate set and state, created (keeping `state`) if new.
    fn entry(&mut self, hash: u64, key: &[u64], state: S) -> usize {
        let new = self.states.len() as u32;
        match self.heads.entry(hash) {
            Entry::Occupied(mut head) => {
                let mut at = *head.get();
                while at != NONE {
                    let i = at as usize;
                    let (start, len) = self.spans[i];
                    if self.states[i] == state && self.keys[start..start + len as usize] == *key {
                        return i;
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
        self.spans.push((self.keys.len(), key.len() as u32));
        self.keys.extend_from_slice(key);
        self.states.push(state);
        self.first_variant.push(NONE);
        new as usize
    }
}

/// The bytes a vector has allocated.
pub(crate) fn vec_bytes<T>(vector: &Vec<T>) -> usize {
    vector.capacity() * std::mem::size_of::<T>()
}

/// Whether bitset `a` is a subset of bitset `b` (missing words are zero).
fn is_subset(a: &[u64], b: &[u64]) -> bool {
    a.iter()
        .enumerate()
        .all(|(i, word)| word & !b.get(i).copied().unwrap_or(0) == 0)
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
    fn visits_each_configuration_once() {
        let mut memo = Memo::new();
        assert!(memo.visit(7, &[1, 0], "a", 0, &[]).is_some());
        assert!(memo.visit(7, &[1, 0], "a", 0, &[]).is_none());
        // Same hash, different determinate set or state: distinct configurations.
        assert!(memo.visit(7, &[1, 1], "a", 0, &[]).is_some());
        assert!(memo.visit(7, &[1, 0], "b", 0, &[]).is_some());
        assert!(memo.visit(8, &[1, 0], "a", 0, &[]).is_some());
        // Same indeterminate hash, different sets: distinct configurations.
        assert!(memo.visit(7, &[1, 0], "a", 0, &[0b1]).is_some());
        assert!(memo.visit(7, &[1, 0], "a", 0, &[0b1]).is_none());
    }

    #[test]
    fn a_configuration_dominated_by_an_explored_one_is_skipped() {
        let mut memo = Memo::new();
        let (_, fewer) = memo.visit(1, &[1], 0, 1, &[0b001]).unwrap();
        // Not yet explored: a superset is still visited.
        let more = memo.visit(1, &[1], 0, 3, &[0b011]);
        assert!(more.is_some());
        memo.finish(fewer);
        assert!(memo.visit(1, &[1], 0, 5, &[0b101]).is_none());
        // Not a superset: visited.
        assert!(memo.visit(1, &[1], 0, 6, &[0b110]).is_some());
    }

    #[test]
    fn state_hashes_differ() {
        assert_ne!(hash_state(&1i64), hash_state(&2i64));
        assert_ne!(hash_state(&"ab"), hash_state(&"ba"));
    }
}

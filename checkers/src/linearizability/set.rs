//! The set of linearized calls of a configuration, with a compact canonical encoding for the
//! memo: determinate calls (in call order) as a run of all-linearized words, skipped, then the
//! window of words after it; indeterminate calls as their own, usually short, bitset.
//!
//! A plain bitset over every call would make each memo entry as long as the partition, and
//! memory quadratic in it; this encoding is as long as the window of concurrency (plus the
//! indeterminate calls), whatever the partition's length.

use crate::linearizability::memo::{mix, vec_bytes};

/// One of the two bitsets, with the bounds that make its encoding canonical.
struct Bits {
    words: Vec<u64>,
    /// Bits that exist in each word (the last word may be partial).
    len: usize,
    /// Every word before this one is full (all its bits set).
    first_open: usize,
    /// One past the last word with a bit set (0 if none).
    end: usize,
}

impl Bits {
    fn new(len: usize) -> Bits {
        Bits {
            words: vec![0; len.div_ceil(64)],
            len,
            first_open: 0,
            end: 0,
        }
    }

    fn full(&self, word: usize) -> u64 {
        let bits = (self.len - word * 64).min(64);
        if bits == 64 { !0 } else { (1u64 << bits) - 1 }
    }

    fn contains(&self, i: usize) -> bool {
        self.words[i / 64] & (1u64 << (i % 64)) != 0
    }

    fn insert(&mut self, i: usize) {
        let word = i / 64;
        self.words[word] |= 1u64 << (i % 64);
        self.end = self.end.max(word + 1);
        while self.first_open < self.words.len()
            && self.words[self.first_open] == self.full(self.first_open)
        {
            self.first_open += 1;
        }
    }

    fn remove(&mut self, i: usize) {
        let word = i / 64;
        self.words[word] &= !(1u64 << (i % 64));
        self.first_open = self.first_open.min(word);
        while self.end > 0 && self.words[self.end - 1] == 0 {
            self.end -= 1;
        }
    }
}

/// Which calls a configuration has linearized.
pub(crate) struct LinearizedSet {
    /// For each call: whether it is indeterminate, and its index among its kind.
    slot: Vec<(bool, u32)>,
    determinate: Bits,
    indeterminate: Bits,
    zobrist: Vec<u64>,
    /// The Zobrist hash of the linearized determinate calls.
    hash: u64,
    /// The Zobrist hash of the linearized indeterminate calls.
    indeterminate_hash: u64,
}

impl LinearizedSet {
    /// An empty set over calls whose determinacy is `determinate[i]`, in call order.
    pub(crate) fn new(determinate: impl Iterator<Item = bool>) -> LinearizedSet {
        let (mut counts, mut slot) = ([0u32; 2], Vec::new());
        for is_determinate in determinate {
            let kind = usize::from(!is_determinate);
            slot.push((!is_determinate, counts[kind]));
            counts[kind] += 1;
        }
        let zobrist = (0..slot.len() as u64)
            .map(|i| mix(i.wrapping_add(0x9e37_79b9_7f4a_7c15)))
            .collect();
        LinearizedSet {
            slot,
            determinate: Bits::new(counts[0] as usize),
            indeterminate: Bits::new(counts[1] as usize),
            zobrist,
            hash: 0,
            indeterminate_hash: 0,
        }
    }

    /// The bytes the set has allocated.
    pub(crate) fn heap_bytes(&self) -> usize {
        vec_bytes(&self.slot)
            + vec_bytes(&self.determinate.words)
            + vec_bytes(&self.indeterminate.words)
            + vec_bytes(&self.zobrist)
    }

    fn bits(&mut self, call: usize) -> (&mut Bits, usize) {
        let (indeterminate, index) = self.slot[call];
        let bits = if indeterminate {
            &mut self.indeterminate
        } else {
            &mut self.determinate
        };
        (bits, index as usize)
    }

    /// Whether `call` is linearized.
    pub(crate) fn contains(&self, call: usize) -> bool {
        let (indeterminate, index) = self.slot[call];
        if indeterminate {
            self.indeterminate.contains(index as usize)
        } else {
            self.determinate.contains(index as usize)
        }
    }

    /// Marks `call` linearized.
    pub(crate) fn insert(&mut self, call: usize) {
        self.toggle_hash(call);
        let (bits, index) = self.bits(call);
        bits.insert(index);
    }

    /// Marks `call` not linearized.
    pub(crate) fn remove(&mut self, call: usize) {
        self.toggle_hash(call);
        let (bits, index) = self.bits(call);
        bits.remove(index);
    }

    fn toggle_hash(&mut self, call: usize) {
        if self.slot[call].0 {
            self.indeterminate_hash ^= self.zobrist[call];
        } else {
            self.hash ^= self.zobrist[call];
        }
    }

    /// A hash of the indeterminate calls linearized (Zobrist, as
    /// [`LinearizedSet::determinate_hash`]).
    pub(crate) fn indeterminate_hash(&self) -> u64 {
        self.indeterminate_hash
    }

    /// A hash of the determinate calls linearized (Zobrist: the xor of one random word per
    /// member).
    pub(crate) fn determinate_hash(&self) -> u64 {
        self.hash
    }

    /// Writes the canonical encoding of the linearized determinate calls into `out` (cleared
    /// first): two sets are equal exactly when their encodings are.
    pub(crate) fn encode_determinate(&self, out: &mut Vec<u64>) {
        out.clear();
        let d = &self.determinate;
        let window = d.first_open..d.end.max(d.first_open);
        out.push(window.start as u64 | ((window.len() as u64) << 32));
        out.extend_from_slice(&d.words[window]);
    }

    /// The linearized indeterminate calls, as a bitset without trailing zero words.
    pub(crate) fn indeterminate(&self) -> &[u64] {
        &self.indeterminate.words[..self.indeterminate.end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoding(set: &LinearizedSet) -> Vec<u64> {
        let mut out = Vec::new();
        set.encode_determinate(&mut out);
        out.extend_from_slice(set.indeterminate());
        out
    }

    #[test]
    fn equal_sets_have_equal_encodings_whatever_the_path() {
        let kinds = (0..200).map(|i| i % 7 != 0);
        let mut a = LinearizedSet::new(kinds.clone());
        let mut b = LinearizedSet::new(kinds);
        for i in 0..150 {
            a.insert(i);
        }
        for i in (0..160).rev() {
            b.insert(i);
        }
        for i in 150..160 {
            b.remove(i);
        }
        assert_eq!(encoding(&a), encoding(&b));
        assert_eq!(a.determinate_hash(), b.determinate_hash());
        b.remove(3);
        assert_ne!(encoding(&a), encoding(&b));
        assert!(!b.contains(3) && b.contains(4) && a.contains(3));
    }

    #[test]
    fn the_encoding_of_a_full_prefix_is_short() {
        let mut set = LinearizedSet::new((0..10_000).map(|_| true));
        for i in 0..9_000 {
            set.insert(i);
        }
        set.insert(9_010);
        // The header, and the one word holding calls 8,960 to 9,023; not 141 full words.
        assert_eq!(encoding(&set).len(), 2);
    }

    #[test]
    fn the_empty_set_and_a_singleton_differ() {
        let mut set = LinearizedSet::new([true, false, true].into_iter());
        let empty = encoding(&set);
        set.insert(1);
        assert_ne!(encoding(&set), empty);
        set.remove(1);
        assert_eq!(encoding(&set), empty);
    }
}

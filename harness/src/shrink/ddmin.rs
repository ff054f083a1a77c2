//! Delta debugging (Zeller and Hildebrandt's ddmin): the smallest subset of a list that still
//! fails, found by trying chunks and their complements at ever finer grain.

/// What a test of a candidate says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The candidate still shows the failure: keep it.
    Fails,
    /// It does not.
    Passes,
    /// No more tests may run (the time limit): stop with the smallest failing list so far.
    OutOfTime,
}

/// The smallest sublist of `items` (order kept) for which `test` says [`Verdict::Fails`], as
/// ddmin finds it: 1-minimal (removing any one item passes) unless time ran out. `items`
/// itself is taken to fail. The empty list is tried first.
pub fn ddmin<T: Clone>(items: Vec<T>, test: &mut dyn FnMut(&[T]) -> Verdict) -> Vec<T> {
    if items.is_empty() {
        return items;
    }
    match test(&[]) {
        Verdict::Fails => return Vec::new(),
        Verdict::OutOfTime => return items,
        Verdict::Passes => {}
    }
    let mut items = items;
    let mut granularity = 2usize;
    while items.len() >= 2 {
        let chunks = split(&items, granularity);
        let mut reduced = None;
        // Each chunk alone, then (when there are more than two) each complement.
        'search: for pass in 0..2 {
            if pass == 1 && chunks.len() <= 2 {
                break;
            }
            for index in 0..chunks.len() {
                let candidate: Vec<T> = if pass == 0 {
                    chunks[index].clone()
                } else {
                    complement(&chunks, index)
                };
                match test(&candidate) {
                    Verdict::Fails => {
                        reduced = Some((candidate, pass));
                        break 'search;
                    }
                    Verdict::OutOfTime => return items,
                    Verdict::Passes => {}
                }
            }
        }
        match reduced {
            Some((candidate, pass)) => {
                items = candidate;
                granularity = if pass == 0 {
                    2
                } else {
                    (granularity - 1).max(2)
                };
            }
            None if granularity >= items.len() => break,
            None => granularity = (granularity * 2).min(items.len()),
        }
    }
    items
}

/// One sweep of chunk removal: from the end of `items` toward its start, try leaving out each
/// run of `size` consecutive items, keeping every removal after which `test` still says
/// [`Verdict::Fails`]. `items` itself is taken to fail. Cheaper than [`ddmin`] when many items
/// matter: it never tests a chunk alone, only the list without it; called with sizes halving
/// to 1 it leaves a 1-minimal list (unless time ran out).
pub fn remove_chunks<T: Clone>(
    items: Vec<T>,
    size: usize,
    test: &mut dyn FnMut(&[T]) -> Verdict,
) -> Vec<T> {
    let size = size.max(1);
    let mut items = items;
    let mut end = items.len();
    while end > 0 {
        let start = end.saturating_sub(size);
        let candidate: Vec<T> = items[..start]
            .iter()
            .chain(&items[end..])
            .cloned()
            .collect();
        match test(&candidate) {
            Verdict::Fails => items = candidate,
            Verdict::Passes => {}
            Verdict::OutOfTime => return items,
        }
        end = start;
    }
    items
}

/// `items` cut into `parts` chunks as even as can be, in order.
fn split<T: Clone>(items: &[T], parts: usize) -> Vec<Vec<T>> {
    let parts = parts.min(items.len()).max(1);
    let mut chunks = Vec::with_capacity(parts);
    let mut start = 0;
    for part in 0..parts {
        let end = start + (items.len() - start) / (parts - part);
        chunks.push(items[start..end].to_vec());
        start = end;
    }
    chunks
}

/// Every chunk but the `skip`-th, concatenated in order.
fn complement<T: Clone>(chunks: &[Vec<T>], skip: usize) -> Vec<T> {
    let others = chunks.iter().enumerate().filter(|(i, _)| *i != skip);
    others
        .flat_map(|(_, chunk)| chunk.iter().cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failure that needs three scattered items is shrunk to exactly those three.
    #[test]
    fn finds_the_items_the_failure_needs() {
        let items: Vec<u32> = (0..100).collect();
        let mut tests = 0;
        let mut test = |candidate: &[u32]| {
            tests += 1;
            if [7, 42, 93].iter().all(|needed| candidate.contains(needed)) {
                Verdict::Fails
            } else {
                Verdict::Passes
            }
        };
        assert_eq!(ddmin(items, &mut test), [7, 42, 93]);
        assert!(tests < 200, "{tests} tests");
    }

    #[test]
    fn a_failure_needing_nothing_shrinks_to_nothing() {
        let mut test = |_: &[u32]| Verdict::Fails;
        assert_eq!(ddmin(vec![1, 2, 3], &mut test), Vec::<u32>::new());
    }

    /// Out of time, the smallest failing list found so far is the answer.
    #[test]
    fn out_of_time_keeps_the_smallest_failing_list_so_far() {
        let mut budget = 3;
        let mut test = |candidate: &[u32]| {
            budget -= 1;
            if budget < 0 {
                Verdict::OutOfTime
            } else if candidate.contains(&1) {
                Verdict::Fails
            } else {
                Verdict::Passes
            }
        };
        let shrunk = ddmin((0..8).collect(), &mut test);
        assert!(shrunk.contains(&1) && shrunk.len() < 8, "{shrunk:?}");
    }

    /// Sweeps of halving chunk sizes keep exactly the items the failure needs, and never
    /// test more than about twice the list's length.
    #[test]
    fn removing_chunks_keeps_the_items_the_failure_needs() {
        let mut items: Vec<u32> = (0..64).collect();
        let mut tests = 0;
        let mut test = |candidate: &[u32]| {
            tests += 1;
            if [3, 4, 40].iter().all(|needed| candidate.contains(needed)) {
                Verdict::Fails
            } else {
                Verdict::Passes
            }
        };
        let mut size = 32;
        while size >= 1 {
            items = remove_chunks(items, size, &mut test);
            size /= 2;
        }
        assert_eq!(items, [3, 4, 40]);
        assert!(tests <= 128, "{tests} tests");
    }

    /// A sweep removes the later chunks first, and keeps the list when nothing can go.
    #[test]
    fn a_sweep_goes_from_the_end_and_keeps_what_must_stay() {
        let mut tried = Vec::new();
        let mut test = |candidate: &[u32]| {
            tried.push(candidate.to_vec());
            Verdict::Passes
        };
        assert_eq!(
            remove_chunks(vec![1, 2, 3, 4, 5], 2, &mut test),
            [1, 2, 3, 4, 5]
        );
        assert_eq!(tried, [vec![1, 2, 3], vec![1, 4, 5], vec![2, 3, 4, 5]]);
    }

    #[test]
    fn split_is_even_and_ordered() {
        let chunks = split(&[1, 2, 3, 4, 5], 2);
        assert_eq!(chunks, [vec![1, 2], vec![3, 4, 5]]);
        assert_eq!(complement(&chunks, 0), [3, 4, 5]);
        assert_eq!(split(&[1, 2], 5).len(), 2);
    }
}

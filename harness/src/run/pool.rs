//! Seeds run side by side: `jobs` threads take the next seed in order until the seeds run out
//! or the caller says stop. Shared by `rafty test` (the suite) and `rafty catalogue --run`.

use std::sync::Mutex;

/// Run `work` on each of `seeds`, `jobs` at once (each on its own thread), handing seeds out
/// in order. Once `stop` returns true no new seed starts (those running finish). Returns what
/// each finished seed gave, sorted by seed.
pub fn run_seeds<R: Send>(
    seeds: &[u64],
    jobs: usize,
    stop: impl Fn() -> bool + Sync,
    work: impl Fn(u64) -> R + Sync,
) -> Vec<(u64, R)> {
    let next = Mutex::new(0usize);
    let finished = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, seeds.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let seed = {
                        let mut next = next.lock().unwrap_or_else(|p| p.into_inner());
                        if stop() {
                            return;
                        }
                        let Some(&seed) = seeds.get(*next) else {
                            return;
                        };
                        *next += 1;
                        seed
                    };
                    let result = work(seed);
                    let mut finished = finished.lock().unwrap_or_else(|p| p.into_inner());
                    finished.push((seed, result));
                }
            });
        }
    });
    let mut finished = finished.into_inner().unwrap_or_else(|p| p.into_inner());
    finished.sort_by_key(|(seed, _)| *seed);
    finished
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    #[test]
    fn every_seed_runs_once_and_comes_back_in_order() {
        let seeds: Vec<u64> = (10..30).rev().collect();
        let done = run_seeds(&seeds, 3, || false, |seed| seed * 2);
        let mut expected: Vec<(u64, u64)> = seeds.iter().map(|&s| (s, s * 2)).collect();
        expected.sort_unstable();
        assert_eq!(done, expected);
    }

    /// With one job, stopping after seed 3 starts nothing after it.
    #[test]
    fn no_seed_starts_after_stop() {
        let stopped = AtomicBool::new(false);
        let seeds: Vec<u64> = (1..=10).collect();
        let done = run_seeds(
            &seeds,
            1,
            || stopped.load(Ordering::SeqCst),
            |seed| {
                if seed == 3 {
                    stopped.store(true, Ordering::SeqCst);
                }
            },
        );
        let ran: Vec<u64> = done.iter().map(|(seed, ())| *seed).collect();
        assert_eq!(ran, [1, 2, 3]);
    }
}

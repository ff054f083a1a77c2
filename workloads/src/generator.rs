//! A seeded generator of client operations.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::WorkloadConfig;
use crate::op::ClientOp;
use crate::workload::{Draws, TxnDraws};

/// Register values are drawn from `0..REGISTER_VALUES`, as Jepsen's cas-register workload does:
/// a small range makes compare-and-sets succeed often enough to matter.
pub const REGISTER_VALUES: i64 = 5;

/// Produces one client's operations. Each client has its own generator, derived from the run
/// seed and the client's index, so clients are independent and the whole run reproducible.
#[derive(Clone, Debug)]
pub struct Generator {
    config: WorkloadConfig,
    client: u64,
    rng: ChaCha8Rng,
    /// Writes issued so far.
    writes: u64,
    /// Operations issued so far (moves a transactional workload's active keys).
    ops: u64,
    /// Unique values drawn so far ([`TxnDraws::unique`]).
    drawn: u64,
}

impl Generator {
    /// The generator of client number `client` in a run seeded with `seed`.
    pub fn for_client(config: WorkloadConfig, seed: u64, client: u64) -> Generator {
        let stream = seed ^ client.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        Generator {
            config,
            client,
            rng: ChaCha8Rng::seed_from_u64(stream),
            writes: 0,
            ops: 0,
            drawn: 0,
        }
    }

    /// Every key the workload uses, in order.
    pub fn keys(&self) -> Vec<String> {
        keys(&self.config)
    }

    /// The next operation.
    pub fn next_op(&mut self) -> ClientOp {
        let first_key = match self.config.key_rotation {
            0 => 0,
            every => (self.ops / every) as usize,
        };
        self.ops += 1;
        let draws = TxnDraws {
            client: self.client,
            config: &self.config,
            first_key,
            drawn: &mut self.drawn,
            rng: &mut self.rng,
        };
        if let Some(op) = self.config.kind.workload().transaction(draws) {
            return op;
        }
        let key = self.pick_key();
        let mix = self.config.mix;
        let roll = self
            .rng
            .random_range(0..mix.read + mix.write + self.config.cas_weight());
        if roll < mix.read {
            return self.read(key);
        }
        let workload = self.config.kind.workload();
        if roll < mix.read + mix.write {
            self.writes += 1;
            return workload.write(key, self.draws());
        }
        workload.cas(key, self.draws())
    }

    /// A read of `key` in this workload's vocabulary (used for the final reads).
    pub fn read(&self, key: String) -> ClientOp {
        self.config.kind.workload().final_read(key, &self.config)
    }

    /// How long the client waits before its next operation: uniform in `[0, 2 * mean)`, so
    /// that the clients together issue about `rate_per_second` operations a second.
    pub fn think_time(&mut self) -> Duration {
        let mean_micros = self.config.mean_think_time().as_micros().max(1) as u64;
        Duration::from_micros(self.rng.random_range(0..2 * mean_micros))
    }

    fn pick_key(&mut self) -> String {
        let index = self.rng.random_range(0..self.config.key_count);
        key_name(index)
    }

    fn draws(&mut self) -> Draws<'_> {
        Draws {
            client: self.client,
            writes: self.writes,
            rng: &mut self.rng,
        }
    }
}

/// Every key a workload with `config` uses, in order.
pub fn keys(config: &WorkloadConfig) -> Vec<String> {
    (0..config.key_count).map(key_name).collect()
}

/// The name of key number `index`: `k<index>`.
pub fn key_name(index: usize) -> String {
    format!("k{index}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::OperationMix;
    use crate::workload::WorkloadKind;

    fn take(generator: &mut Generator, count: usize) -> Vec<ClientOp> {
        (0..count).map(|_| generator.next_op()).collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_operations() {
        let config = WorkloadConfig::new(WorkloadKind::named("kv").unwrap());
        let first = take(&mut Generator::for_client(config.clone(), 7, 2), 200);
        let second = take(&mut Generator::for_client(config.clone(), 7, 2), 200);
        assert_eq!(first, second);
        let other_seed = take(&mut Generator::for_client(config.clone(), 8, 2), 200);
        assert_ne!(first, other_seed);
        let other_client = take(&mut Generator::for_client(config, 7, 3), 200);
        assert_ne!(first, other_client);
    }

    #[test]
    fn operations_follow_the_mix_and_stay_within_the_keys() {
        let mut config = WorkloadConfig::new(WorkloadKind::named("kv").unwrap());
        config.mix = OperationMix {
            read: 1,
            write: 0,
            cas: 1,
        };
        config.key_count = 3;
        let ops = take(&mut Generator::for_client(config, 1, 0), 1000);
        let reads = ops.iter().filter(|op| op.is_read()).count();
        let cas = ops
            .iter()
            .filter(|op| matches!(op, ClientOp::Cas { .. }))
            .count();
        assert_eq!(reads + cas, 1000, "no writes when their weight is 0");
        assert!((400..600).contains(&reads), "about half reads, got {reads}");
        assert!(ops.iter().all(|op| ["k0", "k1", "k2"].contains(&op.key())));
    }

    #[test]
    fn appends_are_unique_and_the_append_workload_issues_no_cas() {
        let config = WorkloadConfig::new(WorkloadKind::named("append").unwrap());
        let ops = take(&mut Generator::for_client(config, 3, 4), 500);
        let mut appended: Vec<&str> = ops
            .iter()
            .filter_map(|op| match op {
                ClientOp::Append { value, .. } => Some(value.as_str()),
                _ => None,
            })
            .collect();
        assert!(!appended.is_empty());
        assert!(
            ops.iter()
                .all(|op| !matches!(op, ClientOp::Cas { .. } | ClientOp::Read { .. }))
        );
        let count = appended.len();
        appended.sort_unstable();
        appended.dedup();
        assert_eq!(appended.len(), count, "every appended value is unique");
    }

    /// Elle needs every appended value unique across clients, and the keys to rotate so
    /// that no list grows without bound.
    #[test]
    fn list_append_values_are_unique_across_clients_and_its_keys_rotate() {
        use crate::txn::Mop;
        let config = WorkloadConfig::new(WorkloadKind::named("list-append").unwrap());
        let mut appended = Vec::new();
        let mut keys_of_client_0 = Vec::new();
        for client in 0..config.concurrency as u64 {
            let ops = take(&mut Generator::for_client(config.clone(), 9, client), 300);
            for op in &ops {
                let ClientOp::Txn { mops, .. } = op else {
                    panic!("not a transaction: {op:?}")
                };
                assert!((1..=config.txn_ops).contains(&mops.len()));
                for mop in mops {
                    if let Mop::Append { value, .. } = mop {
                        appended.push(*value);
                    }
                    if client == 0 {
                        keys_of_client_0.push(mop.key()[1..].parse::<usize>().unwrap());
                    }
                }
            }
        }
        let count = appended.len();
        appended.sort_unstable();
        appended.dedup();
        assert_eq!(appended.len(), count, "every appended value is unique");
        let first: Vec<usize> = keys_of_client_0.iter().take(20).copied().collect();
        assert!(first.iter().all(|&key| key < 10 + 20 / 3), "{first:?}");
        let last = *keys_of_client_0.last().unwrap();
        assert!(last >= 300 / 3 - 1, "the window moved on: last key k{last}");
    }

    #[test]
    fn think_time_averages_to_the_configured_rate() {
        let mut config = WorkloadConfig::new(WorkloadKind::named("register").unwrap());
        config.concurrency = 10;
        config.rate_per_second = 100; // mean 100 ms per client
        let mut generator = Generator::for_client(config, 5, 0);
        let total: Duration = (0..2000).map(|_| generator.think_time()).sum();
        let mean_ms = total.as_millis() / 2000;
        assert!((90..110).contains(&mean_ms), "mean think time {mean_ms} ms");
    }
}

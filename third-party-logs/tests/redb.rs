//! The redb log under every suite, through the one call: conformance, power loss (on rafty's
//! `FileSystem` through redb's `StorageBackend`), process crash (`kill -9`) and a chaos run of
//! a 3-node cluster with power faults.

use rafty_third_party_logs::RedbFactory;

#[test]
fn redb_log_passes_every_suite() {
    rafty_testing::log::run_all(RedbFactory::default());
}

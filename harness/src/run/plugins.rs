//! The pluggable parts of a run: which `Log` and `StateMachine` each node gets, and any
//! adjustment of the nodes' options. Each run gets fresh factories (fresh durable state).

use std::sync::Arc;

use crate::sim::cluster::NodeHook;
use crate::sim::factories::{
    KvStateMachineFactory, MemoryLogFactory, SharedLogFactory, SharedStateMachineFactory,
};

use super::config::{LogKind, TestConfig, Variant};
use crate::sim::broken::ForgetfulLogFactory;
use crate::sim::turmoil_fs::{FileLogFactory, SIM_SEGMENT_BYTES};
use crate::sim::user_peers::SharedPeersProviders;

/// Makes a fresh log factory for each run, from the run's seed (for any randomness the
/// factory's storage simulates, such as torn writes).
pub type LogFactoryMaker = Arc<dyn Fn(u64) -> SharedLogFactory + Send + Sync>;
/// Makes a fresh state machine factory for each run.
pub type StateMachineFactoryMaker = Arc<dyn Fn() -> SharedStateMachineFactory + Send + Sync>;

/// The parts a run plugs into its nodes.
#[derive(Clone)]
pub struct Plugins {
    /// Each node's log.
    pub log: LogFactoryMaker,
    /// Each node's state machine.
    pub state_machine: StateMachineFactoryMaker,
    /// Adjusts each node's options before it starts, if set.
    pub node_hook: Option<NodeHook>,
    /// Where each node gets its peers, if from a user's `PeersProvider` (None: the
    /// simulation's fixed list).
    pub peers_provider: Option<PeersProviderMaker>,
    /// The command that reruns seed `seed` of a run with these parts, if not `rafty test`'s
    /// (a user's log runs in the user's own test: their test command, with the seed).
    pub reproduce: Option<ReproduceCommand>,
    /// A deliberate bug planted in every node's registry, in a registry run (the catalogue's;
    /// `mutations` feature only).
    pub registry_bug: Option<rafty_registry::RegistryBug>,
}

/// Makes fresh peers providers for each run (a fresh source).
pub type PeersProviderMaker = Arc<dyn Fn() -> SharedPeersProviders + Send + Sync>;

/// The one-line command that reruns a seed, for parts `rafty test` cannot build.
pub type ReproduceCommand = Arc<dyn Fn(u64) -> String + Send + Sync>;

impl Plugins {
    /// The reference parts: `MemoryLog` and `KvStateMachine`.
    pub fn reference() -> Plugins {
        Plugins {
            log: Arc::new(|_| Arc::new(MemoryLogFactory::new()) as SharedLogFactory),
            state_machine: Arc::new(|| {
                Arc::new(KvStateMachineFactory) as SharedStateMachineFactory
            }),
            node_hook: None,
            peers_provider: None,
            reproduce: None,
            registry_bug: None,
        }
    }

    /// The reference parts with rafty's durable `FileLog` on each node's host's simulated
    /// disk (turmoil's), which loses its unsynced writes (torn) when the host loses power.
    pub fn file_log() -> Plugins {
        Plugins {
            log: Arc::new(|_| Arc::new(FileLogFactory::new(sim_options())) as SharedLogFactory),
            ..Plugins::reference()
        }
    }

    /// The parts `config` asks for: its log kind and its variant (the acknowledge-before-fsync
    /// variant is a broken `FileLog`, so it needs `--log file`).
    pub fn for_config(config: &TestConfig) -> Result<Plugins, String> {
        let plugins = Plugins::for_variant(config.variant)?;
        Ok(match (config.log, config.variant) {
            (LogKind::Memory, _) => plugins,
            (LogKind::File, Variant::AcknowledgeBeforeFsync) => Plugins {
                log: Arc::new(|_| {
                    Arc::new(FileLogFactory::acknowledging_before_fsync(sim_options()))
                        as SharedLogFactory
                }),
                ..plugins
            },
            (LogKind::File, _) => Plugins {
                log: Plugins::file_log().log,
                ..plugins
            },
        })
    }

    /// The parts for `variant`. The forgetful log is a log factory; the stale reads are
    /// switched by the cluster from the config; the core mutations need rafty's `mutations`
    /// feature (build the harness with `--features mutations`), else this is an error.
    pub fn for_variant(variant: Variant) -> Result<Plugins, String> {
        let mut plugins = Plugins::reference();
        match variant {
            Variant::Reference | Variant::StaleLeaderReads | Variant::AcknowledgeBeforeFsync => {}
            Variant::ForgetfulLog => {
                plugins.log =
                    Arc::new(|_| Arc::new(ForgetfulLogFactory::new()) as SharedLogFactory);
            }
            Variant::CommitPreviousTermByCount | Variant::VoteWithoutLogCheck => {
                plugins.node_hook = Some(mutation_hook(variant)?);
            }
        }
        Ok(plugins)
    }
}

impl Plugins {
    /// The same parts with the core's own invariant assertions switched off in every node
    /// (after any other adjustment), as a third party's implementation would run: whatever
    /// is caught is then caught from outside.
    pub fn without_core_assertions(self) -> Plugins {
        let inner = self.node_hook.clone();
        Plugins {
            node_hook: Some(Arc::new(move |id, options| {
                if let Some(inner) = &inner {
                    inner(id, options);
                }
                options.check_invariants = false;
            })),
            ..self
        }
    }

    /// The same parts with every node's core breaking `mutation` (after any other
    /// adjustment); a mutation planted in the state machine's session wrapper replaces the
    /// state machines. An error without rafty's `mutations` feature.
    pub fn with_mutation(self, mutation: rafty::core::Mutation) -> Result<Plugins, String> {
        let inner = self.node_hook.clone();
        let mutate = core_mutation_hook(mutation)?;
        let state_machine = match mutation {
            rafty::core::Mutation::SessionTableNotInSnapshot => forgetful_sessions()?,
            _ => self.state_machine.clone(),
        };
        Ok(Plugins {
            state_machine,
            node_hook: Some(Arc::new(move |id, options| {
                if let Some(inner) = &inner {
                    inner(id, options);
                }
                mutate(id, options);
            })),
            ..self
        })
    }
}

/// State machines planting `Mutation::SessionTableNotInSnapshot` (dissertation §6.3).
#[cfg(feature = "mutations")]
fn forgetful_sessions() -> Result<StateMachineFactoryMaker, String> {
    use crate::sim::broken::ForgetfulSessionsFactory;
    Ok(Arc::new(|| {
        Arc::new(ForgetfulSessionsFactory) as SharedStateMachineFactory
    }))
}

/// Mutations are compiled only with the `mutations` feature.
#[cfg(not(feature = "mutations"))]
fn forgetful_sessions() -> Result<StateMachineFactoryMaker, String> {
    Err("the session mutation needs rafty's mutations: rebuild with `--features mutations`".into())
}

/// A hook switching on `mutation` in every node's core.
#[cfg(feature = "mutations")]
fn core_mutation_hook(mutation: rafty::core::Mutation) -> Result<NodeHook, String> {
    Ok(Arc::new(move |_, options| {
        options.mutations = vec![mutation]
    }))
}

/// Core mutations are compiled only with the `mutations` feature.
#[cfg(not(feature = "mutations"))]
fn core_mutation_hook(mutation: rafty::core::Mutation) -> Result<NodeHook, String> {
    Err(format!(
        "the core mutation {mutation:?} needs rafty's mutations: rebuild with \
         `--features mutations` (e.g. `cargo run --release -p rafty-harness --features \
         mutations -- catalogue --run`)"
    ))
}

/// Switch on the core mutation `variant` in every node.
#[cfg(feature = "mutations")]
fn mutation_hook(variant: Variant) -> Result<NodeHook, String> {
    use rafty::core::Mutation;
    let mutation = match variant {
        Variant::CommitPreviousTermByCount => Mutation::CommitPreviousTermByCount,
        Variant::VoteWithoutLogCheck => Mutation::VoteWithoutLogCheck,
        other => return Err(format!("{} is not a core mutation", other.name())),
    };
    Ok(Arc::new(move |_, options| {
        options.mutations = vec![mutation]
    }))
}

/// Core mutations are compiled only with the `mutations` feature.
#[cfg(not(feature = "mutations"))]
fn mutation_hook(variant: Variant) -> Result<NodeHook, String> {
    Err(format!(
        "variant {} needs the core mutations: rebuild with `--features mutations`",
        variant.name()
    ))
}

/// The `FileLog` options of the simulation (small segments).
fn sim_options() -> rafty::FileLogOptions {
    rafty::FileLogOptions {
        segment_size_bytes: SIM_SEGMENT_BYTES,
    }
}

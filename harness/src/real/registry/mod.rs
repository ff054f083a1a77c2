//! The service registry (`rafty_registry`) under test in real-process mode: its nodes are
//! `rafty node --registry` processes ([`RegistryTarget`], a [`super::target::RealTarget`] like
//! rafty's and etcd's), faulted by the same real nemesis, driven by the registry workload
//! ([`workload`]: register, deregister, keepalive and expire, list, watch, config
//! read/write/cas), and judged by `rafty_checkers::registry` (instance sets and watches) and
//! the linearizability checker (config keys, cas-register model). `rafty test-registry` runs
//! it ([`run`]).

pub mod https_client;
pub mod run;
pub mod target;
pub mod workload;

pub use target::RegistryTarget;

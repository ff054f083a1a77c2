//! The registry of workloads: one file each, one line each below.
//!
//! To add a workload: write `kinds/<name>.rs` with a unit struct (or a constant) implementing
//! [`crate::workload::Workload`], and add `<file> => <Struct>,` to the `registry!` list (new
//! operations also need a [`crate::op::ClientOp`] variant and the service to execute it).

use crate::workload::Workload;

pub mod elle_txns;

/// Declares each workload's module and lists it in [`KINDS`].
macro_rules! registry {
    ($($module:ident => $workload:ident,)*) => {
        $(pub mod $module;)*

        /// Every workload, in the order the command line lists them.
        pub static KINDS: &[&dyn Workload] = &[$(&$module::$workload,)*];
    };
}

registry! {
    register => Register,
    kv => Kv,
    append => Append,
    list_append => LIST_APPEND,
    rw_register => RW_REGISTER,
    bank => Bank,
    set => Set,
    counter => Counter,
    unique_ids => UniqueIds,
    registry => Registry,
}

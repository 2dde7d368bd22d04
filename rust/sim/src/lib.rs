//! A deterministic simulator for the raftcore state machine: seeded clusters in virtual time, faults, an
//! invariant checker run after every step, lab-style scenario helpers and randomized exploration.

pub mod checker;
pub mod cluster;
pub mod explore;

pub use scenario::finish;

pub mod scenario;

pub use checker::Checker;
pub use cluster::{Cluster, NetConfig, OneCall, RpcKinds, TICK_MS};

//! raftcore: a Raft consensus core with a C ABI.
//!
//! Three layers, each depending only on the one before it:
//! 1. [`core`] — the protocol as a pure, deterministic state machine (extended Raft paper, Figure 2 and §7).
//!    It never sleeps, spawns, reads a clock or does IO; hosts and the simulator drive it.
//! 2. [`node`] — the driver: one event-loop thread per instance owning the core and its timers, one applier
//!    thread for the only host callback that may block.
//! 3. [`ffi`] — the C ABI over the driver: handles, status codes, buffers, and the panic boundary.
#![deny(missing_docs)]

pub mod core;
pub mod ffi;
pub mod node;

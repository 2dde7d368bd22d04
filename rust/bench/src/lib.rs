//! Benchmarks of the raftcore core next to tikv's raft-rs: the workloads live here, the criterion benches in
//! `benches/` time them, and `src/bin/report.rs` prints the tables, with the ratio ours / raft-rs per workload.
//!
//! - [`cluster`]: throughput and logical-time latency of 3- and 5-node clusters in one thread
//!   ([`ours`] and [`theirs`] drive the two implementations through the same [`cluster::Cluster`] trait);
//! - [`persist`]: the time and bytes of one persist as the log grows.

pub mod cluster;
pub mod ours;
pub mod persist;
pub mod theirs;

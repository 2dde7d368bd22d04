//! The common ending of a named scenario: its own checks passed, the invariant checker saw nothing, and the
//! figures behind the closing notes are printed (`cargo test -p raftcore-sim -- --nocapture` shows them).

use crate::cluster::Cluster;

/// Fails the calling test if the scenario failed or any invariant broke; prints the run's figures.
pub fn finish(name: &str, cluster: &Cluster, result: Result<(), String>) {
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
    assert!(cluster.violations().is_empty(), "{name}: {:?}", cluster.violations());
    let (elected, committed) = cluster.milestones();
    println!(
        "{name}: elected at {elected:?} ms, first commit at {committed:?} ms, {} ms virtual, {} RPCs, {} bytes, \
         largest persisted state {} bytes",
        cluster.now(),
        cluster.rpcs(),
        cluster.bytes(),
        cluster.max_state_bytes()
    );
}

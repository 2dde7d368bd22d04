//! What the scenario suites share: scenarios that two courses' testers both run, and the common ending of a
//! named scenario (its own checks passed, the invariant checker saw nothing, and the figures behind the closing
//! notes are printed; `cargo test -p raftcore-sim -- --nocapture` shows them).

use crate::cluster::Cluster;

/// Fails the calling test if the scenario failed or any invariant broke; prints the run's figures.
pub fn finish(name: &str, cluster: &Cluster, result: Result<(), String>) {
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
    assert!(cluster.violations().is_empty(), "{name}: {:?}", cluster.violations());
    let (elected, committed) = cluster.milestones();
    let kinds = cluster.rpc_kinds();
    println!(
        "{name}: elected at {elected:?} ms, first commit at {committed:?} ms, {} ms virtual, {} RPCs ({} votes, \
         {} appends with entries, {} without, {} snapshots), {} bytes, largest persisted state {} bytes",
        cluster.now(),
        cluster.rpcs(),
        kinds.votes,
        kinds.appends,
        kinds.empty_appends,
        kinds.snapshots,
        cluster.bytes(),
        cluster.max_state_bytes()
    );
}

/// Re-election after network failure (3 peers): a cut-off leader is replaced, rejoins without disrupting, and a
/// lone survivor of two failures elects nobody.
pub fn re_election(c: &mut Cluster) -> Result<(), String> {
    let leader1 = c.check_one_leader()?;
    c.disconnect(leader1);
    c.check_one_leader()?;
    c.connect(leader1);
    let leader2 = c.check_one_leader()?;
    c.disconnect(leader2);
    c.disconnect((leader2 + 1) % 3);
    c.run_for(2000);
    c.check_no_leader()?;
    c.connect((leader2 + 1) % 3);
    c.check_one_leader()?;
    c.connect(leader2);
    c.check_one_leader()?;
    Ok(())
}

/// Rejoin of a partitioned leader (3 peers): it takes proposals while cut off, which must be overwritten once
/// it comes back; `base` keeps the commands distinct between suites.
pub fn rejoin(c: &mut Cluster, base: u64) -> Result<(), String> {
    c.one(base + 1, 3, true)?;
    let leader1 = c.check_one_leader()?;
    c.disconnect(leader1);
    for v in 2..=4 {
        c.start(leader1, base + v);
    }
    c.one(base + 3, 2, true)?;
    let leader2 = c.check_one_leader()?;
    c.disconnect(leader2);
    c.connect(leader1);
    c.one(base + 4, 2, true)?;
    c.connect(leader2);
    c.one(base + 5, 3, true)?;
    Ok(())
}

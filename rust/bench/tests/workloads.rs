//! The benchmark workloads do what they claim: every batch commits and is applied on every node, for both
//! implementations, and the persistence workload hands out a record of the expected length.

use raftcore_bench::cluster::{commands, mean_ticks_to_commit, run_batch, Cluster, BATCHES, NODES};
use raftcore_bench::ours::Ours;
use raftcore_bench::persist::{Follower, COMMAND_BYTES};
use raftcore_bench::theirs::Theirs;

fn batches_commit_everywhere<C: Cluster>() {
    for nodes in NODES {
        for batch in BATCHES {
            let mut cluster = C::new(nodes);
            let commands = commands(batch, 100);
            // Enough batches to pass a compaction point.
            for _ in 0..(1100 / batch).max(3) {
                let before = cluster.last_index();
                run_batch(&mut cluster, &commands);
                assert_eq!(cluster.last_index(), before + batch as u64, "{} {nodes} nodes", C::NAME);
                assert_eq!(cluster.min_applied(), cluster.last_index(), "{} {nodes} nodes", C::NAME);
            }
            let ticks = mean_ticks_to_commit::<C>(nodes, batch, 100, 5);
            assert!((1.0..20.0).contains(&ticks), "{} {nodes} nodes: {ticks} ticks", C::NAME);
        }
    }
}

#[test]
fn raftcore_batches_commit_everywhere() {
    batches_commit_everywhere::<Ours>();
}

#[test]
fn raft_rs_batches_commit_everywhere() {
    batches_commit_everywhere::<Theirs>();
}

#[test]
fn a_persist_hands_out_the_whole_record() {
    let follower = Follower::new(100);
    let len = follower.persisted_len();
    // 102 entries (the restart's own persist and the measured one added two), each a term byte, a length byte
    // and the command, plus the prefix, header and trailer.
    let entries = 102 * (COMMAND_BYTES + 2);
    assert!((entries..entries + 64).contains(&len), "{len}");
}

//! Arbitrary sequences of cluster events (time passing, proposals, crashes and restarts, partitions, a lossy or
//! reordering network) in the simulator, whose checker tests election safety, log matching, leader completeness,
//! state machine safety, apply order and snapshot monotonicity after every step: no sequence may break one.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use raftcore_sim::cluster::{Cluster, NetConfig};

#[derive(Arbitrary, Debug)]
enum Op {
    Run { ms: u8 },
    Start { node: u8, command: u16 },
    Crash { node: u8 },
    Restart { node: u8 },
    Disconnect { node: u8 },
    Connect { node: u8 },
    Unreliable { on: bool },
    LongReordering { on: bool },
}

#[derive(Arbitrary, Debug)]
struct Input {
    five_nodes: bool,
    seed: u64,
    snapshot_every: Option<u8>,
    ops: Vec<Op>,
}

fuzz_target!(|input: Input| {
    let peers = if input.five_nodes { 5 } else { 3 };
    let snapshot_every = input.snapshot_every.map(|n| u64::from(n % 20) + 1);
    let mut cluster = Cluster::new(peers, input.seed, snapshot_every);
    for op in input.ops.iter().take(200) {
        match *op {
            Op::Run { ms } => cluster.run_for(u64::from(ms) * 10),
            Op::Start { node, command } => {
                let i = usize::from(node) % peers;
                if cluster.is_up(i) {
                    cluster.start(i, u64::from(command));
                }
            }
            Op::Crash { node } => {
                let i = usize::from(node) % peers;
                if cluster.is_up(i) {
                    cluster.crash(i);
                }
            }
            Op::Restart { node } => {
                let i = usize::from(node) % peers;
                if !cluster.is_up(i) {
                    cluster.restart(i);
                }
            }
            Op::Disconnect { node } => cluster.disconnect(usize::from(node) % peers),
            Op::Connect { node } => cluster.connect(usize::from(node) % peers),
            Op::Unreliable { on } => {
                let long_reordering = cluster.net.long_reordering;
                cluster.net = if on { NetConfig::unreliable() } else { NetConfig::reliable() };
                cluster.net.long_reordering = long_reordering;
            }
            Op::LongReordering { on } => cluster.net.long_reordering = on,
        }
        assert!(cluster.violations().is_empty(), "{:?}", cluster.violations());
    }
});

//! raftcore's core in the cluster workload: each node's host persists the record the core keeps in place
//! (`take_ready_in_place` and `persisted_state`), queues its messages and the replies waiting for that persist,
//! and applies committed commands.

use std::hint::black_box;

use raftcore::core::{Apply, Config, PeerId, Raft, Reply, Request};

use crate::cluster::{Cluster, COMPACT_EVERY, ELECTION_TICKS, HEARTBEAT_TICKS};

enum Envelope {
    Request { from: PeerId, to: PeerId, request: Request },
    Reply { from: PeerId, to: PeerId, reply: Reply },
}

struct Node {
    raft: Raft,
    applied: u64,
    /// Replies computed by `handle_request` that may leave only after the next persist.
    replies: Vec<Envelope>,
    /// Bytes handed to the host's persist (it would write them; here they are only counted).
    persisted: u64,
}

/// A cluster of raftcore cores; node 0 leads.
pub struct Ours {
    nodes: Vec<Node>,
    queue: Vec<Envelope>,
}

impl Ours {
    fn flush(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let (ready, persist) = node.raft.take_ready_in_place();
        if persist {
            // Duty 1: persist before anything leaves. The host writes from the core's buffer.
            let state = black_box(node.raft.persisted_state());
            node.persisted += state.len() as u64 + node.raft.snapshot_data().len() as u64;
        }
        self.queue.append(&mut node.replies);
        let from = i as PeerId;
        for (to, request) in ready.messages {
            self.queue.push(Envelope::Request { from, to, request });
        }
        for apply in ready.apply {
            node.applied = match apply {
                Apply::Command { index, command, .. } => {
                    black_box(command);
                    index
                }
                Apply::Snapshot { index, .. } => index,
            };
        }
        if node.applied >= node.raft.log().snapshot_index() + COMPACT_EVERY {
            node.raft.snapshot(node.applied, node.applied.to_le_bytes().to_vec()).expect("applied");
        }
    }
}

impl Cluster for Ours {
    const NAME: &'static str = "raftcore";

    fn new(nodes: usize) -> Ours {
        let nodes = (0..nodes)
            .map(|me| {
                let mut cfg = Config::new(me as PeerId, nodes as u32, me as u64 + 1);
                cfg.heartbeat_ticks = HEARTBEAT_TICKS;
                (cfg.election_ticks_min, cfg.election_ticks_max) = ELECTION_TICKS;
                if me == 0 {
                    // Node 0 times out first, so it leads.
                    (cfg.election_ticks_min, cfg.election_ticks_max) = (HEARTBEAT_TICKS + 1, HEARTBEAT_TICKS + 1);
                }
                Node { raft: Raft::new(cfg, &[], &[]).expect("valid"), applied: 0, replies: Vec::new(), persisted: 0 }
            })
            .collect();
        let mut cluster = Ours { nodes, queue: Vec::new() };
        while !cluster.nodes[0].raft.state().1 {
            cluster.tick();
            while cluster.deliver_round() {}
        }
        cluster
    }

    fn propose(&mut self, command: Vec<u8>) {
        self.nodes[0].raft.propose(command).expect("node 0 leads");
    }

    fn last_index(&self) -> u64 {
        self.nodes[0].raft.log().last_index()
    }

    fn min_applied(&self) -> u64 {
        self.nodes.iter().map(|n| n.applied).min().unwrap_or(0)
    }

    fn tick(&mut self) {
        for node in &mut self.nodes {
            node.raft.tick();
        }
    }

    fn deliver_round(&mut self) -> bool {
        for i in 0..self.nodes.len() {
            self.flush(i);
        }
        if self.queue.is_empty() {
            return false;
        }
        for envelope in std::mem::take(&mut self.queue) {
            match envelope {
                Envelope::Request { from, to, request } => {
                    let node = &mut self.nodes[to as usize];
                    let reply = node.raft.handle_request(request).expect("valid request");
                    node.replies.push(Envelope::Reply { from: to, to: from, reply });
                }
                Envelope::Reply { from, to, reply } => {
                    self.nodes[to as usize].raft.handle_reply(from, reply).expect("valid reply");
                }
            }
        }
        true
    }
}

//! tikv's raft-rs (the `raft` crate) in the cluster workload, driven through `RawNode` and its `Ready` loop in
//! the order its documentation gives: send the leader's messages, apply committed entries, persist new entries
//! and the hard state, send the messages that wait for that persist, advance, and handle the light ready. Its
//! storage is `MemStorage`; the persist step encodes the new entries and the hard state with protobuf, the bytes
//! its host would write (raft-rs leaves encoding to the host).

use std::hint::black_box;

use protobuf::Message as _;
use raft::prelude::{ConfState, Entry, Message};
use raft::storage::MemStorage;
use raft::{Config, RawNode, Storage};

use crate::cluster::{Cluster, COMPACT_EVERY, ELECTION_TICKS, HEARTBEAT_TICKS};

struct Node {
    raw: RawNode<MemStorage>,
    applied: u64,
    /// The host's write buffer, reused: what it would append to its log file per persist.
    wal: Vec<u8>,
    /// Bytes handed to the host's persist.
    persisted: u64,
}

/// A cluster of raft-rs `RawNode`s; node id 1 leads.
pub struct Theirs {
    nodes: Vec<Node>,
    queue: Vec<Message>,
}

fn apply(node: &mut Node, entries: Vec<Entry>) {
    for entry in entries {
        black_box(&entry.data);
        node.applied = entry.index;
    }
}

impl Theirs {
    fn flush(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        if !node.raw.has_ready() {
            return;
        }
        let mut ready = node.raw.ready();
        self.queue.extend(ready.take_messages());
        assert!(ready.snapshot().is_empty(), "no follower falls behind a compaction here");
        apply(node, ready.take_committed_entries());
        let store = node.raw.raft.raft_log.store.clone();
        if !ready.entries().is_empty() || ready.hs().is_some() {
            node.wal.clear();
            for entry in ready.entries() {
                entry.write_length_delimited_to_vec(&mut node.wal).expect("encodes");
            }
            if let Some(hs) = ready.hs() {
                hs.write_length_delimited_to_vec(&mut node.wal).expect("encodes");
            }
            node.persisted += black_box(node.wal.len()) as u64;
            store.wl().append(ready.entries()).expect("appends");
            if let Some(hs) = ready.hs() {
                store.wl().set_hardstate(hs.clone());
            }
        }
        self.queue.extend(ready.take_persisted_messages());
        let mut light = node.raw.advance(ready);
        if let Some(commit) = light.commit_index() {
            store.wl().mut_hard_state().set_commit(commit);
        }
        self.queue.extend(light.take_messages());
        apply(node, light.take_committed_entries());
        node.raw.advance_apply();
        let first = store.first_index().expect("in memory");
        if node.applied >= first + COMPACT_EVERY {
            store.wl().compact(node.applied).expect("compacts applied entries");
        }
    }
}

impl Cluster for Theirs {
    const NAME: &'static str = "raft-rs";

    fn new(nodes: usize) -> Theirs {
        let logger = slog::Logger::root(slog::Discard, slog::o!());
        let voters: Vec<u64> = (1..=nodes as u64).collect();
        let nodes = voters
            .iter()
            .map(|&id| {
                let cfg = Config {
                    id,
                    heartbeat_tick: HEARTBEAT_TICKS as usize,
                    election_tick: ELECTION_TICKS.0 as usize,
                    min_election_tick: ELECTION_TICKS.0 as usize,
                    max_election_tick: ELECTION_TICKS.1 as usize + 1,
                    // Like ours: everything from next_index in one append, any number of entries.
                    max_size_per_msg: u64::MAX,
                    max_inflight_msgs: 256,
                    ..Config::default()
                };
                let storage = MemStorage::new_with_conf_state(ConfState::from((voters.clone(), vec![])));
                let raw = RawNode::new(&cfg, storage, &logger).expect("valid config");
                Node { raw, applied: 0, wal: Vec::new(), persisted: 0 }
            })
            .collect();
        let mut cluster = Theirs { nodes, queue: Vec::new() };
        cluster.nodes[0].raw.campaign().expect("campaigns");
        while cluster.deliver_round() {}
        // The new leader's empty entry, applied everywhere.
        while cluster.min_applied() < cluster.last_index() {
            cluster.tick();
            while cluster.deliver_round() {}
        }
        cluster
    }

    fn propose(&mut self, command: Vec<u8>) {
        self.nodes[0].raw.propose(Vec::new(), command).expect("node 1 leads");
    }

    fn last_index(&self) -> u64 {
        self.nodes[0].raw.raft.raft_log.last_index()
    }

    fn min_applied(&self) -> u64 {
        self.nodes.iter().map(|n| n.applied).min().unwrap_or(0)
    }

    fn tick(&mut self) {
        for node in &mut self.nodes {
            node.raw.tick();
        }
    }

    fn deliver_round(&mut self) -> bool {
        for i in 0..self.nodes.len() {
            self.flush(i);
        }
        if self.queue.is_empty() {
            return false;
        }
        for message in std::mem::take(&mut self.queue) {
            self.nodes[message.to as usize - 1].raw.step(message).expect("steps");
        }
        true
    }
}

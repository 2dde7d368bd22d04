//! The persistence workload: a follower whose log holds `n` entries of 100 bytes receives one more entry, and the
//! core hands over the raft state to persist. Measured per persist: the time of the AppendEntries plus
//! `take_ready` (which produces the bytes) and the number of bytes a host is handed, both with the bytes copied
//! out (`take_ready`) and left in the core for the host to write from (`take_ready_in_place`).

use raftcore::core::{AppendEntries, Config, Entry, Raft, Request};

/// Command size of the persistence workload.
pub const COMMAND_BYTES: usize = 100;
/// Log lengths measured.
pub const LOG_SIZES: [u64; 5] = [10, 100, 1_000, 10_000, 100_000];

/// A follower (peer 1 of 3) whose log holds `n` entries, built once; [`Follower::fresh`] restarts it from its
/// persisted bytes, so every measurement starts from the same log length.
pub struct Follower {
    state: Vec<u8>,
    n: u64,
}

fn append(prev_log_index: u64, entries: Vec<Entry>) -> Request {
    Request::Append(AppendEntries {
        term: 1,
        leader: 0,
        prev_log_index,
        prev_log_term: 1.min(prev_log_index),
        entries,
        leader_commit: 0,
    })
}

fn command(i: u64) -> Vec<u8> {
    let mut c = vec![0x5a; COMMAND_BYTES];
    c[..8].copy_from_slice(&i.to_le_bytes());
    c
}

impl Follower {
    /// A follower with `n` entries in term 1.
    pub fn new(n: u64) -> Follower {
        let mut raft = Raft::new(Config::new(1, 3, 7), &[], &[]).expect("a fresh core starts");
        let entries = (1..=n).map(|i| Entry { term: 1, command: command(i).into() }).collect();
        raft.handle_request(append(0, entries)).expect("a valid append");
        let state = raft.take_ready().persist.expect("appended entries are persisted");
        Follower { state, n }
    }

    /// The follower restarted from its persisted bytes, with one persist done so that a core that keeps an
    /// encoded image has it in place, as it would after the first write following a restart.
    pub fn fresh(&self) -> (Raft, u64) {
        let mut raft = Raft::new(Config::new(1, 3, 7), &self.state, &[]).expect("restarts from its own bytes");
        let mut last = self.n;
        Self::step(&mut raft, &mut last, false);
        (raft, last)
    }

    /// Appends one entry after `last` and takes the bytes to persist, copied out or in place; returns their
    /// length.
    pub fn step(raft: &mut Raft, last: &mut u64, in_place: bool) -> usize {
        *last += 1;
        raft.handle_request(append(*last - 1, vec![Entry { term: 1, command: command(*last).into() }])).expect("valid");
        if in_place {
            let (_ready, persist) = raft.take_ready_in_place();
            assert!(persist, "an appended entry is persisted");
            raft.persisted_state().len()
        } else {
            raft.take_ready().persist.expect("an appended entry is persisted").len()
        }
    }

    /// The bytes a host is handed per persist at this log length.
    pub fn persisted_len(&self) -> usize {
        let (mut raft, mut last) = self.fresh();
        Self::step(&mut raft, &mut last, false)
    }
}

//! The cluster workload both Raft implementations run: a leader takes a batch of proposals, and the cluster runs
//! until every node has committed and applied them. The transport is a message queue in the same thread; each
//! implementation keeps its log in memory and hands its host the bytes to persist, as a host would write them.
//!
//! Two ways to run a batch:
//! - [`run_batch`], for throughput: messages are delivered as soon as they are sent, and logical time advances
//!   (one tick on every node) only when no message is in flight and the batch is not yet everywhere;
//! - [`ticks_to_commit`], for latency in logical time: a message sent during one tick arrives in the next, so a
//!   round trip costs two ticks, and the count is the number of ticks until the batch is applied everywhere.

/// One in-memory cluster of one implementation, with an elected leader.
pub trait Cluster {
    /// Short name for tables.
    const NAME: &'static str;

    /// A cluster of `nodes` peers whose leader is elected and whose initial entries are applied everywhere.
    fn new(nodes: usize) -> Self;

    /// Proposes one command on the leader.
    fn propose(&mut self, command: Vec<u8>);

    /// The leader's last log index.
    fn last_index(&self) -> u64;

    /// The lowest index every node has applied.
    fn min_applied(&self) -> u64;

    /// One tick on every node.
    fn tick(&mut self);

    /// Carries out every node's pending outputs (persist, queue messages, apply), then delivers the messages
    /// that were queued before the call. Returns false when there was nothing to deliver.
    fn deliver_round(&mut self) -> bool;
}

/// Node counts measured.
pub const NODES: [usize; 2] = [3, 5];
/// Command sizes measured.
pub const COMMAND_SIZES: [usize; 2] = [100, 4096];
/// Batch sizes measured.
pub const BATCHES: [usize; 3] = [1, 16, 256];
/// Each node's service snapshots (ours) or compacts its storage (raft-rs) once it has applied this many entries
/// past the last point, so memory stays bounded however long a benchmark runs.
pub const COMPACT_EVERY: u64 = 1024;
/// Ticks between heartbeats, for both implementations.
pub const HEARTBEAT_TICKS: u32 = 10;
/// Election timeout range in ticks (lower inclusive, upper inclusive for ours, exclusive for raft-rs).
pub const ELECTION_TICKS: (u32, u32) = (30, 50);

/// A batch of `batch` commands of `size` bytes, each distinct.
pub fn commands(batch: usize, size: usize) -> Vec<Vec<u8>> {
    (0..batch)
        .map(|i| {
            let mut c = vec![0xa5; size];
            c[..8].copy_from_slice(&(i as u64).to_le_bytes());
            c
        })
        .collect()
}

/// Proposes `commands` on the leader and runs until every node applied them, delivering messages at once;
/// returns the ticks it took (ours tells idle followers a commit index `heartbeat_ticks / 5` ticks after it advanced).
pub fn run_batch<C: Cluster>(cluster: &mut C, commands: &[Vec<u8>]) -> u32 {
    for command in commands {
        cluster.propose(command.clone());
    }
    let target = cluster.last_index();
    let mut ticks = 0;
    loop {
        while cluster.deliver_round() {}
        if cluster.min_applied() >= target {
            return ticks;
        }
        cluster.tick();
        ticks += 1;
        assert!(ticks < 1000, "{}: the batch never committed", C::NAME);
    }
}

/// Proposes `commands` on the leader and counts the ticks until every node applied them, with a message taking
/// one tick to arrive.
pub fn ticks_to_commit<C: Cluster>(cluster: &mut C, commands: &[Vec<u8>]) -> u32 {
    for command in commands {
        cluster.propose(command.clone());
    }
    let target = cluster.last_index();
    let mut ticks = 0;
    while cluster.min_applied() < target {
        cluster.tick();
        cluster.deliver_round();
        ticks += 1;
        assert!(ticks < 1000, "{}: the batch never committed", C::NAME);
    }
    ticks
}

/// Mean ticks to commit over `rounds` batches, each started when the previous one is applied everywhere.
pub fn mean_ticks_to_commit<C: Cluster>(nodes: usize, batch: usize, size: usize, rounds: u32) -> f64 {
    let mut cluster = C::new(nodes);
    let commands = commands(batch, size);
    let total: u32 = (0..rounds).map(|_| ticks_to_commit(&mut cluster, &commands)).sum();
    f64::from(total) / f64::from(rounds)
}

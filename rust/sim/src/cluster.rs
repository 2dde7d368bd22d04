//! A simulated cluster in virtual time: nodes driven by ticks every 10 ms, a network that drops, delays,
//! reorders, duplicates and partitions, crashes that keep only persisted bytes, and a service per node that
//! snapshots every N applies. Everything random comes from one seeded PRNG, so a seed replays a run exactly.
//!
//! After every event the checker sees what changed. The helpers `check_one_leader`, `one`, `n_committed` and
//! `wait` follow the lab tester's (docs/LAB-GENERATIONS.md §6), so scenarios read like the lab's tests.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use raftcore::core::{Apply, Index, Pacing, Raft, Reply, Request, Role, Term};
use raftcore::node::NodeConfig;
use rand_core::{RngCore, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::checker::{next_digest, Checker};

/// Virtual milliseconds per core tick, as in the driver.
pub const TICK_MS: u64 = raftcore::node::TICK.as_millis() as u64;

/// How the network treats messages. Probabilities are per mille so runs stay integer-exact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetConfig {
    /// Chance that a request is lost before it reaches its target.
    pub drop_request: u32,
    /// Chance that a reply is lost after the handler ran.
    pub drop_reply: u32,
    /// Chance that a message is delivered twice.
    pub duplicate: u32,
    /// Smallest one-way delay, ms.
    pub delay_min: u64,
    /// Largest one-way delay, ms; different delays reorder messages.
    pub delay_max: u64,
    /// Replies are delayed like requests; without it they come back within a millisecond, as the lab's network
    /// delays only the request (its short delay) unless it reorders.
    pub delay_replies: bool,
    /// The lab's long reordering: 2/3 of replies held back 200–2200 ms.
    pub long_reordering: bool,
}

impl NetConfig {
    /// The lab's reliable network: no loss, near-instant delivery.
    pub fn reliable() -> NetConfig {
        NetConfig {
            drop_request: 0,
            drop_reply: 0,
            duplicate: 0,
            delay_min: 0,
            delay_max: 1,
            delay_replies: true,
            long_reordering: false,
        }
    }

    /// The lab's unreliable network: requests delayed 0–26 ms, 10% of requests and 10% of replies lost.
    pub fn unreliable() -> NetConfig {
        NetConfig {
            drop_request: 100,
            drop_reply: 100,
            duplicate: 0,
            delay_min: 0,
            delay_max: 26,
            delay_replies: false,
            long_reordering: false,
        }
    }
}

enum Payload {
    Request(Request),
    Reply(Reply),
}

enum Event {
    Tick(usize),
    Deliver { from: usize, to: usize, to_incarnation: u64, payload: Payload },
}

struct Scheduled {
    at: u64,
    seq: u64,
    event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// The service beside one node: a digest of everything applied, snapshotted every `snapshot_every` applies.
#[derive(Clone, Debug, Default)]
struct Service {
    applied: Index,
    digest: u64,
}

impl Service {
    fn encode(&self) -> Vec<u8> {
        let mut bytes = self.applied.to_le_bytes().to_vec();
        bytes.extend_from_slice(&self.digest.to_le_bytes());
        bytes
    }

    fn decode(bytes: &[u8]) -> Service {
        if bytes.len() != 16 {
            return Service::default();
        }
        let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        Service { applied: word(0), digest: word(8) }
    }
}

struct Node {
    raft: Option<Raft>,
    state: Vec<u8>,
    snapshot: Vec<u8>,
    incarnation: u64,
    connected: bool,
    service: Service,
    /// Highest index this node's service ever reached, kept across restarts like the tester's record.
    high_water: Index,
    snapshot_index: Index,
}

/// Requests sent, by kind: what a scenario's RPC count is made of.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RpcKinds {
    /// RequestVote.
    pub votes: u64,
    /// AppendEntries carrying entries.
    pub appends: u64,
    /// AppendEntries without entries: heartbeats, probes and commit announcements.
    pub empty_appends: u64,
    /// InstallSnapshot.
    pub snapshots: u64,
}

/// One of the lab's one() calls as a state machine, so that several can run at once (the lab starts them in
/// goroutines; `Cluster::one` runs one alone): it tries Start on connected nodes round-robin (again 50 ms later
/// when none leads), then looks every 20 ms for `expected` nodes to have applied its command, and after 2 s
/// without tries Start again (with `retry`; without, that is its failure); no new try after 10 s.
#[derive(Clone, Debug)]
pub struct OneCall {
    command: u64,
    expected: usize,
    retry: bool,
    /// Virtual ms of its next action.
    next_at: u64,
    deadline: u64,
    /// The index it was given and the end of its 2-s wait, once a leader took it.
    waiting: Option<(Index, u64)>,
    starts: usize,
    /// It saw its command applied by `expected` nodes.
    pub done: bool,
}

impl OneCall {
    /// A call that starts at the cluster's current time.
    pub fn new(c: &Cluster, command: u64, expected: usize, retry: bool) -> OneCall {
        OneCall {
            command,
            expected,
            retry,
            next_at: c.now,
            deadline: c.now + 10_000,
            waiting: None,
            starts: 0,
            done: false,
        }
    }

    fn step(&mut self, c: &mut Cluster) -> Result<(), String> {
        let failed = || format!("one({}) failed to reach agreement", self.command);
        match self.waiting {
            None => {
                if c.now >= self.deadline {
                    return Err(failed());
                }
                for _ in 0..c.nodes.len() {
                    self.starts = (self.starts + 1) % c.nodes.len();
                    if c.nodes[self.starts].connected {
                        if let Some((index, _)) = c.start(self.starts, self.command) {
                            self.waiting = Some((index, c.now + 2_000));
                            self.next_at = c.now;
                            return Ok(());
                        }
                    }
                }
                self.next_at = c.now + 50;
            }
            Some((_, until)) if c.now >= until => {
                if !self.retry {
                    return Err(failed());
                }
                self.waiting = None;
                self.next_at = c.now;
            }
            Some((index, _)) => {
                let (count, got) = c.n_committed(index);
                if count >= self.expected && got == Some(self.command) {
                    self.done = true;
                } else {
                    self.next_at = c.now + 20;
                }
            }
        }
        Ok(())
    }
}

/// A simulated cluster.
pub struct Cluster {
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<Scheduled>>,
    nodes: Vec<Node>,
    rng: Pcg64Mcg,
    seed: u64,
    snapshot_every: Option<Index>,
    /// The network's behaviour; scenarios change it as they go.
    pub net: NetConfig,
    checker: Checker,
    rpcs: u64,
    rpc_kinds: RpcKinds,
    bytes: u64,
    max_state_bytes: usize,
    first_leader_at: Option<u64>,
    first_commit_at: Option<u64>,
    pacing: Pacing,
}

impl Cluster {
    /// A fresh cluster of `peers` nodes on a reliable network; `snapshot_every` makes each service snapshot.
    pub fn new(peers: usize, seed: u64, snapshot_every: Option<Index>) -> Cluster {
        Cluster::with_pacing(peers, seed, snapshot_every, Pacing::Prompt)
    }

    /// [`Cluster::new`] with every core sending entries as `pacing` says, across restarts too.
    pub fn with_pacing(peers: usize, seed: u64, snapshot_every: Option<Index>, pacing: Pacing) -> Cluster {
        let mut cluster = Cluster {
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            nodes: Vec::new(),
            rng: Pcg64Mcg::seed_from_u64(seed),
            seed,
            snapshot_every,
            net: NetConfig::reliable(),
            checker: Checker::default(),
            rpcs: 0,
            rpc_kinds: RpcKinds::default(),
            bytes: 0,
            max_state_bytes: 0,
            first_leader_at: None,
            first_commit_at: None,
            pacing,
        };
        for _ in 0..peers {
            cluster.nodes.push(Node {
                raft: None,
                state: Vec::new(),
                snapshot: Vec::new(),
                incarnation: 0,
                connected: true,
                service: Service::default(),
                high_water: 0,
                snapshot_index: 0,
            });
        }
        for i in 0..peers {
            cluster.boot(i);
        }
        cluster
    }

    fn random(&mut self, below: u64) -> u64 {
        if below == 0 {
            0
        } else {
            self.rng.next_u64() % below
        }
    }

    fn chance(&mut self, per_mille: u32) -> bool {
        per_mille > 0 && self.random(1000) < u64::from(per_mille)
    }

    fn schedule(&mut self, at: u64, event: Event) {
        self.seq += 1;
        self.queue.push(Reverse(Scheduled { at, seq: self.seq, event }));
    }

    fn boot(&mut self, i: usize) {
        let peers = self.nodes.len() as u32;
        let node_seed = self.seed ^ (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ self.nodes[i].incarnation;
        // The timing every host of the library runs with (the node's defaults, in the node's 10-ms ticks), so
        // that the scenarios' RPCs and times are the lab's.
        let node = NodeConfig { seed: node_seed.max(1), pacing: self.pacing, ..NodeConfig::new(i as u32, peers) };
        let cfg = node.to_core().expect("the node's default timing is valid");
        let node = &mut self.nodes[i];
        let raft = Raft::new(cfg, &node.state, &node.snapshot).expect("a node restarts from its own persisted bytes");
        node.incarnation += 1;
        // Like the lab's services, restore from the snapshot and resume right after it.
        node.service = Service::decode(&node.snapshot);
        let snapshot_index = raft.log().snapshot_index();
        node.raft = Some(raft);
        self.checker.observe_start(i, snapshot_index);
        let first_tick = self.now + 1 + self.random(TICK_MS);
        self.schedule(first_tick, Event::Tick(i));
    }

    // ----- faults --------------------------------------------------------------------------------------------

    /// Cuts a node off in both directions.
    pub fn disconnect(&mut self, i: usize) {
        self.nodes[i].connected = false;
    }

    /// Reconnects a node.
    pub fn connect(&mut self, i: usize) {
        self.nodes[i].connected = true;
    }

    /// Whether a node is connected.
    pub fn is_connected(&self, i: usize) -> bool {
        self.nodes[i].connected
    }

    /// Crashes a node: everything but its persisted bytes is lost.
    pub fn crash(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        node.raft = None;
        node.incarnation += 1;
    }

    /// Restarts a crashed node (or crashes and restarts a live one) from its persisted bytes only.
    pub fn restart(&mut self, i: usize) {
        if self.nodes[i].raft.is_some() {
            self.crash(i);
        }
        self.boot(i);
    }

    /// Whether a node is running.
    pub fn is_up(&self, i: usize) -> bool {
        self.nodes[i].raft.is_some()
    }

    /// Number of nodes.
    pub fn peers(&self) -> usize {
        self.nodes.len()
    }

    // ----- observation ---------------------------------------------------------------------------------------

    /// Virtual time in ms.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Requests sent so far (like the lab's RpcTotal: dropped ones and ones to cut-off peers count).
    pub fn rpcs(&self) -> u64 {
        self.rpcs
    }

    /// The requests sent so far by what they carried.
    pub fn rpc_kinds(&self) -> RpcKinds {
        self.rpc_kinds
    }

    /// Request bytes sent plus reply bytes delivered (the lab's BytesTotal).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Largest persisted raft state any node has written.
    pub fn max_state_bytes(&self) -> usize {
        self.max_state_bytes
    }

    /// Largest persisted raft state now held by any node (the lab's RaftSize).
    pub fn state_bytes(&self) -> usize {
        self.nodes.iter().map(|n| n.state.len()).max().unwrap_or(0)
    }

    /// Virtual time of the first election won and of the first commit, ms.
    pub fn milestones(&self) -> (Option<u64>, Option<u64>) {
        (self.first_leader_at, self.first_commit_at)
    }

    /// Invariant violations found so far.
    pub fn violations(&self) -> &[String] {
        self.checker.violations()
    }

    /// A node's term and whether it leads (a crashed node reports term 0, not leader).
    pub fn state(&self, i: usize) -> (Term, bool) {
        self.nodes[i].raft.as_ref().map_or((0, false), |r| r.state())
    }

    // ----- running -------------------------------------------------------------------------------------------

    /// Runs events until virtual time reaches `now + ms`.
    pub fn run_for(&mut self, ms: u64) {
        let until = self.now + ms;
        while let Some(Reverse(next)) = self.queue.peek() {
            if next.at > until {
                break;
            }
            let Reverse(next) = self.queue.pop().expect("peeked");
            self.now = next.at;
            self.handle(next.event);
        }
        self.now = until;
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Tick(i) => {
                let Some(raft) = self.nodes[i].raft.as_mut() else { return };
                raft.tick();
                let at = self.now + TICK_MS;
                self.schedule(at, Event::Tick(i));
                self.after_input(i);
            }
            Event::Deliver { from, to, to_incarnation, payload } => {
                let target = &self.nodes[to];
                if target.incarnation != to_incarnation || target.raft.is_none() {
                    return;
                }
                if !self.nodes[from].connected || !self.nodes[to].connected {
                    return;
                }
                match payload {
                    Payload::Request(request) => {
                        let raft = self.nodes[to].raft.as_mut().expect("checked above");
                        let reply = raft.handle_request(request).expect("simulated peers send valid requests");
                        // Persist before the reply leaves.
                        self.after_input(to);
                        if self.chance(self.net.drop_reply) {
                            return;
                        }
                        let encoded = reply.encode().len() as u64;
                        self.bytes += encoded;
                        let mut delay = if self.net.delay_replies { self.delay() } else { self.random(2) };
                        if self.net.long_reordering && self.random(900) < 600 {
                            let spread = 1 + self.random(2000);
                            delay += 200 + self.random(spread);
                        }
                        let incarnation = self.nodes[from].incarnation;
                        let at = self.now + delay;
                        self.schedule(
                            at,
                            Event::Deliver {
                                from: to,
                                to: from,
                                to_incarnation: incarnation,
                                payload: Payload::Reply(reply),
                            },
                        );
                    }
                    Payload::Reply(reply) => {
                        let raft = self.nodes[to].raft.as_mut().expect("checked above");
                        raft.handle_reply(from as u32, reply).expect("simulated replies come from peers");
                        self.after_input(to);
                    }
                }
            }
        }
    }

    fn delay(&mut self) -> u64 {
        let span = self.net.delay_max.saturating_sub(self.net.delay_min);
        self.net.delay_min + self.random(span + 1)
    }

    /// Carries out node `i`'s Ready (persist, send, apply), lets its service snapshot, and checks invariants.
    fn after_input(&mut self, i: usize) {
        loop {
            let Some(raft) = self.nodes[i].raft.as_mut() else { return };
            let ready = raft.take_ready();
            if ready.is_empty() {
                break;
            }
            if let Some(state) = ready.persist {
                let node = &mut self.nodes[i];
                node.snapshot = node.raft.as_ref().expect("running").snapshot_data().to_vec();
                self.max_state_bytes = self.max_state_bytes.max(state.len());
                node.state = state;
            }
            for (peer, request) in ready.messages {
                self.send(i, peer as usize, request);
            }
            for apply in ready.apply {
                self.apply(i, apply);
            }
        }
        self.check(i);
    }

    fn send(&mut self, from: usize, to: usize, request: Request) {
        self.rpcs += 1;
        let kind = match &request {
            Request::Vote(_) => &mut self.rpc_kinds.votes,
            Request::Append(a) if a.entries.is_empty() => &mut self.rpc_kinds.empty_appends,
            Request::Append(_) => &mut self.rpc_kinds.appends,
            Request::Snapshot(_) => &mut self.rpc_kinds.snapshots,
        };
        *kind += 1;
        let encoded = request.encode().len() as u64;
        self.bytes += encoded;
        if self.chance(self.net.drop_request) {
            return;
        }
        let copies = if self.chance(self.net.duplicate) { 2 } else { 1 };
        for _ in 0..copies {
            let at = self.now + self.delay();
            let incarnation = self.nodes[to].incarnation;
            self.schedule(
                at,
                Event::Deliver { from, to, to_incarnation: incarnation, payload: Payload::Request(request.clone()) },
            );
        }
    }

    fn apply(&mut self, i: usize, apply: Apply) {
        match apply {
            Apply::Command { index, term, command } => {
                let node = &mut self.nodes[i];
                node.service.digest = next_digest(node.service.digest, index, &command);
                node.service.applied = index;
                node.high_water = node.high_water.max(index);
                let digest = node.service.digest;
                self.checker.observe_command(i, index, term, &command, digest);
                if let Some(every) = self.snapshot_every {
                    if index % every == 0 {
                        let data = self.nodes[i].service.encode();
                        let raft = self.nodes[i].raft.as_mut().expect("running");
                        raft.snapshot(index, data).expect("the service snapshots only what it applied");
                    }
                }
            }
            Apply::Snapshot { index, data, .. } => {
                let service = Service::decode(&data);
                let node = &mut self.nodes[i];
                node.service = service;
                node.high_water = node.high_water.max(index);
                let digest = node.service.digest;
                self.checker.observe_snapshot_apply(i, index, digest);
            }
        }
    }

    fn check(&mut self, i: usize) {
        let Some(raft) = self.nodes[i].raft.as_ref() else { return };
        let status = raft.status();
        let previous = self.nodes[i].snapshot_index;
        self.checker.observe_snapshot_index(i, previous, status.snapshot_index);
        self.nodes[i].snapshot_index = status.snapshot_index;
        let raft = self.nodes[i].raft.as_ref().expect("running");
        if status.commit_index > 0 && self.first_commit_at.is_none() {
            self.first_commit_at = Some(self.now);
        }
        if status.role == Role::Leader {
            self.first_leader_at.get_or_insert(self.now);
            self.checker.observe_leader(i, status.term, raft.log());
        }
        self.checker.observe_log(i, raft.log());
    }

    // ----- the lab tester's helpers --------------------------------------------------------------------------

    /// Proposes `command` at node `i`: its (index, term) if it leads.
    pub fn start(&mut self, i: usize, command: u64) -> Option<(Index, Term)> {
        let raft = self.nodes[i].raft.as_mut()?;
        let accepted = raft.propose(command.to_le_bytes().to_vec()).ok();
        self.after_input(i);
        accepted
    }

    /// The lab's checkOneLeader: up to 10 rounds of 450–549 ms, each looking for leaders among connected
    /// nodes; two in one term is an error, the leader of the highest term wins.
    pub fn check_one_leader(&mut self) -> Result<usize, String> {
        for _ in 0..10 {
            let pause = 450 + self.random(100);
            self.run_for(pause);
            let mut best: Option<(Term, usize)> = None;
            let mut per_term: std::collections::BTreeMap<Term, Vec<usize>> = Default::default();
            for i in 0..self.nodes.len() {
                if self.nodes[i].connected {
                    let (term, leader) = self.state(i);
                    if leader {
                        per_term.entry(term).or_default().push(i);
                    }
                }
            }
            for (term, leaders) in &per_term {
                if leaders.len() > 1 {
                    return Err(format!("term {term} has {} (>1) leaders", leaders.len()));
                }
                best = Some((*term, leaders[0]));
            }
            if let Some((_, leader)) = best {
                return Ok(leader);
            }
        }
        Err("expected one leader, got none".into())
    }

    /// The lab's checkTerms: every connected node reports the same term.
    pub fn check_terms(&self) -> Result<Term, String> {
        let mut term = None;
        for i in 0..self.nodes.len() {
            if self.nodes[i].connected {
                let t = self.state(i).0;
                match term {
                    None => term = Some(t),
                    Some(known) if known != t => return Err("servers disagree on term".into()),
                    Some(_) => {}
                }
            }
        }
        term.ok_or_else(|| "no connected server".into())
    }

    /// The lab's checkNoLeader: no connected node claims to lead.
    pub fn check_no_leader(&self) -> Result<(), String> {
        match (0..self.nodes.len()).find(|&i| self.nodes[i].connected && self.state(i).1) {
            Some(i) => Err(format!("expected no leader among connected servers, but {i} claims to be leader")),
            None => Ok(()),
        }
    }

    /// The lab's nCommitted: how many nodes' services reached `index`, and the command there.
    pub fn n_committed(&self, index: Index) -> (usize, Option<u64>) {
        let count = self.nodes.iter().filter(|n| n.high_water >= index).count();
        let command = self
            .checker
            .committed_command(index)
            .map(|bytes| u64::from_le_bytes(bytes.try_into().unwrap_or([0xff; 8])));
        (if command.is_some() { count } else { 0 }, command)
    }

    /// The lab's one(): tries Start on connected nodes round-robin for up to 10 s, then waits up to 2 s for
    /// `expected` nodes to apply it. With `retry` false, the first failed 2-s window is an error.
    pub fn one(&mut self, command: u64, expected: usize, retry: bool) -> Result<Index, String> {
        let mut call = [OneCall::new(self, command, expected, retry)];
        self.run_calls(&mut call, 0)?;
        Ok(call[0].waiting.expect("a finished call was given an index").0)
    }

    /// Runs the cluster until `calls[until]` finishes, the other calls acting at their times too, as the lab's
    /// goroutines each running one() do; finished calls stay in `calls` (see [`OneCall::done`]).
    pub fn run_calls(&mut self, calls: &mut [OneCall], until: usize) -> Result<(), String> {
        while !calls[until].done {
            let k = (0..calls.len()).filter(|&k| !calls[k].done).min_by_key(|&k| calls[k].next_at).expect("one left");
            if calls[k].next_at > self.now {
                self.run_for(calls[k].next_at - self.now);
            }
            calls[k].step(self)?;
        }
        Ok(())
    }

    /// The lab's wait(): polls with doubling sleeps for `n` nodes to apply `index`; `None` if a node's term
    /// passed `start_term` first.
    pub fn wait(&mut self, index: Index, n: usize, start_term: Option<Term>) -> Result<Option<u64>, String> {
        let mut pause = 10;
        for _ in 0..30 {
            let (count, _) = self.n_committed(index);
            if count >= n {
                break;
            }
            self.run_for(pause);
            if pause < 1000 {
                pause *= 2;
            }
            if let Some(term) = start_term {
                if (0..self.nodes.len()).any(|i| self.state(i).0 > term) {
                    return Ok(None);
                }
            }
        }
        let (count, command) = self.n_committed(index);
        if count < n {
            return Err(format!("only {count} decided for index {index}; wanted {n}"));
        }
        Ok(command)
    }

    /// A random value from the cluster's PRNG, for scenarios.
    pub fn rand(&mut self, below: u64) -> u64 {
        self.random(below)
    }
}

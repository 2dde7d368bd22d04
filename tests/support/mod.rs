//! A loopback cluster driven only through the exported C functions, with C-ABI fake callbacks: the same shape
//! as the Go shim (a `user` value per incarnation, a "killed" flag set before `raft_kill`, RPCs delivered and
//! answered on other threads), plus a network that can drop and partition.
//!
//! Callbacks must never panic (a panic cannot leave an `extern "C"` function), so they record violations in
//! [`Net::violations`], and [`Cluster::finish`] asserts there are none.
// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use raftcore::ffi::*;

/// Fast timing so scenarios finish in seconds; still 3+ heartbeats per election timeout.
pub const HEARTBEAT_MS: u32 = 30;
pub const ELECTION_MS: (u32, u32) = (150, 300);
const WORKERS: usize = 4;

pub fn config(me: u32, peers: u32, seed: u64, state: &[u8], snapshot: &[u8]) -> RaftConfig {
    RaftConfig {
        me,
        peers,
        heartbeat_ms: HEARTBEAT_MS,
        election_timeout_min_ms: ELECTION_MS.0,
        election_timeout_max_ms: ELECTION_MS.1,
        pacing: RaftPacing::Prompt as u32,
        seed,
        state: if state.is_empty() { ptr::null() } else { state.as_ptr() },
        state_len: state.len(),
        snapshot: if snapshot.is_empty() { ptr::null() } else { snapshot.as_ptr() },
        snapshot_len: snapshot.len(),
    }
}

/// Copies and frees a Rust-owned buffer.
pub fn take(buf: RaftBuf) -> Vec<u8> {
    let bytes =
        if buf.len == 0 { Vec::new() } else { unsafe { std::slice::from_raw_parts(buf.ptr, buf.len) }.to_vec() };
    unsafe { raft_buf_free(buf) };
    bytes
}

/// Runs `f` with an error buffer and returns its status and message.
pub fn with_err(f: impl FnOnce(*mut RaftBuf) -> i32) -> (i32, String) {
    let mut err = RaftBuf::EMPTY;
    let rc = f(&mut err);
    (rc, String::from_utf8(take(err)).expect("UTF-8 message"))
}

pub fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out after {limit:?} waiting until {what}");
        thread::sleep(Duration::from_millis(10));
    }
}

/// What one peer's service has applied.
#[derive(Default)]
struct Service {
    last_applied: u64,
    applied: BTreeMap<u64, Vec<u8>>,
    snapshots_installed: usize,
}

impl Service {
    /// Snapshot bytes: the last applied index, then every applied (index, command).
    fn encode(&self) -> Vec<u8> {
        let mut out = self.last_applied.to_le_bytes().to_vec();
        for (index, command) in &self.applied {
            out.extend_from_slice(&index.to_le_bytes());
            out.extend_from_slice(&(command.len() as u32).to_le_bytes());
            out.extend_from_slice(command);
        }
        out
    }

    fn decode(bytes: &[u8]) -> Option<Service> {
        let mut service = Service::default();
        if bytes.is_empty() {
            return Some(service);
        }
        let (head, mut rest) = bytes.split_at_checked(8)?;
        service.last_applied = u64::from_le_bytes(head.try_into().ok()?);
        while !rest.is_empty() {
            let (index, tail) = rest.split_at_checked(8)?;
            let (len, tail) = tail.split_at_checked(4)?;
            let (command, tail) = tail.split_at_checked(u32::from_le_bytes(len.try_into().ok()?) as usize)?;
            service.applied.insert(u64::from_le_bytes(index.try_into().ok()?), command.to_vec());
            rest = tail;
        }
        Some(service)
    }
}

/// One incarnation of a peer: what its callbacks' `user` value points to.
pub struct Incarnation {
    net: Arc<Net>,
    id: usize,
    handle: AtomicU64,
    /// Set before `raft_kill`, like the Go shim's `done` channel.
    killed: AtomicBool,
    /// Set after `raft_kill` returned: any callback from then on is a violation.
    kill_returned: AtomicBool,
}

struct Delivery {
    from: Arc<Incarnation>,
    to: usize,
    kind: u32,
    req_id: u64,
    request: Vec<u8>,
}

/// Options of a [`Cluster`].
#[derive(Clone, Copy, Default)]
pub struct Options {
    /// The service snapshots after every this many applied commands (0: never).
    pub snapshot_every: u64,
    /// `RaftConfig::pacing` of every peer (0: prompt).
    pub pacing: u32,
}

pub struct Net {
    n: usize,
    opts: Options,
    live: Vec<Mutex<Option<Arc<Incarnation>>>>,
    retired: Mutex<Vec<Arc<Incarnation>>>,
    saved: Vec<Mutex<(Vec<u8>, Vec<u8>)>>,
    services: Vec<Mutex<Service>>,
    committed: Mutex<BTreeMap<u64, Vec<u8>>>,
    pub violations: Mutex<Vec<String>>,
    connected: Vec<AtomicBool>,
    drop_per_mille: AtomicU32,
    rng: Mutex<u64>,
    queue: Mutex<VecDeque<Delivery>>,
    wake: Condvar,
    shutdown: AtomicBool,
    pub block_apply: AtomicBool,
    pub blocked_applies: AtomicUsize,
    pub rpcs: AtomicUsize,
}

impl Net {
    fn violation(&self, message: String) {
        self.violations.lock().push(message);
    }

    fn dropped(&self) -> bool {
        let per_mille = self.drop_per_mille.load(Ordering::Relaxed);
        if per_mille == 0 {
            return false;
        }
        let mut x = self.rng.lock();
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        (*x % 1000) < u64::from(per_mille)
    }

    fn reachable(&self, a: usize, b: usize) -> bool {
        self.connected[a].load(Ordering::SeqCst) && self.connected[b].load(Ordering::SeqCst) && !self.dropped()
    }

    fn deliver(&self, d: Delivery) {
        self.rpcs.fetch_add(1, Ordering::Relaxed);
        let reply = self.call(&d);
        let from = d.from.handle.load(Ordering::SeqCst);
        let rc = match &reply {
            Some(bytes) => unsafe {
                raft_rpc_reply(from, d.req_id, true, bytes.as_ptr(), bytes.len(), ptr::null_mut())
            },
            None => unsafe { raft_rpc_reply(from, d.req_id, false, ptr::null(), 0, ptr::null_mut()) },
        };
        if rc != RaftStatus::Ok as i32 && rc != RaftStatus::Closed as i32 {
            self.violation(format!("raft_rpc_reply returned {rc}"));
        }
    }

    /// Delivers a request and returns the reply, or None when the network or the target lost it.
    fn call(&self, d: &Delivery) -> Option<Vec<u8>> {
        if !self.reachable(d.from.id, d.to) {
            return None;
        }
        let target = self.live[d.to].lock().as_ref().map(|inc| inc.handle.load(Ordering::SeqCst))?;
        let mut out = RaftBuf::EMPTY;
        let rc =
            unsafe { raft_handle_rpc(target, d.kind, d.request.as_ptr(), d.request.len(), &mut out, ptr::null_mut()) };
        if rc != RaftStatus::Ok as i32 {
            if rc != RaftStatus::Closed as i32 {
                self.violation(format!("raft_handle_rpc returned {rc}"));
            }
            return None;
        }
        let reply = take(out);
        self.reachable(d.to, d.from.id).then_some(reply)
    }

    fn worker(self: Arc<Net>) {
        loop {
            let delivery = {
                let mut queue = self.queue.lock();
                loop {
                    if self.shutdown.load(Ordering::SeqCst) {
                        return;
                    }
                    if let Some(d) = queue.pop_front() {
                        break d;
                    }
                    self.wake.wait_for(&mut queue, Duration::from_millis(50));
                }
            };
            self.deliver(delivery);
        }
    }
}

fn incarnation<'a>(user: u64) -> &'a Incarnation {
    // SAFETY: `user` is an `Arc<Incarnation>` pointer kept alive (in `live` or `retired`) until the cluster drops.
    unsafe { &*(user as *const Incarnation) }
}

fn late(inc: &Incarnation, what: &str) {
    if inc.kill_returned.load(Ordering::SeqCst) {
        inc.net.violation(format!("{what} on peer {} after raft_kill returned", inc.id));
    }
}

unsafe extern "C" fn send_rpc(user: u64, peer: u32, kind: u32, req_id: u64, req: *const u8, len: usize) {
    let inc = incarnation(user);
    late(inc, "send_rpc");
    let request = unsafe { std::slice::from_raw_parts(req, len) }.to_vec();
    let from = inc.net.live[inc.id].lock().clone();
    let Some(from) = from.filter(|f| ptr::eq(Arc::as_ptr(f), inc)) else {
        return;
    };
    inc.net.queue.lock().push_back(Delivery { from, to: peer as usize, kind, req_id, request });
    inc.net.wake.notify_one();
}

unsafe extern "C" fn persist(user: u64, state: *const u8, state_len: usize, snap: *const u8, snap_len: usize) -> i32 {
    let inc = incarnation(user);
    late(inc, "persist");
    let bytes = |p: *const u8, len: usize| {
        if len == 0 {
            Vec::new()
        } else {
            unsafe { std::slice::from_raw_parts(p, len) }.to_vec()
        }
    };
    *inc.net.saved[inc.id].lock() = (bytes(state, state_len), bytes(snap, snap_len));
    0
}

unsafe extern "C" fn apply(user: u64, msg: *const RaftApplyMsg) -> i32 {
    let inc = incarnation(user);
    let net = &inc.net;
    late(inc, "apply");
    if net.block_apply.load(Ordering::SeqCst) {
        net.blocked_applies.fetch_add(1, Ordering::SeqCst);
        while !inc.killed.load(Ordering::SeqCst) {
            thread::sleep(Duration::from_millis(1));
        }
    }
    if inc.killed.load(Ordering::SeqCst) {
        return 1;
    }
    let msg = unsafe { &*msg };
    let data = if msg.len == 0 { &[][..] } else { unsafe { std::slice::from_raw_parts(msg.data, msg.len) } };
    let mut service = net.services[inc.id].lock();
    if msg.command_valid == msg.snapshot_valid {
        net.violation(format!("peer {} got an apply with both or neither flag", inc.id));
    } else if msg.command_valid {
        if msg.index != service.last_applied + 1 {
            net.violation(format!("peer {} applied {} after {}", inc.id, msg.index, service.last_applied));
        }
        service.last_applied = msg.index;
        service.applied.insert(msg.index, data.to_vec());
        let mut committed = net.committed.lock();
        match committed.get(&msg.index) {
            Some(c) if c != data => {
                net.violation(format!("peer {} applied a different command at {}", inc.id, msg.index))
            }
            Some(_) => {}
            None => {
                committed.insert(msg.index, data.to_vec());
            }
        }
        drop(committed);
        if net.opts.snapshot_every > 0 && msg.index % net.opts.snapshot_every == 0 {
            let snap = service.encode();
            drop(service);
            let h = inc.handle.load(Ordering::SeqCst);
            let rc = unsafe { raft_snapshot(h, msg.index as i64, snap.as_ptr(), snap.len(), ptr::null_mut()) };
            if rc != RaftStatus::Ok as i32 && rc != RaftStatus::Closed as i32 {
                net.violation(format!("raft_snapshot({}) on peer {} returned {rc}", msg.index, inc.id));
            }
        }
    } else {
        if msg.index <= service.last_applied {
            net.violation(format!(
                "peer {} got snapshot {} after applying {}",
                inc.id, msg.index, service.last_applied
            ));
        }
        match Service::decode(data) {
            Some(mut restored) if restored.last_applied == msg.index => {
                restored.snapshots_installed = service.snapshots_installed + 1;
                *service = restored;
            }
            _ => net.violation(format!("peer {} got an undecodable snapshot at {}", inc.id, msg.index)),
        }
    }
    0
}

unsafe extern "C" fn log(_user: u64, _level: i32, _msg: *const u8, _len: usize) {}

pub fn callbacks(user: u64) -> RaftCallbacks {
    RaftCallbacks { user, send_rpc: Some(send_rpc), persist: Some(persist), apply: Some(apply), log: Some(log) }
}

/// A cluster of `n` peers on a loopback network, each restartable from its saved bytes.
pub struct Cluster {
    pub net: Arc<Net>,
    workers: Vec<JoinHandle<()>>,
    seed: u64,
    /// Commands `one` proposed again after a first proposal did not commit in time.
    resubmitted: AtomicU64,
}

impl Cluster {
    pub fn new(n: usize, seed: u64, opts: Options) -> Cluster {
        let net = Arc::new(Net {
            n,
            opts,
            live: (0..n).map(|_| Mutex::new(None)).collect(),
            retired: Mutex::new(Vec::new()),
            saved: (0..n).map(|_| Mutex::new((Vec::new(), Vec::new()))).collect(),
            services: (0..n).map(|_| Mutex::new(Service::default())).collect(),
            committed: Mutex::new(BTreeMap::new()),
            violations: Mutex::new(Vec::new()),
            connected: (0..n).map(|_| AtomicBool::new(true)).collect(),
            drop_per_mille: AtomicU32::new(0),
            rng: Mutex::new(seed | 1),
            queue: Mutex::new(VecDeque::new()),
            wake: Condvar::new(),
            shutdown: AtomicBool::new(false),
            block_apply: AtomicBool::new(false),
            blocked_applies: AtomicUsize::new(0),
            rpcs: AtomicUsize::new(0),
        });
        let workers = (0..WORKERS)
            .map(|_| {
                let net = Arc::clone(&net);
                thread::spawn(move || net.worker())
            })
            .collect();
        let cluster = Cluster { net, workers, seed, resubmitted: AtomicU64::new(0) };
        for i in 0..n {
            cluster.start(i);
        }
        cluster
    }

    /// Starts peer `i` from its saved state and snapshot; its service restarts from the snapshot.
    pub fn start(&self, i: usize) {
        let (state, snapshot) = self.net.saved[i].lock().clone();
        let mut restored = Service::decode(&snapshot).expect("own snapshot decodes");
        let mut service = self.net.services[i].lock();
        restored.snapshots_installed = service.snapshots_installed;
        *service = restored;
        drop(service);
        let inc = Arc::new(Incarnation {
            net: Arc::clone(&self.net),
            id: i,
            handle: AtomicU64::new(0),
            killed: AtomicBool::new(false),
            kill_returned: AtomicBool::new(false),
        });
        let cfg = RaftConfig {
            pacing: self.net.opts.pacing,
            ..config(
                i as u32,
                self.net.n as u32,
                self.seed.wrapping_mul(31).wrapping_add(i as u64 + 1),
                &state,
                &snapshot,
            )
        };
        let cbs = callbacks(Arc::as_ptr(&inc) as u64);
        let mut handle = 0;
        let (rc, message) = with_err(|err| unsafe { raft_make(&cfg, &cbs, &mut handle, err) });
        assert_eq!(rc, RaftStatus::Ok as i32, "raft_make of peer {i}: {message}");
        inc.handle.store(handle, Ordering::SeqCst);
        *self.net.live[i].lock() = Some(inc);
    }

    /// Kills peer `i` the way the Go shim does: flag first (unblocks `apply`), then `raft_kill`.
    pub fn crash(&self, i: usize) {
        let Some(inc) = self.net.live[i].lock().take() else { return };
        inc.killed.store(true, Ordering::SeqCst);
        let (rc, message) = with_err(|err| unsafe { raft_kill(inc.handle.load(Ordering::SeqCst), err) });
        assert_eq!(rc, RaftStatus::Ok as i32, "raft_kill of peer {i}: {message}");
        inc.kill_returned.store(true, Ordering::SeqCst);
        self.net.retired.lock().push(inc);
    }

    pub fn handle(&self, i: usize) -> Option<u64> {
        self.net.live[i].lock().as_ref().map(|inc| inc.handle.load(Ordering::SeqCst))
    }

    pub fn disconnect(&self, i: usize) {
        self.net.connected[i].store(false, Ordering::SeqCst);
    }

    pub fn connect(&self, i: usize) {
        self.net.connected[i].store(true, Ordering::SeqCst);
    }

    pub fn set_drop_per_mille(&self, per_mille: u32) {
        self.net.drop_per_mille.store(per_mille, Ordering::SeqCst);
    }

    pub fn state(&self, i: usize) -> Option<(i64, bool)> {
        let h = self.handle(i)?;
        let (mut term, mut leader) = (0, false);
        let rc = unsafe { raft_get_state(h, &mut term, &mut leader, ptr::null_mut()) };
        assert_eq!(rc, RaftStatus::Ok as i32, "raft_get_state of peer {i}");
        Some((term, leader))
    }

    /// What `raft_get_leader` says on peer `i`: the leader it follows, -1 for none.
    pub fn leader_hint(&self, i: usize) -> Option<i64> {
        let h = self.handle(i)?;
        let mut leader = -2;
        let rc = unsafe { raft_get_leader(h, &mut leader, ptr::null_mut()) };
        assert_eq!(rc, RaftStatus::Ok as i32, "raft_get_leader of peer {i}");
        Some(leader)
    }

    fn reachable_peers(&self) -> Vec<usize> {
        (0..self.net.n).filter(|&i| self.net.connected[i].load(Ordering::SeqCst) && self.handle(i).is_some()).collect()
    }

    /// Waits for exactly one leader among the connected live peers (no term with two), and returns it.
    pub fn check_one_leader(&self) -> usize {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let mut by_term: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
            for i in self.reachable_peers() {
                if let Some((term, true)) = self.state(i) {
                    by_term.entry(term).or_default().push(i);
                }
            }
            for (term, leaders) in &by_term {
                assert!(leaders.len() == 1, "term {term} has leaders {leaders:?}");
            }
            if let Some((_, leaders)) = by_term.last_key_value() {
                return leaders[0];
            }
            assert!(Instant::now() < deadline, "no leader elected");
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// How many peers applied something at `index`, and what (all must agree).
    pub fn n_committed(&self, index: u64) -> (usize, Option<Vec<u8>>) {
        let mut count = 0;
        let mut command: Option<Vec<u8>> = None;
        for service in &self.net.services {
            if let Some(c) = service.lock().applied.get(&index) {
                if let Some(prev) = &command {
                    assert_eq!(prev, c, "peers applied different commands at {index}");
                }
                command = Some(c.clone());
                count += 1;
            }
        }
        (count, command)
    }

    /// The lab's `one`: gets `command` committed on at least `expected` peers, retrying leaders; returns its index.
    pub fn one(&self, command: &[u8], expected: usize) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            for i in self.reachable_peers() {
                let Some(h) = self.handle(i) else { continue };
                let (mut index, mut term, mut leader) = (0, 0, false);
                let rc = unsafe {
                    raft_start(h, command.as_ptr(), command.len(), &mut index, &mut term, &mut leader, ptr::null_mut())
                };
                if rc != RaftStatus::Ok as i32 || !leader {
                    continue;
                }
                let until = Instant::now() + Duration::from_secs(2);
                while Instant::now() < until {
                    let (count, got) = self.n_committed(index as u64);
                    if count >= expected && got.as_deref() == Some(command) {
                        return index as u64;
                    }
                    thread::sleep(Duration::from_millis(10));
                }
                self.resubmitted.fetch_add(1, Ordering::SeqCst);
            }
            thread::sleep(Duration::from_millis(50));
        }
        panic!("one({command:?}) failed to reach agreement on {expected} peers");
    }

    /// How many proposals `one` has made again. The first may still commit later (a new leader commits it with
    /// an entry of its own term), so each can add one entry to the log: after `n` commands, the last one's index
    /// is between `n` and `n` plus this.
    pub fn resubmissions(&self) -> u64 {
        self.resubmitted.load(Ordering::SeqCst)
    }

    pub fn snapshots_installed(&self, i: usize) -> usize {
        self.net.services[i].lock().snapshots_installed
    }

    pub fn last_applied(&self, i: usize) -> u64 {
        self.net.services[i].lock().last_applied
    }

    pub fn saved_state_len(&self, i: usize) -> usize {
        self.net.saved[i].lock().0.len()
    }

    /// Kills every live peer, stops the network, waits a little for stray callbacks, and asserts that no
    /// callback broke a rule.
    pub fn finish(mut self) {
        for i in 0..self.net.n {
            self.crash(i);
        }
        self.stop_workers();
        thread::sleep(Duration::from_millis(50));
        let violations = self.net.violations.lock().clone();
        assert!(violations.is_empty(), "violations: {violations:#?}");
    }

    fn stop_workers(&mut self) {
        self.net.shutdown.store(true, Ordering::SeqCst);
        self.net.wake.notify_all();
        for w in self.workers.drain(..) {
            w.join().expect("worker");
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // A test that failed part-way still stops its peers, so the next test's thread counts stay clean.
        for i in 0..self.net.n {
            if let Some(inc) = self.net.live[i].lock().take() {
                inc.killed.store(true, Ordering::SeqCst);
                unsafe { raft_kill(inc.handle.load(Ordering::SeqCst), ptr::null_mut()) };
                inc.kill_returned.store(true, Ordering::SeqCst);
                self.net.retired.lock().push(inc);
            }
        }
        self.stop_workers();
    }
}

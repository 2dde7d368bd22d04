//! The driver's own duties, checked with a recording fake host on a single node (clusters run through the C ABI
//! in `tests/`): persist before replies and sends, failures and panics contained, re-entrant calls refused,
//! kill from inside callbacks.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::*;
use crate::core::{AppendEntries, Apply, Entry, PeerId, RequestVote};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Persist { state_len: usize, snapshot: Vec<u8> },
    Send { peer: PeerId, kind: RpcKind, req_id: u64 },
}

type Hook = Box<dyn Fn(&Node<Recorder>) + Send + Sync>;

#[derive(Default)]
struct Recorder {
    node: OnceLock<Weak<Node<Recorder>>>,
    events: Mutex<Vec<Event>>,
    applied: Mutex<Vec<Apply>>,
    fail_persist: AtomicBool,
    panic_persist: AtomicBool,
    on_send: Mutex<Option<Hook>>,
    on_apply: Mutex<Option<Hook>>,
    on_persist: Mutex<Option<Hook>>,
    arm_persist: AtomicBool,
    callbacks_running: AtomicUsize,
    logs: Mutex<Vec<(LogLevel, String)>>,
}

impl Recorder {
    fn run_hook(&self, hook: &Mutex<Option<Hook>>) {
        // The hook is taken out while it runs, so no test lock is held across a call into the node.
        let Some(f) = hook.lock().take() else { return };
        if let Some(node) = self.node.get().and_then(Weak::upgrade) {
            f(&node);
        }
    }
}

impl Host for Recorder {
    fn send_rpc(&self, peer: PeerId, kind: RpcKind, req_id: u64, _request: &[u8]) {
        self.callbacks_running.fetch_add(1, Ordering::SeqCst);
        self.events.lock().push(Event::Send { peer, kind, req_id });
        self.run_hook(&self.on_send);
        self.callbacks_running.fetch_sub(1, Ordering::SeqCst);
    }

    fn persist(&self, state: &[u8], snapshot: &[u8]) -> Result<(), CallbackError> {
        assert!(!self.panic_persist.load(Ordering::SeqCst), "persist panics on purpose");
        if self.fail_persist.load(Ordering::SeqCst) {
            return Err(CallbackError(5));
        }
        self.events.lock().push(Event::Persist { state_len: state.len(), snapshot: snapshot.to_vec() });
        if self.arm_persist.load(Ordering::SeqCst) {
            self.run_hook(&self.on_persist);
        }
        Ok(())
    }

    fn apply(&self, msg: &Apply) -> Result<(), CallbackError> {
        self.applied.lock().push(msg.clone());
        self.run_hook(&self.on_apply);
        Ok(())
    }

    fn log(&self, level: LogLevel, message: &str) {
        self.logs.lock().push((level, message.to_owned()));
    }
}

fn fast(me: PeerId, peers: u32) -> NodeConfig {
    NodeConfig {
        heartbeat_ms: 20,
        election_timeout_min_ms: 50,
        election_timeout_max_ms: 80,
        seed: 42,
        ..NodeConfig::new(me, peers)
    }
}

fn start(cfg: NodeConfig) -> Arc<Node<Recorder>> {
    let node = Arc::new(Node::start(&cfg, &[], &[], Recorder::default()).expect("start"));
    assert!(node.host().node.set(Arc::downgrade(&node)).is_ok(), "set once");
    node
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn heartbeat_from_leader_1(term: u64) -> Vec<u8> {
    Request::Append(AppendEntries {
        term,
        leader: 1,
        prev_log_index: 0,
        prev_log_term: 0,
        entries: vec![Entry { term, command: b"x".to_vec().into() }],
        leader_commit: 0,
    })
    .encode()
}

#[test]
fn a_lone_peer_elects_itself_and_persists_each_proposal_before_answering() {
    let node = start(fast(0, 1));
    wait_until("leader", || node.state().unwrap().1);
    let before = node.host().events.lock().len();
    let p = node.propose(b"one".to_vec()).unwrap();
    assert_eq!((p.index, p.is_leader), (1, true));
    assert!(node.host().events.lock().len() > before, "the entry was persisted before propose returned");
    wait_until("applied", || node.host().applied.lock().len() == 1);
    assert_eq!(
        node.host().applied.lock()[0],
        Apply::Command { index: 1, term: p.term, command: b"one".to_vec().into() }
    );
    assert!(node.persist_bytes().unwrap() > 0);
    node.snapshot(1, b"snap").unwrap();
    let last = node.host().events.lock().last().cloned();
    assert!(
        matches!(last, Some(Event::Persist { snapshot, .. }) if snapshot == b"snap"),
        "persisted before it returned"
    );
    assert!(matches!(node.snapshot(9, &[]), Err(NodeError::OutOfRange(_))));
    node.kill().unwrap();
    assert_eq!(node.kill(), Err(NodeError::Closed));
    assert_eq!(node.state(), Err(NodeError::Closed));
}

#[test]
fn snapshots_far_behind_do_not_wait_and_share_the_next_persist() {
    // A service that snapshots after every applied entry must neither wait for the event loop nor pay a persist
    // per entry while it is far behind: a follower that fell behind would then never catch up (see the event loop).
    let node = start(fast(0, 1));
    wait_until("leader", || node.state().unwrap().1);
    const ENTRIES: u64 = 200;
    const FAR_BEHIND: u64 = ENTRIES - SNAPSHOT_WAIT_LOG - 1;
    for i in 0..ENTRIES {
        node.propose(format!("op {i}").into_bytes()).unwrap();
    }
    wait_until("applied", || node.host().applied.lock().len() == ENTRIES as usize);
    let persists = || node.host().events.lock().iter().filter(|e| matches!(e, Event::Persist { .. })).count();
    let last_snapshot = || match node.host().events.lock().last() {
        Some(Event::Persist { snapshot, .. }) => snapshot.clone(),
        _ => Vec::new(),
    };
    let before = persists();

    // The first snapshot's persist holds the loop until the gate closes; the rest are given meanwhile, from a
    // thread of their own, so that a snapshot that waited for the loop would fail this test instead of hanging it.
    let (gate, held) = crossbeam_channel::bounded::<()>(0);
    let (entered, in_persist) = crossbeam_channel::bounded::<()>(1);
    *node.host().on_persist.lock() = Some(Box::new(move |_| {
        let _ = entered.send(());
        let _ = held.recv();
    }));
    node.host().arm_persist.store(true, Ordering::SeqCst);
    let returned = Arc::new(AtomicBool::new(false));
    let caller = {
        let (node, returned) = (Arc::clone(&node), Arc::clone(&returned));
        std::thread::spawn(move || {
            node.snapshot(1, b"through 1").unwrap();
            in_persist.recv_timeout(Duration::from_secs(5)).expect("the loop persists the first snapshot");
            for index in 2..=FAR_BEHIND {
                node.snapshot(index, format!("through {index}").as_bytes()).unwrap();
            }
            returned.store(true, Ordering::SeqCst);
        })
    };
    wait_until("the snapshots returned while the loop was busy", || returned.load(Ordering::SeqCst));
    caller.join().unwrap();
    drop(gate);
    let newest = format!("through {FAR_BEHIND}").into_bytes();
    wait_until("the newest snapshot persisted", || last_snapshot() == newest);
    assert_eq!(
        persists() - before,
        2,
        "the first snapshot's persist, then one for the {} given meanwhile",
        FAR_BEHIND - 1
    );

    // Caught up, a snapshot is persisted before it returns, as the lab expects.
    node.snapshot(ENTRIES, b"caught up").unwrap();
    assert_eq!(last_snapshot(), b"caught up");
    assert!(matches!(node.snapshot(ENTRIES + 1, &[]), Err(NodeError::OutOfRange(_))));
    node.kill().unwrap();
}

#[test]
fn a_follower_persists_a_request_before_replying_and_refuses_bad_bytes() {
    let node = start(NodeConfig { election_timeout_min_ms: 5000, election_timeout_max_ms: 5000, ..fast(0, 3) });
    let reply = node.handle_rpc(RpcKind::AppendEntries, &heartbeat_from_leader_1(3)).unwrap();
    assert!(matches!(Reply::decode(&reply).unwrap(), Reply::Append(r) if r.success && r.term == 3));
    assert!(matches!(node.host().events.lock()[..], [Event::Persist { .. }]), "persisted before the reply");
    assert_eq!(node.state().unwrap(), (3, false));

    assert!(matches!(node.handle_rpc(RpcKind::RequestVote, &heartbeat_from_leader_1(3)), Err(NodeError::Malformed(_))));
    assert!(matches!(node.handle_rpc(RpcKind::AppendEntries, b"\xff\xff"), Err(NodeError::Malformed(_))));
    let from_myself =
        Request::Vote(RequestVote { term: 9, candidate: 0, last_log_index: 0, last_log_term: 0 }).encode();
    assert!(matches!(node.handle_rpc(RpcKind::RequestVote, &from_myself), Err(NodeError::Malformed(_))));
    assert_eq!(node.state().unwrap(), (3, false), "refused requests change nothing");

    assert_eq!(node.rpc_reply(12345, None), Ok(()), "unknown ids are ignored");
    assert!(matches!(node.rpc_reply(12345, Some(b"\x07")), Err(NodeError::Malformed(_))));
}

#[test]
fn a_candidate_sends_votes_only_after_persisting_its_term_and_counts_replies_once() {
    let node = start(fast(0, 3));
    wait_until("votes requested", || node.host().events.lock().iter().any(|e| matches!(e, Event::Send { .. })));
    let events = node.host().events.lock().clone();
    let first_send = events.iter().position(|e| matches!(e, Event::Send { .. })).unwrap();
    assert!(matches!(events[first_send - 1], Event::Persist { .. }));
    let Event::Send { req_id, .. } = events[first_send] else { unreachable!() };
    let (term, _) = node.state().unwrap();
    let grant = Reply::Vote(crate::core::RequestVoteReply { term, vote_granted: true }).encode();
    node.rpc_reply(req_id, Some(&grant)).unwrap();
    node.rpc_reply(req_id, Some(&grant)).unwrap();
    wait_until("leader", || node.state().unwrap().1);
}

#[test]
fn a_failed_persist_stops_the_instance_before_anything_depending_on_it_is_sent() {
    let node = start(fast(0, 3));
    node.host().fail_persist.store(true, Ordering::SeqCst);
    wait_until("stopped", || node.state().is_err());
    assert!(matches!(node.state(), Err(NodeError::CallbackFailed(_))));
    assert!(node.host().events.lock().is_empty(), "no vote request went out without its term persisted");
    assert!(matches!(node.propose(vec![1]), Err(NodeError::CallbackFailed(_))));
    assert_eq!(node.kill(), Ok(()));
}

#[test]
fn a_panic_on_either_thread_is_contained_and_sticks() {
    let node = start(fast(0, 3));
    node.host().panic_persist.store(true, Ordering::SeqCst);
    wait_until("panicked", || node.state().is_err());
    assert!(matches!(node.state(), Err(NodeError::Panicked(m)) if m.contains("on purpose")));
    assert!(matches!(node.kill(), Err(NodeError::Panicked(_))));

    let node = start(fast(0, 3));
    node.inject_panic();
    wait_until("panicked", || node.state().is_err());
    assert!(matches!(
        node.handle_rpc(RpcKind::AppendEntries, &heartbeat_from_leader_1(1)),
        Err(NodeError::Panicked(_))
    ));

    let node = start(fast(0, 1));
    *node.host().on_apply.lock() = Some(Box::new(|_| panic!("apply panics on purpose")));
    wait_until("leader", || node.state().unwrap().1);
    let _ = node.propose(vec![1]);
    wait_until("panicked", || node.state().is_err());
    assert!(matches!(node.propose(vec![2]), Err(NodeError::Panicked(m)) if m.contains("applier")));
}

#[test]
fn calls_that_would_wait_for_the_loop_are_refused_from_its_callbacks() {
    let node = start(fast(0, 3));
    let seen = Arc::new(Mutex::new(None));
    let seen2 = Arc::clone(&seen);
    *node.host().on_send.lock() = Some(Box::new(move |node| {
        *seen2.lock() = Some((node.propose(vec![1]), node.state().is_ok(), node.persist_bytes().is_ok()));
    }));
    wait_until("hook ran", || seen.lock().is_some());
    let (propose, state_ok, bytes_ok) = seen.lock().take().unwrap();
    assert_eq!(propose, Err(NodeError::Reentrant));
    assert!(state_ok && bytes_ok, "reads of published values work anywhere");
}

#[test]
fn kill_from_inside_a_callback_detaches_the_calling_thread() {
    for on_apply in [false, true] {
        let node = start(fast(0, if on_apply { 1 } else { 3 }));
        let killed = Arc::new(Mutex::new(None));
        let killed2 = Arc::clone(&killed);
        let hook: Hook = Box::new(move |node| *killed2.lock() = Some(node.kill()));
        if on_apply {
            *node.host().on_apply.lock() = Some(hook);
            wait_until("leader", || node.state().unwrap().1);
            node.propose(vec![1]).unwrap();
        } else {
            *node.host().on_send.lock() = Some(hook);
        }
        wait_until("killed from a callback", || killed.lock().is_some());
        assert_eq!(killed.lock().take().unwrap(), Ok(()));
        wait_until("callbacks finished", || node.host().callbacks_running.load(Ordering::SeqCst) == 0);
        let events = node.host().events.lock().len();
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(node.host().events.lock().len(), events, "nothing ran after kill");
        assert_eq!(node.state(), Err(NodeError::Closed));
    }
}

#[test]
fn kill_on_the_loop_releases_an_applier_waiting_for_the_loop() {
    // The applier calls propose from inside apply; its persist runs a hook that kills the node from the loop
    // thread, which must join the applier while that applier waits for the loop: only the stop signal breaks
    // the cycle.
    let node = start(fast(0, 1));
    let result = Arc::new(Mutex::new(None));
    let result2 = Arc::clone(&result);
    *node.host().on_persist.lock() = Some(Box::new(|node| assert_eq!(node.kill(), Ok(()))));
    *node.host().on_apply.lock() = Some(Box::new(move |node| {
        node.host().arm_persist.store(true, Ordering::SeqCst);
        *result2.lock() = Some(node.propose(b"two".to_vec()));
    }));
    wait_until("leader", || node.state().unwrap().1);
    node.propose(b"one".to_vec()).unwrap();
    wait_until("apply finished", || result.lock().is_some());
    assert_eq!(result.lock().take().unwrap(), Err(NodeError::Closed));
    assert_eq!(node.state(), Err(NodeError::Closed));
}

/// A follower that never campaigns while a test runs, so only the test's requests change it.
fn quiet_follower() -> Arc<Node<Recorder>> {
    start(NodeConfig { election_timeout_min_ms: 60_000, election_timeout_max_ms: 60_000, ..fast(0, 3) })
}

fn append_from_leader_1(term: u64, prev: (u64, u64), entries: &[u64], leader_commit: u64) -> Vec<u8> {
    Request::Append(AppendEntries {
        term,
        leader: 1,
        prev_log_index: prev.0,
        prev_log_term: prev.1,
        entries: entries.iter().map(|&t| Entry { term: t, command: vec![t as u8].into() }).collect(),
        leader_commit,
    })
    .encode()
}

#[test]
fn a_request_no_correct_peer_sends_is_refused_and_reported_through_the_host_log() {
    let node = quiet_follower();
    node.handle_rpc(RpcKind::AppendEntries, &append_from_leader_1(3, (0, 0), &[3, 3, 3], 2)).unwrap();
    wait_until("entries 1 and 2 applied", || node.host().applied.lock().len() == 2);
    let persists = node.host().events.lock().len();

    let warnings = || {
        let logs = node.host().logs.lock();
        logs.iter().filter(|(level, _)| *level == LogLevel::Warn).map(|(_, m)| m.clone()).collect::<Vec<_>>()
    };
    let contradicting = append_from_leader_1(4, (0, 0), &[4], 0);
    let refused = node.handle_rpc(RpcKind::AppendEntries, &contradicting);
    assert!(matches!(&refused, Err(NodeError::Malformed(m)) if m.contains("committed")), "{refused:?}");
    let past_the_bound = append_from_leader_1(u64::MAX, (3, 3), &[], 3);
    let refused = node.handle_rpc(RpcKind::AppendEntries, &past_the_bound);
    assert!(matches!(&refused, Err(NodeError::Malformed(m)) if m.contains("term")), "{refused:?}");
    let warned = warnings();
    assert_eq!(warned.len(), 2, "one warning per refusal: {warned:?}");
    assert!(warned[0].contains("peer 1") && warned[0].contains("committed"), "{warned:?}");
    assert!(warned[1].contains("peer 1") && warned[1].contains("term"), "{warned:?}");

    assert_eq!(node.state().unwrap(), (3, false), "refused requests change nothing");
    assert_eq!(node.host().events.lock().len(), persists, "nothing was persisted for them");
    // The committed log is intact: the leader of term 3 carries on from it.
    let reply = node.handle_rpc(RpcKind::AppendEntries, &append_from_leader_1(3, (3, 3), &[], 3)).unwrap();
    assert!(matches!(Reply::decode(&reply).unwrap(), Reply::Append(r) if r.success && r.match_index == 3));
    wait_until("entry 3 applied", || node.host().applied.lock().len() == 3);
}

#[test]
fn a_kill_that_loses_a_race_returns_only_after_the_threads_are_joined() {
    let node = start(fast(0, 1));
    let in_apply = Arc::new(AtomicBool::new(false));
    let release = Arc::new(AtomicBool::new(false));
    let (in_apply2, release2) = (Arc::clone(&in_apply), Arc::clone(&release));
    *node.host().on_apply.lock() = Some(Box::new(move |_| {
        in_apply2.store(true, Ordering::SeqCst);
        while !release2.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
        in_apply2.store(false, Ordering::SeqCst);
    }));
    wait_until("leader", || node.state().unwrap().1);
    node.propose(vec![1]).unwrap();
    wait_until("apply blocked", || in_apply.load(Ordering::SeqCst));

    let first = std::thread::spawn({
        let node = Arc::clone(&node);
        move || node.kill()
    });
    wait_until("the first kill marked the node", || node.state() == Err(NodeError::Closed));
    let second = std::thread::spawn({
        let (node, in_apply) = (Arc::clone(&node), Arc::clone(&in_apply));
        move || (node.kill(), in_apply.load(Ordering::SeqCst))
    });
    // Time for a second kill that does not wait to return; one that waits cannot return while apply is blocked.
    std::thread::sleep(Duration::from_millis(200));
    assert!(!second.is_finished(), "the second kill returned while apply still ran");
    release.store(true, Ordering::SeqCst);
    assert_eq!(first.join().unwrap(), Ok(()));
    assert_eq!(second.join().unwrap(), (Err(NodeError::Closed), false), "returned only after the join");
}

#[test]
fn a_losing_kill_from_inside_a_callback_returns_at_once() {
    // The first kill joins the applier while the applier's callback kills again: that kill must not wait for
    // the join of its own thread.
    let node = start(fast(0, 1));
    let inner = Arc::new(Mutex::new(None));
    let inner2 = Arc::clone(&inner);
    let in_callback = Arc::new(AtomicBool::new(false));
    let in_callback2 = Arc::clone(&in_callback);
    *node.host().on_apply.lock() = Some(Box::new(move |node| {
        in_callback2.store(true, Ordering::SeqCst);
        while node.state() != Err(NodeError::Closed) {
            std::thread::sleep(Duration::from_millis(1));
        }
        *inner2.lock() = Some(node.kill());
    }));
    wait_until("leader", || node.state().unwrap().1);
    node.propose(vec![1]).unwrap();
    // A kill that lands before the apply is handed over stops the applier first (no apply starts after a kill);
    // this test is about a kill while the callback runs, so it waits for the callback.
    wait_until("the apply callback runs", || in_callback.load(Ordering::SeqCst));
    let outer = std::thread::spawn({
        let node = Arc::clone(&node);
        move || node.kill()
    });
    wait_until("both kills returned", || outer.is_finished());
    assert_eq!(outer.join().unwrap(), Ok(()));
    assert_eq!(inner.lock().take(), Some(Err(NodeError::Closed)));
}

//! Panic containment and re-entrancy at the C boundary; these need the crate's test hooks, so they live here
//! rather than in `tests/` with the other C-function tests.

use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::*;

unsafe extern "C" fn send_rpc(_: u64, _: u32, _: u32, _: u64, _: *const u8, _: usize) {}
unsafe extern "C" fn persist(_: u64, _: *const u8, _: usize, _: *const u8, _: usize) -> i32 {
    0
}
unsafe extern "C" fn apply(_: u64, _: *const RaftApplyMsg) -> i32 {
    0
}

fn make(peers: u32, cbs: RaftCallbacks) -> u64 {
    let cfg = RaftConfig {
        me: 0,
        peers,
        heartbeat_ms: 10,
        election_timeout_min_ms: 30,
        election_timeout_max_ms: 40,
        pacing: RaftPacing::Prompt as u32,
        seed: 3,
        state: null(),
        state_len: 0,
        snapshot: null(),
        snapshot_len: 0,
    };
    let mut h = 0;
    assert_eq!(unsafe { raft_make(&cfg, &cbs, &mut h, null_mut()) }, 0);
    h
}

fn quiet() -> RaftCallbacks {
    RaftCallbacks { user: 0, send_rpc: Some(send_rpc), persist: Some(persist), apply: Some(apply), log: None }
}

fn get_state(h: u64) -> i32 {
    let (mut term, mut leader) = (0, false);
    unsafe { raft_get_state(h, &mut term, &mut leader, null_mut()) }
}

fn wait_until(mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_panic_on_the_event_loop_poisons_the_instance_until_it_is_killed() {
    let h = make(3, quiet());
    registry::get(h).unwrap().inject_panic();
    wait_until(|| get_state(h) != 0);
    assert_eq!(get_state(h), RaftStatus::Panic as i32);
    let (mut index, mut term, mut leader) = (0, 0, false);
    let mut err = RaftBuf::EMPTY;
    let rc = unsafe { raft_start(h, null(), 0, &mut index, &mut term, &mut leader, &mut err) };
    assert_eq!(rc, RaftStatus::Panic as i32);
    let message = unsafe { err.into_vec() };
    assert!(String::from_utf8_lossy(&message).contains("panic injected"));
    assert_eq!(unsafe { raft_kill(h, null_mut()) }, RaftStatus::Panic as i32, "kill reports the panic");
    assert_eq!(get_state(h), RaftStatus::Closed as i32, "and releases the instance");
}

#[test]
fn a_panic_inside_an_exported_body_is_caught_and_poisons_its_instance() {
    let h = make(3, quiet());
    let rc = unsafe { boundary::guard_instance(h, null_mut(), |_| panic!("a bug in a body")) };
    assert_eq!(rc, RaftStatus::Panic as i32);
    assert_eq!(get_state(h), RaftStatus::Panic as i32);
    assert_eq!(unsafe { raft_kill(h, null_mut()) }, RaftStatus::Panic as i32);
    let rc = unsafe { boundary::guard(null_mut(), || panic!("a bug before any handle")) };
    assert_eq!(rc, RaftStatus::Panic as i32);
}

static REENTRANT_HANDLE: AtomicU64 = AtomicU64::new(0);
static REENTRANT_START: AtomicI32 = AtomicI32::new(1);
static REENTRANT_STATE: AtomicI32 = AtomicI32::new(1);

unsafe extern "C" fn persist_calling_back(_: u64, _: *const u8, _: usize, _: *const u8, _: usize) -> i32 {
    let h = REENTRANT_HANDLE.load(Ordering::SeqCst);
    let (mut index, mut term, mut leader) = (0, 0, false);
    let rc = unsafe { raft_start(h, null(), 0, &mut index, &mut term, &mut leader, null_mut()) };
    REENTRANT_START.store(rc, Ordering::SeqCst);
    REENTRANT_STATE.store(get_state(h), Ordering::SeqCst);
    0
}

#[test]
fn a_call_that_would_wait_for_its_own_event_loop_is_refused_not_deadlocked() {
    let h = make(1, RaftCallbacks { persist: Some(persist_calling_back), ..quiet() });
    REENTRANT_HANDLE.store(h, Ordering::SeqCst);
    wait_until(|| REENTRANT_START.load(Ordering::SeqCst) != 1);
    assert_eq!(REENTRANT_START.load(Ordering::SeqCst), RaftStatus::InvalidArgument as i32);
    assert_eq!(REENTRANT_STATE.load(Ordering::SeqCst), RaftStatus::Ok as i32);
    assert_eq!(unsafe { raft_kill(h, null_mut()) }, 0);
}

static BLOCKING_IN_APPLY: AtomicBool = AtomicBool::new(false);
static BLOCKING_RELEASE: AtomicBool = AtomicBool::new(false);

unsafe extern "C" fn apply_blocking(_: u64, _: *const RaftApplyMsg) -> i32 {
    BLOCKING_IN_APPLY.store(true, Ordering::SeqCst);
    while !BLOCKING_RELEASE.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(1));
    }
    BLOCKING_IN_APPLY.store(false, Ordering::SeqCst);
    1
}

#[test]
fn a_raft_kill_that_loses_a_race_returns_only_after_the_threads_are_joined() {
    let h = make(1, RaftCallbacks { apply: Some(apply_blocking), ..quiet() });
    wait_until(|| {
        let (mut index, mut term, mut leader) = (0, 0, false);
        unsafe { raft_start(h, b"c".as_ptr(), 1, &mut index, &mut term, &mut leader, null_mut()) };
        leader
    });
    wait_until(|| BLOCKING_IN_APPLY.load(Ordering::SeqCst));

    let first = std::thread::spawn(move || unsafe { raft_kill(h, null_mut()) });
    wait_until(|| get_state(h) == RaftStatus::Closed as i32);
    let second = std::thread::spawn(move || {
        let rc = unsafe { raft_kill(h, null_mut()) };
        (rc, BLOCKING_IN_APPLY.load(Ordering::SeqCst))
    });
    // Time for a second kill that does not wait to return; one that waits cannot return while apply is blocked.
    std::thread::sleep(Duration::from_millis(200));
    assert!(!second.is_finished(), "the second raft_kill returned while apply still ran");
    BLOCKING_RELEASE.store(true, Ordering::SeqCst);
    assert_eq!(first.join().unwrap(), RaftStatus::Ok as i32);
    assert_eq!(second.join().unwrap(), (RaftStatus::Closed as i32, false), "returned only after the join");
    assert!(!registry::is_dying(h), "the instance is forgotten once killed");
}

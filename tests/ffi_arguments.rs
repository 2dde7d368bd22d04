//! Every bad argument gets its documented status, an error message, untouched out-params and an unchanged
//! instance: NULL pointers, unknown and killed handles, malformed bytes, wrong kinds, out-of-range indices,
//! refused configurations and corrupt persisted state.

mod support;

use std::ptr::{null, null_mut};

use raftcore::core::{AppendEntries, Request, RequestVote};
use raftcore::ffi::*;
use support::{config, take, with_err};

const OK: i32 = RaftStatus::Ok as i32;
const NULL: i32 = RaftStatus::NullArgument as i32;
const INVALID: i32 = RaftStatus::InvalidArgument as i32;
const UNKNOWN: i32 = RaftStatus::UnknownHandle as i32;
const CLOSED: i32 = RaftStatus::Closed as i32;
const MALFORMED: i32 = RaftStatus::Malformed as i32;
const OUT_OF_RANGE: i32 = RaftStatus::OutOfRange as i32;
const CORRUPT: i32 = RaftStatus::CorruptState as i32;

unsafe extern "C" fn send_rpc(_: u64, _: u32, _: u32, _: u64, _: *const u8, _: usize) {}
unsafe extern "C" fn persist(_: u64, _: *const u8, _: usize, _: *const u8, _: usize) -> i32 {
    0
}
unsafe extern "C" fn apply(_: u64, _: *const RaftApplyMsg) -> i32 {
    0
}

/// Callbacks that do nothing: these instances never get far enough to need a network.
fn quiet() -> RaftCallbacks {
    RaftCallbacks { user: 0, send_rpc: Some(send_rpc), persist: Some(persist), apply: Some(apply), log: None }
}

/// A follower that will not start an election during the test.
fn make(me: u32, peers: u32, state: &[u8], snapshot: &[u8]) -> (i32, u64, String) {
    let mut cfg = config(me, peers, 1, state, snapshot);
    cfg.election_timeout_min_ms = 60_000;
    cfg.election_timeout_max_ms = 60_000;
    let mut handle = u64::MAX;
    let (rc, message) = with_err(|err| unsafe { raft_make(&cfg, &quiet(), &mut handle, err) });
    (rc, handle, message)
}

fn heartbeat(term: u64) -> Vec<u8> {
    Request::Append(AppendEntries {
        term,
        leader: 1,
        prev_log_index: 0,
        prev_log_term: 0,
        entries: vec![],
        leader_commit: 0,
    })
    .encode()
}

/// Calls every handle-taking function with valid other arguments, returning each status and message.
fn every_call(h: u64) -> Vec<(&'static str, i32, String)> {
    let hb = heartbeat(1);
    let (mut index, mut term, mut leader, mut len) = (0i64, 0i64, false, 0i64);
    let mut reply = RaftBuf::EMPTY;
    let mut results = Vec::new();
    let mut record = |name, (rc, message)| results.push((name, rc, message));
    record("start", with_err(|e| unsafe { raft_start(h, b"x".as_ptr(), 1, &mut index, &mut term, &mut leader, e) }));
    record("get_state", with_err(|e| unsafe { raft_get_state(h, &mut term, &mut leader, e) }));
    record("get_leader", with_err(|e| unsafe { raft_get_leader(h, &mut index, e) }));
    record("snapshot", with_err(|e| unsafe { raft_snapshot(h, 0, null(), 0, e) }));
    record("persist_bytes", with_err(|e| unsafe { raft_persist_bytes(h, &mut len, e) }));
    record("handle_rpc", with_err(|e| unsafe { raft_handle_rpc(h, 2, hb.as_ptr(), hb.len(), &mut reply, e) }));
    record("rpc_reply", with_err(|e| unsafe { raft_rpc_reply(h, 1, false, null(), 0, e) }));
    record("kill", with_err(|e| unsafe { raft_kill(h, e) }));
    results
}

#[test]
fn the_abi_version_matches_the_header_constant() {
    assert_eq!(raft_abi_version(), RAFT_ABI_VERSION);
}

#[test]
fn make_refuses_null_pointers_and_missing_callbacks() {
    let cfg = config(0, 3, 1, &[], &[]);
    let cbs = quiet();
    let mut h = 77;
    for (rc, _) in [
        with_err(|e| unsafe { raft_make(null(), &cbs, &mut h, e) }),
        with_err(|e| unsafe { raft_make(&cfg, null(), &mut h, e) }),
        with_err(|e| unsafe { raft_make(&cfg, &cbs, null_mut(), e) }),
        with_err(|e| unsafe { raft_make(&cfg, &RaftCallbacks { send_rpc: None, ..cbs }, &mut h, e) }),
        with_err(|e| unsafe { raft_make(&cfg, &RaftCallbacks { persist: None, ..cbs }, &mut h, e) }),
        with_err(|e| unsafe { raft_make(&cfg, &RaftCallbacks { apply: None, ..cbs }, &mut h, e) }),
        with_err(|e| unsafe { raft_make(&RaftConfig { state_len: 4, ..config(0, 3, 1, &[], &[]) }, &cbs, &mut h, e) }),
        with_err(|e| unsafe {
            raft_make(&RaftConfig { snapshot_len: 4, ..config(0, 3, 1, &[], &[]) }, &cbs, &mut h, e)
        }),
    ] {
        assert_eq!(rc, NULL);
    }
    assert_eq!(h, 77, "out_handle untouched on failure");
    let (rc, message) = with_err(|e| unsafe { raft_make(null(), &cbs, &mut h, e) });
    assert_eq!(rc, NULL);
    assert!(message.contains("cfg"), "{message}");
    assert_eq!(unsafe { raft_make(null(), &cbs, &mut h, null_mut()) }, NULL, "err may be NULL");
}

#[test]
fn make_refuses_bad_configurations() {
    for (me, peers) in [(3, 3), (0, 0), (0, 1025)] {
        let (rc, h, message) = make(me, peers, &[], &[]);
        assert_eq!((rc, h), (INVALID, u64::MAX), "me {me} peers {peers}: {message}");
    }
    let cbs = quiet();
    let mut h = 0;
    let timing = [(400, 300, 500), (0, 950, 0), (100, 100, 100)];
    for (heartbeat_ms, election_timeout_min_ms, election_timeout_max_ms) in timing {
        let cfg =
            RaftConfig { heartbeat_ms, election_timeout_min_ms, election_timeout_max_ms, ..config(0, 3, 1, &[], &[]) };
        let (rc, message) = with_err(|e| unsafe { raft_make(&cfg, &cbs, &mut h, e) });
        assert_eq!(rc, INVALID, "{heartbeat_ms}/{election_timeout_min_ms}/{election_timeout_max_ms}: {message}");
    }
    for pacing in [2, u32::MAX] {
        let (rc, message) =
            with_err(|e| unsafe { raft_make(&RaftConfig { pacing, ..config(0, 3, 1, &[], &[]) }, &cbs, &mut h, e) });
        assert_eq!(rc, INVALID, "pacing {pacing}: {message}");
        assert!(message.contains("pacing"), "{message}");
    }
    assert_eq!(h, 0, "out_handle untouched on failure");
    let cfg = RaftConfig { pacing: RaftPacing::Heartbeat as u32, ..config(0, 3, 1, &[], &[]) };
    assert_eq!(unsafe { raft_make(&cfg, &cbs, &mut h, null_mut()) }, OK, "heartbeat pacing is a valid setting");
    assert_eq!(unsafe { raft_kill(h, null_mut()) }, OK);
}

#[test]
fn make_refuses_corrupt_or_foreign_state() {
    let state = state_after_a_heartbeat();
    let (rc, h, message) = make(0, 3, &state, &[]);
    assert_eq!(rc, OK, "the intact state restores: {message}");
    let (mut term, mut leader) = (0, true);
    assert_eq!(unsafe { raft_get_state(h, &mut term, &mut leader, null_mut()) }, OK);
    assert_eq!((term, leader), (4, false));
    assert_eq!(unsafe { raft_kill(h, null_mut()) }, OK);

    let mut flipped = state.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    for (bytes, snapshot, me, what) in [
        (&b"garbage"[..], &[][..], 0, "garbage"),
        (&state[..state.len() - 3], &[], 0, "truncated"),
        (&flipped[..], &[], 0, "checksum"),
        (&state[..], &b"snap"[..], 0, "snapshot that was not saved with it"),
        (&[][..], &b"snap"[..], 0, "snapshot without state"),
        (&state[..], &[], 1, "another peer's state"),
    ] {
        let (rc, h, message) = make(me, 3, bytes, snapshot);
        assert_eq!((rc, h), (CORRUPT, u64::MAX), "{what}: {message}");
        assert!(!message.is_empty());
    }
}

/// The bytes peer 0 of 3 persists after a leader's heartbeat in term 4.
fn state_after_a_heartbeat() -> Vec<u8> {
    static SAVED: parking_lot::Mutex<Vec<u8>> = parking_lot::const_mutex(Vec::new());
    unsafe extern "C" fn keep(_: u64, s: *const u8, n: usize, _: *const u8, _: usize) -> i32 {
        *SAVED.lock() = unsafe { std::slice::from_raw_parts(s, n) }.to_vec();
        0
    }
    let mut cfg = config(0, 3, 1, &[], &[]);
    cfg.election_timeout_min_ms = 60_000;
    cfg.election_timeout_max_ms = 60_000;
    let cbs = RaftCallbacks { persist: Some(keep), ..quiet() };
    let mut h = 0;
    assert_eq!(unsafe { raft_make(&cfg, &cbs, &mut h, null_mut()) }, OK);
    let hb = heartbeat(4);
    let mut reply = RaftBuf::EMPTY;
    assert_eq!(unsafe { raft_handle_rpc(h, 2, hb.as_ptr(), hb.len(), &mut reply, null_mut()) }, OK);
    take(reply);
    assert_eq!(unsafe { raft_kill(h, null_mut()) }, OK);
    let state = SAVED.lock().clone();
    assert!(!state.is_empty());
    state
}

#[test]
fn unknown_and_killed_handles_are_refused_by_every_call() {
    for h in [0, u64::MAX, u64::MAX / 2] {
        for (name, rc, message) in every_call(h) {
            assert_eq!(rc, UNKNOWN, "{name} on handle {h}: {message}");
        }
    }
    let (rc, h, _) = make(0, 3, &[], &[]);
    assert_eq!(rc, OK);
    assert_eq!(unsafe { raft_kill(h, null_mut()) }, OK);
    for (name, rc, message) in every_call(h) {
        assert_eq!(rc, CLOSED, "{name} after kill: {message}");
        assert!(message.contains("killed"), "{message}");
    }
}

#[test]
fn null_and_out_of_domain_arguments_leave_the_instance_and_out_params_untouched() {
    let (rc, h, _) = make(0, 3, &[], &[]);
    assert_eq!(rc, OK);
    let (mut index, mut term, mut leader, mut len) = (-7i64, -7i64, true, -7i64);

    // start
    assert_eq!(with_err(|e| unsafe { raft_start(h, null(), 3, &mut index, &mut term, &mut leader, e) }).0, NULL);
    assert_eq!(with_err(|e| unsafe { raft_start(h, b"x".as_ptr(), 1, null_mut(), &mut term, &mut leader, e) }).0, NULL);
    assert_eq!(
        with_err(|e| unsafe { raft_start(h, b"x".as_ptr(), 1, &mut index, null_mut(), &mut leader, e) }).0,
        NULL
    );
    assert_eq!(with_err(|e| unsafe { raft_start(h, b"x".as_ptr(), 1, &mut index, &mut term, null_mut(), e) }).0, NULL);
    assert_eq!((index, term, leader), (-7, -7, true), "out-params untouched on failure");
    // NULL with length 0 is the empty command; a follower answers OK, not leader, index -1.
    assert_eq!(unsafe { raft_start(h, null(), 0, &mut index, &mut term, &mut leader, null_mut()) }, OK);
    assert_eq!((index, term, leader), (-1, 0, false));

    // get_state, get_leader, persist_bytes
    assert_eq!(with_err(|e| unsafe { raft_get_state(h, null_mut(), &mut leader, e) }).0, NULL);
    assert_eq!(with_err(|e| unsafe { raft_get_leader(h, null_mut(), e) }).0, NULL);
    assert_eq!(unsafe { raft_get_leader(h, &mut len, null_mut()) }, OK);
    assert_eq!(len, -1, "a fresh peer knows no leader");
    assert_eq!(with_err(|e| unsafe { raft_get_state(h, &mut term, null_mut(), e) }).0, NULL);
    assert_eq!(with_err(|e| unsafe { raft_persist_bytes(h, null_mut(), e) }).0, NULL);
    assert_eq!(unsafe { raft_persist_bytes(h, &mut len, null_mut()) }, OK);
    assert_eq!(len, 0, "a fresh peer has persisted nothing");

    // snapshot
    assert_eq!(with_err(|e| unsafe { raft_snapshot(h, 0, null(), 5, e) }).0, NULL);
    assert_eq!(with_err(|e| unsafe { raft_snapshot(h, -1, null(), 0, e) }).0, INVALID);
    let (rc, message) = with_err(|e| unsafe { raft_snapshot(h, 1, b"s".as_ptr(), 1, e) });
    assert_eq!(rc, OUT_OF_RANGE, "{message}");
    assert_eq!(unsafe { raft_snapshot(h, 0, null(), 0, null_mut()) }, OK, "a stale index is ignored");

    // handle_rpc
    let hb = heartbeat(2);
    let vote = Request::Vote(RequestVote { term: 9, candidate: 2, last_log_index: 0, last_log_term: 0 }).encode();
    let mut reply = RaftBuf { ptr: 1 as *mut u8, len: 1, cap: 1 };
    let rpc = |kind: u32, ptr: *const u8, len: usize, out: *mut RaftBuf| {
        with_err(|e| unsafe { raft_handle_rpc(h, kind, ptr, len, out, e) }).0
    };
    assert_eq!(rpc(0, hb.as_ptr(), hb.len(), &mut reply), INVALID, "kind 0");
    assert_eq!(rpc(4, hb.as_ptr(), hb.len(), &mut reply), INVALID, "kind 4");
    assert_eq!(rpc(2, null(), 9, &mut reply), NULL);
    assert_eq!(rpc(2, hb.as_ptr(), hb.len(), null_mut()), NULL);
    assert_eq!(rpc(2, null(), 0, &mut reply), MALFORMED, "no bytes");
    assert_eq!(rpc(2, b"\xff\xfe\xfd".as_ptr(), 3, &mut reply), MALFORMED, "garbage");
    assert_eq!(rpc(2, hb.as_ptr(), hb.len() - 1, &mut reply), MALFORMED, "truncated");
    assert_eq!(rpc(1, hb.as_ptr(), hb.len(), &mut reply), MALFORMED, "AppendEntries sent as RequestVote");
    assert_eq!(rpc(3, vote.as_ptr(), vote.len(), &mut reply), MALFORMED, "RequestVote sent as InstallSnapshot");
    let from_self = heartbeat_from(0, 5);
    assert_eq!(rpc(2, from_self.as_ptr(), from_self.len(), &mut reply), MALFORMED, "a request from itself");
    assert_eq!((reply.ptr as usize, reply.len), (1, 1), "out_reply untouched on failure");
    assert_eq!(unsafe { raft_get_state(h, &mut term, &mut leader, null_mut()) }, OK);
    assert_eq!(term, 0, "no refused request changed the term");
    let mut reply = RaftBuf::EMPTY;
    assert_eq!(rpc(2, hb.as_ptr(), hb.len(), &mut reply), OK);
    assert!(!take(reply).is_empty());
    assert_eq!(unsafe { raft_get_leader(h, &mut len, null_mut()) }, OK);
    assert_eq!(len, 1, "the sender of the heartbeat just handled is the leader, as soon as the call returns");

    // rpc_reply: unknown ids are ignored; bad bytes are reported (and count as a lost call).
    assert_eq!(unsafe { raft_rpc_reply(h, 999, true, null(), 0, null_mut()) }, MALFORMED);
    assert_eq!(unsafe { raft_rpc_reply(h, 999, true, null(), 4, null_mut()) }, NULL);
    assert_eq!(unsafe { raft_rpc_reply(h, 999, false, null(), 4, null_mut()) }, OK, "reply ignored when not ok");
    let (rc, message) = with_err(|e| unsafe { raft_rpc_reply(h, 999, true, b"\xff".as_ptr(), 1, e) });
    assert_eq!(rc, MALFORMED, "{message}");

    assert_eq!(unsafe { raft_kill(h, null_mut()) }, OK);
}

fn heartbeat_from(leader: u32, term: u64) -> Vec<u8> {
    Request::Append(AppendEntries {
        term,
        leader,
        prev_log_index: 0,
        prev_log_term: 0,
        entries: vec![],
        leader_commit: 0,
    })
    .encode()
}

#[test]
fn freeing_an_empty_buffer_is_a_no_op_and_messages_are_freed_once() {
    unsafe { raft_buf_free(RaftBuf::EMPTY) };
    let mut err = RaftBuf::EMPTY;
    assert_eq!(unsafe { raft_kill(0, &mut err) }, UNKNOWN);
    assert!(!err.ptr.is_null() && err.len > 0);
    unsafe { raft_buf_free(err) };
}

//! Cost of one call through the C ABI (`make bench`): how much a host pays per `raft_get_state`, `raft_start` and
//! `raft_handle_rpc`, with callbacks that do no work, so the numbers are the library's own share.
//!
//! `raft_get_state` reads published atomics, so it is the bare crossing (panic guard, handle lookup). `raft_start`
//! and `raft_handle_rpc` also hand a command to the instance's event-loop thread and wait for its answer, which is
//! where most of their time goes; on a leader `raft_start` also encodes and persists the raft state.

use std::hint::black_box;
use std::ptr::{null, null_mut};
use std::time::{Duration, Instant};

use raftcore::core::{AppendEntries, Entry, Request};
use raftcore::ffi::*;

unsafe extern "C" fn send_rpc(_: u64, _: u32, _: u32, _: u64, _: *const u8, _: usize) {}
unsafe extern "C" fn persist(_: u64, _: *const u8, _: usize, _: *const u8, _: usize) -> i32 {
    0
}
unsafe extern "C" fn apply(_: u64, _: *const RaftApplyMsg) -> i32 {
    0
}

fn make(peers: u32, election_ms: u32) -> u64 {
    let cfg = RaftConfig {
        me: 0,
        peers,
        heartbeat_ms: 10,
        election_timeout_min_ms: election_ms,
        election_timeout_max_ms: election_ms,
        pacing: RaftPacing::Prompt as u32,
        seed: 1,
        state: null(),
        state_len: 0,
        snapshot: null(),
        snapshot_len: 0,
    };
    let cbs =
        RaftCallbacks { user: 0, send_rpc: Some(send_rpc), persist: Some(persist), apply: Some(apply), log: None };
    let mut h = 0;
    assert_eq!(unsafe { raft_make(&cfg, &cbs, &mut h, null_mut()) }, 0);
    h
}

/// Median over `rounds` of the mean ns per call of `iterations` calls.
fn measure(rounds: usize, iterations: u32, mut call: impl FnMut(u32)) -> f64 {
    let mut per_call: Vec<f64> = (0..rounds)
        .map(|round| {
            let start = Instant::now();
            for i in 0..iterations {
                call(round as u32 * iterations + i);
            }
            start.elapsed().as_nanos() as f64 / f64::from(iterations)
        })
        .collect();
    per_call.sort_by(f64::total_cmp);
    per_call[rounds / 2]
}

/// Median ns of single calls made `gap` apart.
fn measure_spaced(calls: u32, gap: Duration, mut call: impl FnMut(u32)) -> f64 {
    let mut times: Vec<f64> = (0..calls)
        .map(|i| {
            std::thread::sleep(gap);
            let start = Instant::now();
            call(i);
            start.elapsed().as_nanos() as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let follower = make(3, 60_000);
    let leader = make(1, 20);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (mut term, mut is_leader) = (0, false);
        assert_eq!(unsafe { raft_get_state(leader, &mut term, &mut is_leader, null_mut()) }, 0);
        if is_leader {
            break;
        }
        assert!(Instant::now() < deadline, "a lone peer elects itself");
        std::thread::sleep(Duration::from_millis(5));
    }

    let get_state = measure(9, 200_000, |_| {
        let (mut term, mut is_leader) = (0, false);
        black_box(unsafe { raft_get_state(follower, &mut term, &mut is_leader, null_mut()) });
    });

    let start_on = |h: u64| {
        move |_| {
            let (mut index, mut term, mut is_leader) = (0, 0, false);
            let rc = unsafe { raft_start(h, b"cmd".as_ptr(), 3, &mut index, &mut term, &mut is_leader, null_mut()) };
            assert_eq!(rc, 0);
            // Keep the leader's log (and so each persist) short, as a service that snapshots would.
            if is_leader && index % 100 == 0 {
                assert_eq!(unsafe { raft_snapshot(h, index - 50, null(), 0, null_mut()) }, 0);
            }
        }
    };
    let start_follower = measure(9, 20_000, start_on(follower));
    // At Raft rates calls come far apart, so the event loop is parked when one arrives and must be woken.
    let start_spaced = measure_spaced(500, Duration::from_millis(1), start_on(follower));
    let start_leader = measure(9, 20_000, start_on(leader));

    let heartbeat = Request::Append(AppendEntries {
        term: 1,
        leader: 1,
        prev_log_index: 0,
        prev_log_term: 0,
        entries: vec![],
        leader_commit: 0,
    })
    .encode();
    let rpc = |bytes: &[u8]| {
        let mut reply = RaftBuf::EMPTY;
        let rc = unsafe { raft_handle_rpc(follower, 2, bytes.as_ptr(), bytes.len(), &mut reply, null_mut()) };
        assert_eq!(rc, 0);
        unsafe { raft_buf_free(reply) };
    };
    let handle_heartbeat = measure(9, 20_000, |_| rpc(&heartbeat));

    // Each call appends one entry and so persists; the follower's log grows by one per call, so keep runs short.
    let bench_follower = make(3, 60_000);
    let append = |i: u32| {
        Request::Append(AppendEntries {
            term: 1,
            leader: 1,
            prev_log_index: u64::from(i),
            prev_log_term: if i == 0 { 0 } else { 1 },
            entries: vec![Entry { term: 1, command: b"cmd".to_vec().into() }],
            leader_commit: 0,
        })
        .encode()
    };
    let handle_append = measure(5, 1_000, |i| {
        let bytes = append(i);
        let mut reply = RaftBuf::EMPTY;
        let rc = unsafe { raft_handle_rpc(bench_follower, 2, bytes.as_ptr(), bytes.len(), &mut reply, null_mut()) };
        assert_eq!(rc, 0);
        unsafe { raft_buf_free(reply) };
    });

    for h in [follower, leader, bench_follower] {
        assert_eq!(unsafe { raft_kill(h, null_mut()) }, 0);
    }
    println!("{:<58} {:>10}", "call (median of rounds)", "ns/call");
    println!("{:<58} {:>10.0}", "raft_get_state (bare crossing: guard, handle lookup)", get_state);
    println!("{:<58} {:>10.0}", "raft_start on a follower (crossing + event-loop round trip)", start_follower);
    println!("{:<58} {:>10.0}", "raft_start on a follower, 1 call per ms (median)", start_spaced);
    println!("{:<58} {:>10.0}", "raft_start on a leader (+ encode and persist, log <= 100)", start_leader);
    println!("{:<58} {:>10.0}", "raft_handle_rpc heartbeat (round trip, decode, encode)", handle_heartbeat);
    println!("{:<58} {:>10.0}", "raft_handle_rpc append 1 entry (+ persist, log <= 5000)", handle_append);
}

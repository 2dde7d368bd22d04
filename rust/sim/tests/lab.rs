//! The 28 Raft tests of the MIT 6.5840 lab (docs/LAB-GENERATIONS.md §6) replayed in virtual time on the
//! simulator: same peer counts, faults, sleeps and thresholds, with the invariant checker active on every step.
//! Each test also asserts that the checker found nothing.

use raftcore_sim::{finish, scenario, Cluster, NetConfig, OneCall};

fn cluster(peers: usize, seed: u64, reliable: bool, snapshot_every: Option<u64>) -> Cluster {
    let seed = seed + seed_offset();
    let mut c = Cluster::new(peers, seed, snapshot_every);
    if !reliable {
        c.net = NetConfig::unreliable();
    }
    c
}

const SEEDS: [u64; 3] = [1, 2, 3];

/// Added to every scenario's seed: `RAFTCORE_SIM_SEED_OFFSET`, which `make sim-lab` sets to run each scenario
/// under other seeds (0 when unset, so `cargo test` always replays the same runs).
fn seed_offset() -> u64 {
    match std::env::var("RAFTCORE_SIM_SEED_OFFSET") {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| panic!("RAFTCORE_SIM_SEED_OFFSET={v:?} is not a whole number")),
        Err(_) => 0,
    }
}

// ----- 3A ------------------------------------------------------------------------------------------------------

fn initial_election(seed: u64) -> Result<(), String> {
    let mut c = cluster(3, seed, true, None);
    c.check_one_leader()?;
    c.run_for(50);
    let term1 = c.check_terms()?;
    if term1 < 1 {
        return Err(format!("term is {term1}, but should be at least 1"));
    }
    c.run_for(2 * 1000);
    let term2 = c.check_terms()?;
    if term1 != term2 {
        return Err("term changed even though there were no failures".into());
    }
    c.check_one_leader()?;
    finish("InitialElection3A", &c, Ok(()));
    Ok(())
}

#[test]
fn initial_election_3a() {
    for seed in SEEDS {
        initial_election(seed).unwrap();
    }
}

#[test]
fn re_election_3a() {
    for seed in SEEDS {
        let mut c = cluster(3, seed, true, None);
        let r = scenario::re_election(&mut c);
        finish("ReElection3A", &c, r);
    }
}

#[test]
fn many_elections_3a() {
    for seed in SEEDS {
        let mut c = cluster(7, seed, true, None);
        let r = (|| {
            c.check_one_leader()?;
            for _ in 0..9 {
                let picks: Vec<usize> = (0..3).map(|_| c.rand(7) as usize).collect();
                for &i in &picks {
                    c.disconnect(i);
                }
                c.check_one_leader()?;
                for &i in &picks {
                    c.connect(i);
                }
            }
            c.check_one_leader()?;
            Ok(())
        })();
        finish("ManyElections3A", &c, r);
    }
}

// ----- 3B ------------------------------------------------------------------------------------------------------

#[test]
fn basic_agree_3b() {
    let mut c = cluster(3, 1, true, None);
    let r = (|| {
        for index in 1..=3 {
            if c.n_committed(index).0 > 0 {
                return Err("some have committed before Start()".to_string());
            }
            let got = c.one(index * 100, 3, false)?;
            if got != index {
                return Err(format!("got index {got} but expected {index}"));
            }
        }
        Ok(())
    })();
    finish("BasicAgree3B", &c, r);
}

#[test]
fn rpc_bytes_3b() {
    let mut c = cluster(3, 1, true, None);
    let r = (|| {
        c.one(99, 3, false)?;
        let before = c.bytes();
        // Commands here are 8 bytes; the lab's are 5000-character strings. Scale the budget by the payload
        // actually sent, as the lab's check does: bytes <= 3 * payload + 50000 for 10 commands.
        let mut sent = 0u64;
        for index in 2..12u64 {
            let got = c.one(1_000 + index, 3, false)?;
            if got != index {
                return Err(format!("got index {got} but expected {index}"));
            }
            sent += 8;
        }
        let used = c.bytes() - before;
        if used > 3 * sent + 50_000 {
            return Err(format!("too many RPC bytes; got {used}, expected at most {}", 3 * sent + 50_000));
        }
        Ok(())
    })();
    finish("RPCBytes3B", &c, r);
}

#[test]
fn follower_failure_3b() {
    let mut c = cluster(3, 1, true, None);
    let r = (|| {
        c.one(101, 3, false)?;
        let leader1 = c.check_one_leader()?;
        c.disconnect((leader1 + 1) % 3);
        c.one(102, 2, false)?;
        c.run_for(1000);
        c.one(103, 2, false)?;
        let leader2 = c.check_one_leader()?;
        c.disconnect((leader2 + 1) % 3);
        c.disconnect((leader2 + 2) % 3);
        let (index, _) = c.start(leader2, 104).ok_or("leader rejected Start()")?;
        if index != 4 {
            return Err(format!("expected index 4, got {index}"));
        }
        c.run_for(2000);
        if c.n_committed(index).0 > 0 {
            return Err(format!("{} committed but no majority", c.n_committed(index).0));
        }
        Ok(())
    })();
    finish("FollowerFailure3B", &c, r);
}

#[test]
fn leader_failure_3b() {
    let mut c = cluster(3, 1, true, None);
    let r = (|| {
        c.one(101, 3, false)?;
        let leader1 = c.check_one_leader()?;
        c.disconnect(leader1);
        c.one(102, 2, false)?;
        c.run_for(1000);
        c.one(103, 2, false)?;
        let leader2 = c.check_one_leader()?;
        c.disconnect(leader2);
        for i in 0..3 {
            c.start(i, 104);
        }
        c.run_for(2000);
        if c.n_committed(4).0 > 0 {
            return Err(format!("{} committed but no majority", c.n_committed(4).0));
        }
        Ok(())
    })();
    finish("LeaderFailure3B", &c, r);
}

#[test]
fn fail_agree_3b() {
    let mut c = cluster(3, 1, true, None);
    let r = (|| {
        c.one(101, 3, false)?;
        let leader = c.check_one_leader()?;
        c.disconnect((leader + 1) % 3);
        c.one(102, 2, false)?;
        c.one(103, 2, false)?;
        c.run_for(1000);
        c.one(104, 2, false)?;
        c.one(105, 2, false)?;
        c.connect((leader + 1) % 3);
        c.one(106, 3, true)?;
        c.run_for(1000);
        c.one(107, 3, true)?;
        Ok(())
    })();
    finish("FailAgree3B", &c, r);
}

#[test]
fn fail_no_agree_3b() {
    let mut c = cluster(5, 1, true, None);
    let r = (|| {
        c.one(10, 5, false)?;
        let leader = c.check_one_leader()?;
        for k in 1..=3 {
            c.disconnect((leader + k) % 5);
        }
        let (index, _) = c.start(leader, 20).ok_or("leader rejected Start()")?;
        if index != 2 {
            return Err(format!("expected index 2, got {index}"));
        }
        c.run_for(2000);
        if c.n_committed(index).0 > 0 {
            return Err(format!("{} committed but no majority", c.n_committed(index).0));
        }
        for k in 1..=3 {
            c.connect((leader + k) % 5);
        }
        let leader2 = c.check_one_leader()?;
        let (index2, _) = c.start(leader2, 30).ok_or("leader2 rejected Start()")?;
        if !(2..=3).contains(&index2) {
            return Err(format!("unexpected index {index2}"));
        }
        c.one(1000, 5, true)?;
        Ok(())
    })();
    finish("FailNoAgree3B", &c, r);
}

#[test]
fn concurrent_starts_3b() {
    let mut c = cluster(3, 1, true, None);
    let r = (|| {
        let leader = c.check_one_leader()?;
        let (_, term) = c.start(leader, 1).ok_or("leader rejected Start()")?;
        // The lab's five goroutines call Start back to back; here they land in the same instant.
        let mut indices = Vec::new();
        for i in 0..5 {
            if let Some((index, t)) = c.start(leader, 100 + i) {
                if t == term {
                    indices.push((index, 100 + i));
                }
            }
        }
        for (index, command) in indices {
            match c.wait(index, 3, Some(term))? {
                Some(got) if got == command => {}
                other => return Err(format!("index {index}: expected {command}, got {other:?}")),
            }
        }
        Ok(())
    })();
    finish("ConcurrentStarts3B", &c, r);
}

#[test]
fn rejoin_3b() {
    let mut c = cluster(3, 1, true, None);
    let r = scenario::rejoin(&mut c, 100);
    finish("Rejoin3B", &c, r);
}

#[test]
fn backup_3b() {
    let mut c = cluster(5, 1, true, None);
    let r = (|| {
        let mut next = 1_000u64;
        let mut cmd = || {
            next += 1;
            next
        };
        c.one(cmd(), 5, true)?;
        let leader1 = c.check_one_leader()?;
        for k in 2..=4 {
            c.disconnect((leader1 + k) % 5);
        }
        for _ in 0..50 {
            let v = cmd();
            c.start(leader1, v);
        }
        c.run_for(500);
        c.disconnect(leader1 % 5);
        c.disconnect((leader1 + 1) % 5);
        for k in 2..=4 {
            c.connect((leader1 + k) % 5);
        }
        for _ in 0..50 {
            c.one(cmd(), 3, true)?;
        }
        let leader2 = c.check_one_leader()?;
        let mut other = (leader1 + 2) % 5;
        if leader2 == other {
            other = (leader2 + 1) % 5;
        }
        c.disconnect(other);
        for _ in 0..50 {
            let v = cmd();
            c.start(leader2, v);
        }
        c.run_for(500);
        for i in 0..5 {
            c.disconnect(i);
        }
        c.connect(leader1 % 5);
        c.connect((leader1 + 1) % 5);
        c.connect(other);
        for _ in 0..50 {
            c.one(cmd(), 3, true)?;
        }
        for i in 0..5 {
            c.connect(i);
        }
        c.one(cmd(), 5, true)?;
        Ok(())
    })();
    finish("Backup3B", &c, r);
}

#[test]
fn count_3b() {
    let mut c = cluster(3, 1, true, None);
    let r = (|| {
        let leader = c.check_one_leader()?;
        let total1 = c.rpcs();
        if !(1..=30).contains(&total1) {
            return Err(format!("too many or few RPCs ({total1}) to elect initial leader"));
        }
        let (start_index, term) = c.start(leader, 1).ok_or("leader rejected Start()")?;
        for i in 1..12u64 {
            let (index, t) = c.start(leader, 1_000 + i).ok_or("leader lost leadership")?;
            if t != term || index != start_index + i {
                return Err("Start() failed or changed term".into());
            }
        }
        for i in 1..11u64 {
            match c.wait(start_index + i, 3, Some(term))? {
                Some(v) if v == 1_000 + i => {}
                other => return Err(format!("wrong value {other:?} committed for index {}", start_index + i)),
            }
        }
        let used = c.rpcs() - total1;
        if used > (10 + 1 + 3) * 3 {
            return Err(format!("too many RPCs ({used}) for 11 entries"));
        }
        let idle_start = c.rpcs();
        c.run_for(1000);
        let idle = c.rpcs() - idle_start;
        if idle > 3 * 20 {
            return Err(format!("too many RPCs ({idle}) for 1 second of idleness"));
        }
        Ok(())
    })();
    finish("Count3B", &c, r);
}

// ----- 3C ------------------------------------------------------------------------------------------------------

#[test]
fn persist1_3c() {
    let mut c = cluster(3, 1, true, None);
    let r = (|| {
        c.one(11, 3, true)?;
        for i in 0..3 {
            c.restart(i);
        }
        c.one(12, 3, true)?;
        let leader1 = c.check_one_leader()?;
        c.restart(leader1);
        c.one(13, 3, true)?;
        let leader2 = c.check_one_leader()?;
        c.crash(leader2);
        c.disconnect(leader2);
        c.one(14, 2, true)?;
        c.connect(leader2);
        c.restart(leader2);
        c.wait(4, 3, None)?;
        let i3 = (c.check_one_leader()? + 1) % 3;
        c.crash(i3);
        c.disconnect(i3);
        c.one(15, 2, true)?;
        c.connect(i3);
        c.restart(i3);
        c.one(16, 3, true)?;
        Ok(())
    })();
    finish("Persist13C", &c, r);
}

#[test]
fn persist2_3c() {
    let mut c = cluster(5, 1, true, None);
    let r = (|| {
        let mut index = 1;
        for _ in 0..5 {
            c.one(10 + index, 5, true)?;
            index += 1;
            let leader1 = c.check_one_leader()?;
            for k in [1, 2] {
                c.disconnect((leader1 + k) % 5);
                c.crash((leader1 + k) % 5);
            }
            c.one(10 + index, 3, true)?;
            index += 1;
            for k in [0, 3, 4] {
                c.disconnect((leader1 + k) % 5);
                c.crash((leader1 + k) % 5);
            }
            for k in [1, 2] {
                c.restart((leader1 + k) % 5);
                c.connect((leader1 + k) % 5);
            }
            c.run_for(1000);
            c.restart((leader1 + 3) % 5);
            c.connect((leader1 + 3) % 5);
            c.one(10 + index, 3, true)?;
            index += 1;
            for k in [4, 0] {
                c.restart((leader1 + k) % 5);
                c.connect((leader1 + k) % 5);
            }
        }
        c.one(1000, 5, true)?;
        Ok(())
    })();
    finish("Persist23C", &c, r);
}

#[test]
fn persist3_3c() {
    let mut c = cluster(3, 1, true, None);
    let r = (|| {
        c.one(101, 3, true)?;
        let leader = c.check_one_leader()?;
        c.disconnect((leader + 2) % 3);
        c.one(102, 2, true)?;
        c.crash(leader % 3);
        c.disconnect(leader % 3);
        c.crash((leader + 1) % 3);
        c.disconnect((leader + 1) % 3);
        c.connect((leader + 2) % 3);
        c.restart(leader % 3);
        c.connect(leader % 3);
        c.one(103, 2, true)?;
        c.restart((leader + 1) % 3);
        c.connect((leader + 1) % 3);
        c.one(104, 3, true)?;
        Ok(())
    })();
    finish("Persist33C", &c, r);
}

/// Figure 8 of the paper, reliable or not: leaders keep crashing (or getting cut off) right after accepting a
/// command, so entries from old terms linger on minorities.
fn figure8(seed: u64, reliable: bool) {
    let mut c = cluster(5, seed, reliable, None);
    let r = (|| {
        let first = c.rand(10_000);
        c.one(first, 1, true)?;
        let mut up = 5;
        for iteration in 0..1000 {
            if !reliable && iteration == 200 {
                c.net.long_reordering = true;
            }
            let mut leader = None;
            for i in 0..5 {
                let command = c.rand(10_000);
                let live = if reliable { c.is_up(i) } else { c.is_connected(i) };
                if live && c.start(i, command).is_some() {
                    leader = Some(i);
                }
            }
            let pause = if c.rand(1000) < 100 { c.rand(500) } else { c.rand(13) };
            c.run_for(pause);
            if let Some(l) = leader {
                if reliable {
                    c.crash(l);
                } else if c.rand(1000) < 500 {
                    c.disconnect(l);
                }
                up -= 1;
            }
            if up < 3 {
                let s = c.rand(5) as usize;
                let down = if reliable { !c.is_up(s) } else { !c.is_connected(s) };
                if down {
                    if reliable {
                        c.restart(s);
                    } else {
                        c.connect(s);
                    }
                    up += 1;
                }
            }
            if !reliable {
                up = (0..5).filter(|&i| c.is_connected(i)).count();
            }
        }
        for i in 0..5 {
            if !c.is_up(i) {
                c.restart(i);
            }
            c.connect(i);
        }
        c.net.long_reordering = false;
        let last = c.rand(10_000);
        c.one(last, 5, true)?;
        Ok(())
    })();
    finish(if reliable { "Figure83C" } else { "Figure8Unreliable3C" }, &c, r);
}

#[test]
fn figure8_3c() {
    for seed in SEEDS {
        figure8(seed, true);
    }
}

#[test]
fn figure8_unreliable_3c() {
    for seed in SEEDS {
        figure8(seed, false);
    }
}

#[test]
fn unreliable_agree_3c() {
    let mut c = cluster(5, 1, false, None);
    let r = (|| {
        // Each iteration starts four calls in goroutines and one of its own, and goes on once its own is done.
        let mut calls = Vec::new();
        for iteration in 1..50u64 {
            calls.retain(|call: &OneCall| !call.done);
            calls.extend((0..4).map(|j| OneCall::new(&c, 100 * iteration + j, 1, true)));
            calls.push(OneCall::new(&c, iteration, 1, true));
            let own = calls.len() - 1;
            c.run_calls(&mut calls, own)?;
        }
        c.net = NetConfig::reliable();
        while let Some(left) = calls.iter().position(|call| !call.done) {
            c.run_calls(&mut calls, left)?;
        }
        c.one(100, 5, true)?;
        Ok(())
    })();
    finish("UnreliableAgree3C", &c, r);
}

/// The lab's churn clients' waits between looks for a proposed command among the committed ones (ms); after the
/// last wait a client proposes again whether or not it saw it.
const CHURN_LOOKS: [u64; 5] = [10, 20, 50, 100, 200];

/// One of the lab's three churn clients. It proposes a fresh command to every server that is up (the last to
/// accept gives the index), then looks for it among the committed commands at once and after each of
/// `CHURN_LOOKS`, and proposes again as soon as it sees it; when nobody accepted, it waits 79 + 17·id ms. How
/// fast it proposes again therefore follows how fast commands commit, as with the lab's clients.
struct ChurnClient {
    id: u64,
    next_at: u64,
    /// The proposal being looked for: index, command, and how many looks were made.
    proposal: Option<(u64, u64, usize)>,
}

impl ChurnClient {
    fn step(&mut self, c: &mut Cluster, seen: &mut Vec<(u64, u64)>) {
        if let Some((index, command, looks)) = self.proposal {
            let (n, value) = c.n_committed(index);
            if n > 0 {
                if value == Some(command) {
                    seen.push((index, command));
                }
            } else if looks < CHURN_LOOKS.len() {
                self.proposal = Some((index, command, looks + 1));
                self.next_at = c.now() + CHURN_LOOKS[looks];
                return;
            }
        }
        let command = 1 + c.rand(1 << 30);
        let mut accepted = None;
        for i in 0..5 {
            if c.is_up(i) {
                if let Some((index, _)) = c.start(i, command) {
                    accepted = Some(index);
                }
            }
        }
        match accepted {
            Some(index) => {
                self.proposal = Some((index, command, 0));
                self.next_at = c.now(); // the first look comes at once
            }
            None => {
                self.proposal = None;
                self.next_at = c.now() + 79 + 17 * self.id;
            }
        }
    }
}

/// Runs the cluster for `ms` with the clients acting at their times.
fn run_churn_clients(c: &mut Cluster, clients: &mut [ChurnClient], seen: &mut Vec<(u64, u64)>, ms: u64) {
    let end = c.now() + ms;
    loop {
        let (k, at) = clients.iter().enumerate().map(|(k, cl)| (k, cl.next_at)).min_by_key(|&(_, at)| at).unwrap();
        if at >= end {
            c.run_for(end - c.now());
            return;
        }
        c.run_for(at.saturating_sub(c.now()));
        clients[k].step(c, seen);
    }
}

/// The lab's churn: three clients keep proposing while servers are cut off, crashed and restarted at random.
fn churn(seed: u64, reliable: bool) {
    let mut c = cluster(5, seed, reliable, None);
    let r = (|| {
        let mut seen = Vec::new();
        let mut clients: Vec<ChurnClient> = (0..3).map(|id| ChurnClient { id, next_at: 0, proposal: None }).collect();
        for _ in 0..20 {
            if c.rand(1000) < 200 {
                let i = c.rand(5) as usize;
                c.disconnect(i);
            }
            if c.rand(1000) < 500 {
                let i = c.rand(5) as usize;
                if !c.is_up(i) {
                    c.restart(i);
                }
                c.connect(i);
            }
            if c.rand(1000) < 200 {
                let i = c.rand(5) as usize;
                if c.is_up(i) {
                    c.crash(i);
                    c.disconnect(i);
                }
            }
            run_churn_clients(&mut c, &mut clients, &mut seen, 700);
        }
        run_churn_clients(&mut c, &mut clients, &mut seen, 1000);
        c.net = NetConfig::reliable();
        for i in 0..5 {
            if !c.is_up(i) {
                c.restart(i);
            }
            c.connect(i);
        }
        c.run_for(1000);
        let last_command = 1 << 40;
        let last = c.one(last_command, 5, true)?;
        for index in 1..=last {
            c.wait(index, 5, None)?;
        }
        for (index, command) in seen {
            if c.n_committed(index).1 != Some(command) {
                return Err(format!("value {command} seen committed at {index} is not in the final log"));
            }
        }
        Ok(())
    })();
    finish(if reliable { "ReliableChurn3C" } else { "UnreliableChurn3C" }, &c, r);
}

#[test]
fn reliable_churn_3c() {
    for seed in SEEDS {
        churn(seed, true);
    }
}

#[test]
fn unreliable_churn_3c() {
    for seed in SEEDS {
        churn(seed, false);
    }
}

// ----- 3D ------------------------------------------------------------------------------------------------------

const MAX_LOG_SIZE: usize = 2000;

/// The lab's snapcommon: 30 iterations of cutting off (or crashing) a follower while the leader runs ahead far
/// enough to snapshot past it, then bringing it back so it must catch up through InstallSnapshot.
fn snapcommon(name: &str, disconnect: bool, reliable: bool, crash: bool) {
    for seed in SEEDS {
        let mut c = cluster(3, seed, reliable, Some(10));
        let r = (|| {
            let v = c.rand(1 << 30);
            c.one(v, 3, true)?;
            let mut leader1 = c.check_one_leader()?;
            for i in 0..30 {
                let (mut victim, mut sender) = ((leader1 + 1) % 3, leader1);
                if i % 3 == 1 {
                    std::mem::swap(&mut victim, &mut sender);
                }
                if disconnect {
                    c.disconnect(victim);
                    let v = c.rand(1 << 30);
                    c.one(v, 2, true)?;
                }
                if crash {
                    c.crash(victim);
                    c.disconnect(victim);
                    let v = c.rand(1 << 30);
                    c.one(v, 2, true)?;
                }
                let n = 5 + c.rand(10);
                for _ in 0..n {
                    let v = c.rand(1 << 30);
                    c.start(sender, v);
                }
                let v = c.rand(1 << 30);
                if !disconnect && !crash {
                    c.one(v, 3, true)?;
                } else {
                    c.one(v, 2, true)?;
                }
                if c.state_bytes() >= MAX_LOG_SIZE {
                    return Err(format!("log size too large: {} bytes", c.state_bytes()));
                }
                if disconnect {
                    c.connect(victim);
                    let v = c.rand(1 << 30);
                    c.one(v, 3, true)?;
                    leader1 = c.check_one_leader()?;
                }
                if crash {
                    c.restart(victim);
                    c.connect(victim);
                    let v = c.rand(1 << 30);
                    c.one(v, 3, true)?;
                    leader1 = c.check_one_leader()?;
                }
            }
            Ok(())
        })();
        finish(name, &c, r);
    }
}

#[test]
fn snapshot_basic_3d() {
    snapcommon("SnapshotBasic3D", false, true, false);
}

#[test]
fn snapshot_install_3d() {
    snapcommon("SnapshotInstall3D", true, true, false);
}

#[test]
fn snapshot_install_unreliable_3d() {
    snapcommon("SnapshotInstallUnreliable3D", true, false, false);
}

#[test]
fn snapshot_install_crash_3d() {
    snapcommon("SnapshotInstallCrash3D", false, true, true);
}

#[test]
fn snapshot_install_uncrash_3d() {
    snapcommon("SnapshotInstallUnCrash3D", false, false, true);
}

#[test]
fn snapshot_all_crash_3d() {
    let mut c = cluster(3, 1, false, Some(10));
    let r = (|| {
        let v = c.rand(1 << 30);
        c.one(v, 3, true)?;
        for _ in 0..5 {
            let n = 5 + c.rand(10);
            for _ in 0..n {
                let v = c.rand(1 << 30);
                c.one(v, 3, true)?;
            }
            let v = c.rand(1 << 30);
            let index1 = c.one(v, 3, true)?;
            for i in 0..3 {
                c.restart(i);
            }
            let v = c.rand(1 << 30);
            let index2 = c.one(v, 3, true)?;
            if index2 < index1 + 1 {
                return Err(format!("index decreased from {index1} to {index2}"));
            }
        }
        Ok(())
    })();
    finish("SnapshotAllCrash3D", &c, r);
}

#[test]
fn snapshot_init_3d() {
    let mut c = cluster(3, 1, false, Some(10));
    let r = (|| {
        let v = c.rand(1 << 30);
        c.one(v, 3, true)?;
        for _ in 0..11 {
            let v = c.rand(1 << 30);
            c.one(v, 3, true)?;
        }
        for i in 0..3 {
            c.restart(i);
        }
        let v = c.rand(1 << 30);
        c.one(v, 3, true)?;
        for i in 0..3 {
            c.restart(i);
        }
        let v = c.rand(1 << 30);
        c.one(v, 3, true)?;
        Ok(())
    })();
    finish("SnapshotInit3D", &c, r);
}

//! The 11 tests of a C++ Raft lab from another course, replayed in virtual time on the simulator with the
//! invariant checker active on every step.

use raftcore_sim::{finish, scenario, Cluster, NetConfig};

#[test]
fn initial_election_uses_few_rpcs_and_keeps_its_term() {
    let mut c = Cluster::new(3, 7, None);
    let r = (|| {
        c.check_one_leader()?;
        if c.rpcs() > 30 {
            return Err(format!("{} RPCs to elect, over 30", c.rpcs()));
        }
        let term = c.check_terms()?;
        c.run_for(5000);
        if c.check_terms()? != term {
            return Err("term changed in 5 s without failures".into());
        }
        Ok(())
    })();
    finish("initial election", &c, r);
}

#[test]
fn re_election_after_network_failure() {
    let mut c = Cluster::new(3, 7, None);
    let r = scenario::re_election(&mut c);
    finish("re-election", &c, r);
}

#[test]
fn basic_agreement_at_exact_indices_on_5_peers() {
    let mut c = Cluster::new(5, 7, None);
    let r = (|| {
        for index in 1..=3 {
            let got = c.one(index * 10, 5, false)?;
            if got != index {
                return Err(format!("expected index {index}, got {got}"));
            }
        }
        Ok(())
    })();
    finish("basic agreement", &c, r);
}

#[test]
fn agreement_despite_two_of_five_followers_disconnected() {
    let mut c = Cluster::new(5, 7, None);
    let r = (|| {
        c.one(1, 5, false)?;
        let leader = c.check_one_leader()?;
        c.disconnect((leader + 1) % 5);
        c.disconnect((leader + 2) % 5);
        for v in 2..6 {
            c.one(v, 3, false)?;
        }
        c.connect((leader + 1) % 5);
        c.connect((leader + 2) % 5);
        c.one(6, 5, true)?;
        Ok(())
    })();
    finish("fail agree", &c, r);
}

#[test]
fn no_agreement_with_three_of_five_disconnected() {
    let mut c = Cluster::new(5, 7, None);
    let r = (|| {
        c.one(1, 5, false)?;
        let leader = c.check_one_leader()?;
        for k in 1..=3 {
            c.disconnect((leader + k) % 5);
        }
        let (index, _) = c.start(leader, 2).ok_or("leader rejected Start")?;
        c.run_for(2000);
        if c.n_committed(index).0 > 0 {
            return Err("committed without a majority".into());
        }
        for k in 1..=3 {
            c.connect((leader + k) % 5);
        }
        c.one(3, 5, true)?;
        Ok(())
    })();
    finish("fail no agree", &c, r);
}

#[test]
fn disconnected_leader_rejoins() {
    let mut c = Cluster::new(3, 7, None);
    let r = scenario::rejoin(&mut c, 0);
    finish("rejoin", &c, r);
}

#[test]
fn five_concurrent_agreements() {
    let mut c = Cluster::new(3, 7, None);
    let r = (|| {
        let leader = c.check_one_leader()?;
        let started: Vec<_> = (0..5).filter_map(|v| c.start(leader, 100 + v).map(|(i, _)| (i, 100 + v))).collect();
        if started.len() != 5 {
            return Err("the leader refused a concurrent Start".into());
        }
        for (index, v) in started {
            if c.wait(index, 3, None)? != Some(v) {
                return Err(format!("index {index} does not hold {v}"));
            }
        }
        Ok(())
    })();
    finish("concurrent starts", &c, r);
}

#[test]
fn leader_backs_up_over_fifty_incorrect_entries_within_ten_seconds() {
    let mut c = Cluster::new(5, 7, None);
    let r = (|| {
        c.one(1, 5, true)?;
        let leader = c.check_one_leader()?;
        for k in 2..=4 {
            c.disconnect((leader + k) % 5);
        }
        for v in 0..50 {
            c.start(leader, 1000 + v);
        }
        c.run_for(500);
        c.disconnect(leader);
        c.disconnect((leader + 1) % 5);
        for k in 2..=4 {
            c.connect((leader + k) % 5);
        }
        for v in 0..50 {
            c.one(2000 + v, 3, true)?;
        }
        for i in 0..5 {
            c.connect(i);
        }
        let began = c.now();
        c.one(9999, 5, true)?;
        if c.now() - began > 10_000 {
            return Err(format!("backing up took {} ms", c.now() - began));
        }
        Ok(())
    })();
    finish("backup", &c, r);
}

#[test]
fn rpc_counts_for_agreement_and_idleness() {
    let mut c = Cluster::new(5, 7, None);
    let r = (|| {
        let leader = c.check_one_leader()?;
        let before = c.rpcs();
        let (first, term) = c.start(leader, 1).ok_or("leader rejected Start")?;
        for v in 1..11 {
            c.start(leader, 1 + v).ok_or("leader lost leadership")?;
        }
        for i in 0..11 {
            c.wait(first + i, 5, Some(term))?.ok_or("term changed")?;
        }
        let used = c.rpcs() - before;
        if used > 55 {
            return Err(format!("{used} RPCs for 11 agreements on 5 peers, over 55"));
        }
        let idle = c.rpcs();
        c.run_for(1000);
        if c.rpcs() - idle > 60 {
            return Err(format!("{} RPCs in an idle second, over 60", c.rpcs() - idle));
        }
        Ok(())
    })();
    finish("rpc count", &c, r);
}

#[test]
fn unreliable_agreement_with_flapping_peers() {
    let mut c = Cluster::new(5, 7, None);
    let r = (|| {
        let mut value = 0;
        // Every 100 ms each peer has a 1-in-10 chance of being cut off, else a 0–26 ms slowdown.
        for _ in 0..50 {
            c.net = NetConfig { delay_max: 26, ..NetConfig::reliable() };
            for i in 0..5 {
                if c.rand(10) == 0 {
                    c.disconnect(i);
                } else {
                    c.connect(i);
                }
            }
            value += 1;
            for i in 0..5 {
                if c.start(i, value).is_some() {
                    break;
                }
            }
            c.run_for(100);
        }
        for i in 0..5 {
            c.connect(i);
        }
        c.one(100_000, 5, true)?;
        Ok(())
    })();
    finish("unreliable agreement", &c, r);
}

#[test]
fn figure_8() {
    let mut c = Cluster::new(5, 7, None);
    let r = (|| {
        c.one(1, 1, true)?;
        let mut up = 5;
        for round in 0..300 {
            let mut leader = None;
            for i in 0..5 {
                if c.is_up(i) && c.start(i, 10 + round).is_some() {
                    leader = Some(i);
                }
            }
            let pause = if c.rand(10) == 0 { c.rand(500) } else { c.rand(13) };
            c.run_for(pause);
            if let Some(l) = leader {
                c.crash(l);
                up -= 1;
            }
            if up < 3 {
                let s = c.rand(5) as usize;
                if !c.is_up(s) {
                    c.restart(s);
                    up += 1;
                }
            }
        }
        for i in 0..5 {
            if !c.is_up(i) {
                c.restart(i);
            }
        }
        c.one(100_000, 5, true)?;
        Ok(())
    })();
    finish("figure 8", &c, r);
}

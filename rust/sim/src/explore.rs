//! Randomized exploration: one seed picks a cluster size, a network, a snapshot interval and a fault schedule,
//! runs it with the checker on, then heals everything and requires a proposal to commit on every node within
//! [`COMMIT_BOUND_MS`] of virtual time.

use rand_core::{RngCore, SeedableRng};
use rand_pcg::Pcg64Mcg;

use raftcore::core::Pacing;

use crate::cluster::{Cluster, NetConfig};

/// After healing, a proposal must be applied by every node within this much virtual time (the lab's one()
/// allows 10 s; a healthy cluster elects within a few election timeouts).
pub const COMMIT_BOUND_MS: u64 = 10_000;

/// What one seed did.
#[derive(Debug)]
pub struct Outcome {
    /// The seed.
    pub seed: u64,
    /// Cluster size it chose.
    pub peers: usize,
    /// Invariant or liveness violations; empty when the run was correct.
    pub violations: Vec<String>,
    /// Virtual time the run covered, ms.
    pub virtual_ms: u64,
}

/// Runs one seed.
pub fn run_seed(seed: u64) -> Outcome {
    run_seed_paced(seed, Pacing::Prompt)
}

/// Runs one seed with every core paced as `pacing` says; the seed draws the same cluster, network and faults
/// as under [`run_seed`].
pub fn run_seed_paced(seed: u64, pacing: Pacing) -> Outcome {
    let mut rng = Pcg64Mcg::seed_from_u64(seed ^ 0x5eed_5eed_5eed_5eed);
    let mut pick = |below: u64| rng.next_u64() % below;
    let peers = [3, 5, 7][pick(3) as usize];
    let snapshot_every = [None, Some(5), Some(10)][pick(3) as usize];
    let mut cluster = Cluster::with_pacing(peers, seed, snapshot_every, pacing);
    cluster.net = NetConfig {
        drop_request: [0, 50, 100, 300][pick(4) as usize],
        drop_reply: [0, 50, 100, 300][pick(4) as usize],
        duplicate: [0, 20, 100][pick(3) as usize],
        delay_min: 0,
        delay_max: [1, 26, 100][pick(3) as usize],
        delay_replies: true,
        long_reordering: pick(4) == 0,
    };
    let rounds = 20 + pick(60);
    let mut next_command = seed.wrapping_mul(1_000_003);
    for _ in 0..rounds {
        match pick(10) {
            0 | 1 => {
                let i = pick(peers as u64) as usize;
                cluster.disconnect(i);
            }
            2 | 3 => {
                let i = pick(peers as u64) as usize;
                cluster.connect(i);
            }
            4 => {
                let i = pick(peers as u64) as usize;
                cluster.crash(i);
            }
            5 | 6 => {
                let i = pick(peers as u64) as usize;
                if !cluster.is_up(i) {
                    cluster.restart(i);
                }
            }
            _ => {}
        }
        for _ in 0..pick(6) {
            next_command += 1;
            for i in 0..peers {
                cluster.start(i, next_command);
            }
            let pause = pick(60);
            cluster.run_for(pause);
        }
        let pause = 20 + pick(500);
        cluster.run_for(pause);
    }
    // Heal: everyone up and connected on a reliable network, then a proposal must commit everywhere in time.
    cluster.net = NetConfig::reliable();
    for i in 0..peers {
        cluster.connect(i);
        if !cluster.is_up(i) {
            cluster.restart(i);
        }
    }
    let healed_at = cluster.now();
    let mut violations: Vec<String> = cluster.violations().to_vec();
    next_command += 1;
    match cluster.one(next_command, peers, true) {
        Ok(_) if cluster.now() - healed_at <= COMMIT_BOUND_MS => {}
        Ok(_) => violations.push(format!(
            "liveness: the healed cluster took {} ms to commit, over the {COMMIT_BOUND_MS} ms bound",
            cluster.now() - healed_at
        )),
        Err(e) => violations.push(format!("liveness: after healing, {e}")),
    }
    violations.extend(cluster.violations().iter().skip(violations.len()).cloned());
    Outcome { seed, peers, violations, virtual_ms: cluster.now() }
}

//! A node's settings in milliseconds, and their translation into the core's ticks.

use std::time::Duration;

use crate::core::{Config, Pacing, PeerId};

use super::StartError;

/// How long one core tick lasts. Timing settings are rounded up to whole ticks.
pub const TICK: Duration = Duration::from_millis(10);
/// Heartbeat interval used when the setting is 0: four a second, well under the lab's limit of ten, because the
/// lab counts RPCs and an idle leader's heartbeats are most of them. Nothing waits for it: proposals, commits and
/// the retransmission of a lost request or heartbeat (the core's `RETRANSMIT_TICKS`) go out on their own.
pub const DEFAULT_HEARTBEAT_MS: u32 = 250;
/// Election timeout range used when the settings are 0: more than two heartbeats, and a lost heartbeat is sent
/// again within 60 ms, so a follower on the lab's unreliable network (10% of requests lost) times out under a live
/// leader only if three requests in a row are lost. No longer than that: the lab's crash and partition tests wait
/// out an election timeout every time they take a leader away, so each 50 ms here costs seconds there.
pub const DEFAULT_ELECTION_TIMEOUT_MS: (u32, u32) = (550, 850);
/// Largest cluster accepted; the core keeps per-peer state, so an absurd count would exhaust memory.
pub const MAX_PEERS: u32 = 1024;

/// Settings of one node. Timing fields of 0 take the defaults; `seed` 0 draws a seed from entropy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeConfig {
    /// This peer's id, `0..peers`.
    pub me: PeerId,
    /// Number of peers, including this one.
    pub peers: u32,
    /// Interval between a leader's heartbeats.
    pub heartbeat_ms: u32,
    /// Lower bound of the randomized election timeout.
    pub election_timeout_min_ms: u32,
    /// Upper bound of the randomized election timeout.
    pub election_timeout_max_ms: u32,
    /// Seed of the core's PRNG (election jitter).
    pub seed: u64,
    /// When a leader sends new entries: at once (the default) or only on heartbeats, for diagnosis.
    pub pacing: Pacing,
}

impl NodeConfig {
    /// Peer `me` of `peers` with default timing and an entropy seed.
    pub fn new(me: PeerId, peers: u32) -> NodeConfig {
        NodeConfig { me, peers, ..NodeConfig::default() }
    }

    /// The core's configuration: milliseconds rounded up to ticks, defaults and seed filled in.
    pub fn to_core(&self) -> Result<Config, StartError> {
        if self.peers > MAX_PEERS {
            return Err(StartError::Config(format!("{} peers is more than the {MAX_PEERS} supported", self.peers)));
        }
        let or = |value: u32, default: u32| if value == 0 { default } else { value };
        let (min_default, max_default) = DEFAULT_ELECTION_TIMEOUT_MS;
        let cfg = Config {
            me: self.me,
            peers: self.peers,
            heartbeat_ticks: ms_to_ticks(or(self.heartbeat_ms, DEFAULT_HEARTBEAT_MS)),
            election_ticks_min: ms_to_ticks(or(self.election_timeout_min_ms, min_default)),
            election_ticks_max: ms_to_ticks(or(self.election_timeout_max_ms, max_default)),
            seed: if self.seed == 0 { rand::random() } else { self.seed },
            pacing: self.pacing,
            // What a node does not set in milliseconds, it takes from the core's defaults.
            ..Config::new(self.me, self.peers, 0)
        };
        cfg.validate().map_err(|e| StartError::Config(e.to_string()))?;
        Ok(cfg)
    }
}

fn ms_to_ticks(ms: u32) -> u32 {
    let tick_ms = TICK.as_millis() as u32;
    ms.div_ceil(tick_ms).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_fields_take_the_defaults_and_milliseconds_round_up_to_ticks() {
        let cfg = NodeConfig { seed: 7, ..NodeConfig::new(1, 3) }.to_core().unwrap();
        assert_eq!((cfg.heartbeat_ticks, cfg.election_ticks_min, cfg.election_ticks_max), (25, 55, 85));
        assert_eq!(cfg.seed, 7);
        let cfg =
            NodeConfig { heartbeat_ms: 15, election_timeout_min_ms: 41, election_timeout_max_ms: 41, ..cfg_of(3) }
                .to_core()
                .unwrap();
        assert_eq!((cfg.heartbeat_ticks, cfg.election_ticks_min, cfg.election_ticks_max), (2, 5, 5));
    }

    #[test]
    fn unusable_settings_are_refused() {
        assert!(NodeConfig::new(3, 3).to_core().is_err());
        assert!(NodeConfig::new(0, MAX_PEERS + 1).to_core().is_err());
        assert!(NodeConfig { heartbeat_ms: 1000, ..cfg_of(3) }.to_core().is_err());
        assert!(NodeConfig { election_timeout_min_ms: 950, ..cfg_of(3) }.to_core().is_err());
    }

    fn cfg_of(peers: u32) -> NodeConfig {
        NodeConfig::new(0, peers)
    }
}

//! Configuration of one core: who it is, how big the cluster is, and its timing in ticks.
//!
//! The core knows time only as a count of `tick()` calls; the host decides how long a tick lasts.

use super::message::PeerId;

/// The settings of one Raft peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// This peer's id, `0..peers`.
    pub me: PeerId,
    /// Number of peers in the cluster, including this one.
    pub peers: u32,
    /// Ticks between a leader's heartbeats.
    pub heartbeat_ticks: u32,
    /// Lower bound (inclusive) of the randomized election timeout, in ticks.
    pub election_ticks_min: u32,
    /// Upper bound (inclusive) of the randomized election timeout, in ticks.
    pub election_ticks_max: u32,
    /// Seed of the core's own PRNG, which draws election timeouts: one seed replays one run.
    pub seed: u64,
    /// When a leader sends new entries and commit indices; see [`Pacing`].
    pub pacing: Pacing,
    /// Ticks per request a follower may be sent with new proposals once it has had two back to back: under a
    /// steady stream of overlapping proposals, those made in between ride together. A client alone is not held.
    pub append_refill_ticks: u32,
}

/// When a leader sends what followers lack.
///
/// [`Pacing::Heartbeat`] exists for diagnosing the service above Raft, not for speed. A typical hand-written lab
/// Raft sends new entries only with its next heartbeat, so its commits come a heartbeat after `Start`; a service
/// that registers its wait for an index only after `Start` returns can then get away with a race that the prompt
/// pacing, which commits within a round trip, exposes. A service test that fails under `Prompt` and passes under
/// `Heartbeat` points at such a race in the service; one that fails under both points elsewhere.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Pacing {
    /// Proposals go out as soon as the host takes the `Ready`, follow-ups as soon as a follower answers, and a
    /// commit is announced a fifth of a heartbeat after it happens.
    #[default]
    Prompt,
    /// AppendEntries and InstallSnapshot leave a leader only on its heartbeat ticks (and on election): proposals,
    /// follow-ups after a reply and commit announcements all wait for the next heartbeat.
    Heartbeat,
}

/// Why a [`Config`] cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `peers` is zero or `me` is not below it.
    #[error("peer id {me} is not in a cluster of {peers}")]
    BadPeer {
        /// The configured id.
        me: PeerId,
        /// The configured cluster size.
        peers: u32,
    },
    /// Timing that cannot elect a stable leader.
    #[error("bad timing: {0}")]
    BadTiming(&'static str),
}

impl Config {
    /// A config with the default timing (heartbeat 10 ticks, election 30–50 ticks: with 10 ms ticks that is
    /// 10 heartbeats per second, the lab's limit, and an election within 5 s of a failure).
    pub fn new(me: PeerId, peers: u32, seed: u64) -> Config {
        Config {
            me,
            peers,
            heartbeat_ticks: 10,
            election_ticks_min: 30,
            election_ticks_max: 50,
            seed,
            pacing: Pacing::Prompt,
            // 40 ms: the lab's churn (three clients, each proposing again as soon as it sees its last command
            // committed) then costs a quarter fewer requests than at 30 ms. A client alone, which waits for each
            // commit, takes no token (`Raft::send_new_proposals`), so only overlapping clients feel the refill.
            append_refill_ticks: 4,
        }
    }

    /// Checks the settings; the core refuses to start on an error.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.peers == 0 || self.me >= self.peers {
            return Err(ConfigError::BadPeer { me: self.me, peers: self.peers });
        }
        if self.heartbeat_ticks == 0 {
            return Err(ConfigError::BadTiming("heartbeat_ticks must be at least 1"));
        }
        if self.election_ticks_min <= self.heartbeat_ticks {
            return Err(ConfigError::BadTiming("election_ticks_min must exceed heartbeat_ticks"));
        }
        if self.append_refill_ticks == 0 {
            return Err(ConfigError::BadTiming("append_refill_ticks must be at least 1"));
        }
        if self.election_ticks_max < self.election_ticks_min {
            return Err(ConfigError::BadTiming("election_ticks_max must be at least election_ticks_min"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bad_values_do_not() {
        assert!(Config::new(0, 3, 1).validate().is_ok());
        assert!(Config::new(3, 3, 1).validate().is_err());
        assert!(Config::new(0, 0, 1).validate().is_err());
        let mut c = Config::new(0, 3, 1);
        c.election_ticks_min = 5;
        assert!(c.validate().is_err());
        let mut c = Config::new(0, 3, 1);
        c.election_ticks_max = 20;
        assert!(c.validate().is_err());
    }
}

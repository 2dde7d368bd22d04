//! The persisted state (Figure 2's "persistent state on all servers" plus the snapshot's metadata) and its
//! byte format.
//!
//! Layout: the magic `RFTC`, a format version byte, the postcard-encoded [`PersistedState`], and a CRC-32 of
//! everything before it (little-endian). A reset to a fresh state after a crash could vote twice in one term,
//! so anything that is not exactly such a record — truncated, corrupt, another version, another peer's or
//! another snapshot's — is an error, never an empty state.

use serde::{Deserialize, Serialize};

use super::message::{Entry, Index, PeerId, Term};

const MAGIC: &[u8; 4] = b"RFTC";
/// The version written by this build; decoding accepts only it.
pub const FORMAT_VERSION: u8 = 1;
const CHECKSUM_LEN: usize = 4;

/// Everything a peer must remember across a crash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersistedState {
    /// The peer that wrote it; another peer's state is refused.
    pub me: PeerId,
    /// The cluster size it was written for.
    pub peers: u32,
    /// Latest term this peer has seen.
    pub current_term: Term,
    /// Candidate that received this peer's vote in `current_term`.
    pub voted_for: Option<PeerId>,
    /// Last index the snapshot covers (0: no snapshot).
    pub snapshot_index: Index,
    /// Term of `snapshot_index`.
    pub snapshot_term: Term,
    /// Length of the snapshot bytes saved beside this state.
    pub snapshot_len: u64,
    /// CRC-32 of those snapshot bytes, so a snapshot from another save is caught.
    pub snapshot_crc: u32,
    /// Entries after the snapshot.
    pub entries: Vec<Entry>,
}

/// Why persisted bytes cannot be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    /// Fewer bytes than the smallest record.
    #[error("persisted state is truncated ({0} bytes)")]
    Truncated(usize),
    /// Not written by raftcore.
    #[error("persisted state does not start with the raftcore magic")]
    BadMagic,
    /// Written by a build with another format.
    #[error("persisted state has format version {found}, this build reads {FORMAT_VERSION}")]
    UnsupportedVersion {
        /// The version found.
        found: u8,
    },
    /// The checksum does not match the bytes.
    #[error("persisted state is corrupt (checksum mismatch)")]
    ChecksumMismatch,
    /// The checksum matches but the body does not decode.
    #[error("persisted state is malformed: {0}")]
    Malformed(String),
    /// Written by another peer or for another cluster size.
    #[error("persisted state belongs to peer {found_me} of {found_peers}, not peer {me} of {peers}")]
    ForeignState {
        /// Peer id in the state.
        found_me: PeerId,
        /// Cluster size in the state.
        found_peers: u32,
        /// This peer's id.
        me: PeerId,
        /// This cluster's size.
        peers: u32,
    },
    /// The snapshot bytes are not the ones saved with this state.
    #[error("snapshot ({found_len} bytes) does not match the persisted state (expects {expected_len} bytes)")]
    SnapshotMismatch {
        /// Length of the snapshot given.
        found_len: u64,
        /// Length the state recorded.
        expected_len: u64,
    },
    /// A snapshot without any state: the state was lost.
    #[error("a snapshot was given without the raft state that must accompany it")]
    SnapshotWithoutState,
    /// Inconsistent values inside a well-formed record.
    #[error("persisted state is inconsistent: {0}")]
    Inconsistent(&'static str),
}

/// CRC-32 of snapshot bytes, as recorded in [`PersistedState::snapshot_crc`].
pub fn snapshot_checksum(snapshot: &[u8]) -> u32 {
    crc32fast::hash(snapshot)
}

impl PersistedState {
    /// The record's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.entries.iter().map(|e| e.command.len() + 4).sum::<usize>());
        out.extend_from_slice(MAGIC);
        out.push(FORMAT_VERSION);
        // Serializing plain structs into a growable Vec cannot fail.
        let out = postcard::to_extend(self, out).expect("postcard encoding into a Vec");
        let mut out = out;
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Parses a record and checks it against the snapshot bytes saved with it. Never panics on any input.
    pub fn decode(bytes: &[u8], snapshot: &[u8]) -> Result<PersistedState, RestoreError> {
        if bytes.len() < MAGIC.len() + 1 + CHECKSUM_LEN {
            return Err(RestoreError::Truncated(bytes.len()));
        }
        if &bytes[..MAGIC.len()] != MAGIC {
            return Err(RestoreError::BadMagic);
        }
        let version = bytes[MAGIC.len()];
        if version != FORMAT_VERSION {
            return Err(RestoreError::UnsupportedVersion { found: version });
        }
        let (covered, checksum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
        let expected = u32::from_le_bytes(checksum.try_into().expect("4 checksum bytes"));
        if crc32fast::hash(covered) != expected {
            return Err(RestoreError::ChecksumMismatch);
        }
        let body = &covered[MAGIC.len() + 1..];
        let state: PersistedState = match postcard::take_from_bytes(body) {
            Ok((state, [])) => state,
            Ok((_, rest)) => return Err(RestoreError::Malformed(format!("{} trailing bytes", rest.len()))),
            Err(e) => return Err(RestoreError::Malformed(e.to_string())),
        };
        if state.snapshot_len != snapshot.len() as u64 || state.snapshot_crc != snapshot_checksum(snapshot) {
            return Err(RestoreError::SnapshotMismatch {
                found_len: snapshot.len() as u64,
                expected_len: state.snapshot_len,
            });
        }
        if state.snapshot_index == 0 && state.snapshot_len != 0 {
            return Err(RestoreError::Inconsistent("snapshot bytes without a snapshot index"));
        }
        if state.snapshot_term > state.current_term || state.entries.iter().any(|e| e.term > state.current_term) {
            return Err(RestoreError::Inconsistent("a log term is newer than the current term"));
        }
        if state.entries.windows(2).any(|w| w[0].term > w[1].term)
            || state.entries.first().is_some_and(|e| e.term < state.snapshot_term)
        {
            return Err(RestoreError::Inconsistent("log terms decrease"));
        }
        if state.snapshot_index.checked_add(state.entries.len() as u64).is_none() {
            return Err(RestoreError::Inconsistent("log index overflows"));
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PersistedState {
        PersistedState {
            me: 1,
            peers: 3,
            current_term: 5,
            voted_for: Some(2),
            snapshot_index: 9,
            snapshot_term: 4,
            snapshot_len: 3,
            snapshot_crc: snapshot_checksum(b"abc"),
            entries: vec![Entry { term: 4, command: vec![1, 2] }, Entry { term: 5, command: vec![3] }],
        }
    }

    #[test]
    fn round_trips() {
        let s = sample();
        assert_eq!(PersistedState::decode(&s.encode(), b"abc").unwrap(), s);
    }

    #[test]
    fn every_kind_of_damage_is_an_error() {
        let bytes = sample().encode();
        assert_eq!(PersistedState::decode(&bytes[..3], b"abc"), Err(RestoreError::Truncated(3)));
        for cut in 5..bytes.len() {
            assert!(PersistedState::decode(&bytes[..cut], b"abc").is_err(), "cut at {cut}");
        }
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x40;
            assert!(PersistedState::decode(&flipped, b"abc").is_err(), "flip at {i}");
        }
        let mut foreign = bytes.clone();
        foreign[0] = b'X';
        assert_eq!(PersistedState::decode(&foreign, b"abc"), Err(RestoreError::BadMagic));
        let mut newer = bytes.clone();
        newer[4] = 2;
        assert_eq!(PersistedState::decode(&newer, b"abc"), Err(RestoreError::UnsupportedVersion { found: 2 }));
        assert!(matches!(PersistedState::decode(&bytes, b"abd"), Err(RestoreError::SnapshotMismatch { .. })));
        assert!(matches!(PersistedState::decode(&bytes, b""), Err(RestoreError::SnapshotMismatch { .. })));
    }

    #[test]
    fn inconsistent_values_are_refused() {
        let mut s = sample();
        s.entries[0].term = 9;
        assert!(matches!(PersistedState::decode(&s.encode(), b"abc"), Err(RestoreError::Inconsistent(_))));
    }
}

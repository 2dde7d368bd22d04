//! The messages peers exchange (Figure 2's three RPCs and their replies) and their wire encoding.
//!
//! Every request names its sender, so a host that only sees bytes (a labrpc handler) can hand it to the core.
//! Replies carry what the leader needs to act on them without remembering the request: the index range they
//! confirm and the fast-backup hints of a rejection.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// A Raft term.
pub type Term = u64;
/// A 1-based log index; 0 means "before the first entry".
pub type Index = u64;
/// A peer's position in the cluster, `0..peers`.
pub type PeerId = u32;

/// The largest term a message or a persisted state may carry; anything larger is refused. Terms cross the C ABI
/// as `i64` (Go's `int`), the driver packs a term with a role flag into 64 bits (`term << 1`), and every election
/// adds one: a bound of 2^62 − 1 keeps all three exact with room for more elections than any run can hold. A
/// larger term can only come from a broken or hostile peer, and accepting it would be persisted for good.
pub const MAX_TERM: Term = (1 << 62) - 1;

/// The largest log index a message or a persisted state may carry, for the same reasons as [`MAX_TERM`]: indices
/// cross the ABI as `i64`, and the core computes `last index + 1` without a check.
pub const MAX_INDEX: Index = (1 << 62) - 1;

/// One log entry. Its index is implied by its position in the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Term in which a leader received the command.
    pub term: Term,
    /// The host's command, opaque to the core. Shared, not copied, between the log, the requests that carry it
    /// and the apply stream.
    #[serde(with = "byte_string")]
    pub command: Bytes,
}

/// RequestVote arguments (Figure 2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestVote {
    /// Candidate's term.
    pub term: Term,
    /// Candidate requesting the vote.
    pub candidate: PeerId,
    /// Index of the candidate's last log entry (§5.4).
    pub last_log_index: Index,
    /// Term of the candidate's last log entry (§5.4).
    pub last_log_term: Term,
}

/// RequestVote results (Figure 2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestVoteReply {
    /// The voter's current term, for the candidate to update itself.
    pub term: Term,
    /// True means the candidate received the vote.
    pub vote_granted: bool,
}

/// AppendEntries arguments (Figure 2); with no entries it is a heartbeat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendEntries {
    /// Leader's term.
    pub term: Term,
    /// So followers know who leads.
    pub leader: PeerId,
    /// Index of the log entry immediately preceding the new ones.
    pub prev_log_index: Index,
    /// Term of the entry at `prev_log_index`.
    pub prev_log_term: Term,
    /// Entries to store, starting at `prev_log_index + 1`.
    pub entries: Vec<Entry>,
    /// Leader's commit index.
    pub leader_commit: Index,
}

/// AppendEntries results (Figure 2), extended with the fast-backup hints of §5.3's closing paragraph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendEntriesReply {
    /// The follower's current term, for the leader to update itself.
    pub term: Term,
    /// True if the follower held an entry matching `prev_log_index` and `prev_log_term`.
    pub success: bool,
    /// On success, the last index the follower now shares with the leader (`prev_log_index + entries`).
    pub match_index: Index,
    /// On failure, the term of the follower's conflicting entry at `prev_log_index`, if it has one.
    pub conflict_term: Option<Term>,
    /// On failure, the first index of `conflict_term` in the follower's log, or the follower's log length + 1
    /// when it has no entry at `prev_log_index`.
    pub conflict_index: Index,
}

/// InstallSnapshot arguments (Figure 13), sent whole: snapshots here are small enough for one message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallSnapshot {
    /// Leader's term.
    pub term: Term,
    /// So followers know who leads.
    pub leader: PeerId,
    /// The snapshot replaces all entries up through and including this index.
    pub last_included_index: Index,
    /// Term of `last_included_index`.
    pub last_included_term: Term,
    /// The service's snapshot bytes.
    #[serde(with = "byte_string")]
    pub data: Vec<u8>,
}

/// InstallSnapshot results (Figure 13), extended with the index the follower now holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallSnapshotReply {
    /// The follower's current term, for the leader to update itself.
    pub term: Term,
    /// The snapshot index the reply acknowledges, so the leader can advance `match_index`.
    pub last_included_index: Index,
}

/// A request from one peer to another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// RequestVote.
    Vote(RequestVote),
    /// AppendEntries.
    Append(AppendEntries),
    /// InstallSnapshot.
    Snapshot(InstallSnapshot),
}

/// A reply to a [`Request`] of the same kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// Reply to RequestVote.
    Vote(RequestVoteReply),
    /// Reply to AppendEntries.
    Append(AppendEntriesReply),
    /// Reply to InstallSnapshot.
    Snapshot(InstallSnapshotReply),
}

/// The kind of an RPC, shared by a request and its reply; hosts use it to pick an RPC name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum RpcKind {
    /// RequestVote.
    RequestVote = 1,
    /// AppendEntries.
    AppendEntries = 2,
    /// InstallSnapshot.
    InstallSnapshot = 3,
}

impl RpcKind {
    /// The kind for a wire number, if it names one.
    pub fn from_u32(value: u32) -> Option<RpcKind> {
        match value {
            1 => Some(RpcKind::RequestVote),
            2 => Some(RpcKind::AppendEntries),
            3 => Some(RpcKind::InstallSnapshot),
            _ => None,
        }
    }
}

/// Bytes that do not decode as the expected message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed {what}: {reason}")]
pub struct DecodeError {
    /// What was being decoded.
    pub what: &'static str,
    /// Why it failed.
    pub reason: String,
}

fn decode<T: for<'de> Deserialize<'de>>(what: &'static str, bytes: &[u8]) -> Result<T, DecodeError> {
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(DecodeError { what, reason: format!("{} trailing bytes", rest.len()) }),
        Err(e) => Err(DecodeError { what, reason: e.to_string() }),
    }
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing plain structs into a growable Vec cannot fail.
    postcard::to_allocvec(value).expect("postcard encoding into a Vec")
}

impl Request {
    /// The RPC this request starts.
    pub fn kind(&self) -> RpcKind {
        match self {
            Request::Vote(_) => RpcKind::RequestVote,
            Request::Append(_) => RpcKind::AppendEntries,
            Request::Snapshot(_) => RpcKind::InstallSnapshot,
        }
    }
    /// The sender's term.
    pub fn term(&self) -> Term {
        match self {
            Request::Vote(m) => m.term,
            Request::Append(m) => m.term,
            Request::Snapshot(m) => m.term,
        }
    }
    /// The peer that sent it.
    pub fn sender(&self) -> PeerId {
        match self {
            Request::Vote(m) => m.candidate,
            Request::Append(m) => m.leader,
            Request::Snapshot(m) => m.leader,
        }
    }
    /// Wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }
    /// Parses wire bytes; never panics on any input.
    pub fn decode(bytes: &[u8]) -> Result<Request, DecodeError> {
        decode("request", bytes)
    }
}

impl Reply {
    /// The RPC this reply answers.
    pub fn kind(&self) -> RpcKind {
        match self {
            Reply::Vote(_) => RpcKind::RequestVote,
            Reply::Append(_) => RpcKind::AppendEntries,
            Reply::Snapshot(_) => RpcKind::InstallSnapshot,
        }
    }
    /// The replier's term.
    pub fn term(&self) -> Term {
        match self {
            Reply::Vote(m) => m.term,
            Reply::Append(m) => m.term,
            Reply::Snapshot(m) => m.term,
        }
    }
    /// Wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }
    /// Parses wire bytes; never panics on any input.
    pub fn decode(bytes: &[u8]) -> Result<Reply, DecodeError> {
        decode("reply", bytes)
    }
}

/// Serde for a `Vec<u8>` field as one byte string rather than serde's default, a sequence of `u8`s. Postcard writes
/// both the same way (a length, then the bytes), so the encoding is unchanged, but a sequence goes through the
/// encoder and decoder one byte at a time: with 4 KiB commands that loop was most of the time of a persist.
mod byte_string {
    use serde::de::{Deserializer, SeqAccess, Visitor};
    use serde::Serializer;
    use std::marker::PhantomData;

    pub fn serialize<S: Serializer, B: AsRef<[u8]>>(bytes: &B, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(bytes.as_ref())
    }

    pub fn deserialize<'de, D: Deserializer<'de>, B: From<Vec<u8>>>(deserializer: D) -> Result<B, D::Error> {
        deserializer.deserialize_byte_buf(ByteString(PhantomData))
    }

    struct ByteString<B>(PhantomData<B>);

    impl<'de, B: From<Vec<u8>>> Visitor<'de> for ByteString<B> {
        type Value = B;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a byte string")
        }

        fn visit_bytes<E>(self, bytes: &[u8]) -> Result<B, E> {
            Ok(bytes.to_vec().into())
        }

        fn visit_byte_buf<E>(self, bytes: Vec<u8>) -> Result<B, E> {
            Ok(bytes.into())
        }

        /// Formats without byte strings hand a sequence.
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<B, A::Error> {
            let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
            while let Some(byte) = seq.next_element()? {
                bytes.push(byte);
            }
            Ok(bytes.into())
        }
    }
}

#[cfg(test)]
mod tests {
    /// What serde's default for a `Vec<u8>` field writes, to show the byte-string encoding is the same.
    #[derive(serde::Serialize)]
    struct DefaultEntry {
        term: super::Term,
        command: Vec<u8>,
    }

    #[test]
    fn byte_strings_encode_as_the_default_sequence_did() {
        for len in [0, 1, 127, 128, 5000] {
            let command: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let entry = super::Entry { term: 300, command: command.clone().into() };
            let encoded = postcard::to_allocvec(&entry).unwrap();
            assert_eq!(encoded, postcard::to_allocvec(&DefaultEntry { term: 300, command }).unwrap());
            assert_eq!(postcard::from_bytes::<super::Entry>(&encoded).unwrap(), entry);
        }
    }

    use super::*;

    #[test]
    fn requests_and_replies_round_trip() {
        let req = Request::Append(AppendEntries {
            term: 7,
            leader: 2,
            prev_log_index: 40,
            prev_log_term: 6,
            entries: vec![Entry { term: 7, command: b"x".to_vec().into() }],
            leader_commit: 39,
        });
        assert_eq!(Request::decode(&req.encode()).unwrap(), req);
        let reply = Reply::Append(AppendEntriesReply {
            term: 7,
            success: false,
            match_index: 0,
            conflict_term: Some(5),
            conflict_index: 31,
        });
        assert_eq!(Reply::decode(&reply.encode()).unwrap(), reply);
    }

    #[test]
    fn garbage_and_trailing_bytes_are_errors() {
        assert!(Request::decode(&[]).is_err());
        assert!(Request::decode(&[9, 9, 9]).is_err());
        let mut bytes = Reply::Vote(RequestVoteReply { term: 1, vote_granted: true }).encode();
        bytes.push(0);
        assert!(Reply::decode(&bytes).is_err());
    }

    #[test]
    fn a_heartbeat_is_a_few_bytes() {
        let hb = Request::Append(AppendEntries {
            term: 3,
            leader: 0,
            prev_log_index: 10,
            prev_log_term: 3,
            entries: vec![],
            leader_commit: 10,
        });
        assert!(hb.encode().len() <= 8, "{} bytes", hb.encode().len());
    }
}

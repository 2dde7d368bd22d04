//! The persisted state (Figure 2's "persistent state on all servers" plus the snapshot's metadata), its byte
//! format, and the incrementally maintained image of it that the core hands out on every persist.
//!
//! Layout (format version 2):
//!
//! ```text
//! "RFTC" | version | entry 1 | … | entry n | header | header length (u32 LE) | CRC-32 (u32 LE)
//! ```
//!
//! Each entry and the [`Header`] (everything but the entries, plus their count) are postcard-encoded; the CRC-32
//! covers every byte before it. The entries come first and the header last, unlike version 1 (one postcard
//! record, header first), because the log changes at its end: an append adds bytes after the cached entries,
//! and the checksum of the unchanged prefix carries over, so a persist encodes only the new entries and the small
//! header instead of the whole log ([`PersistImage`]). A reset to a fresh state after a crash could vote twice in
//! one term, so anything that is not exactly such a record — truncated, corrupt, another version, another peer's
//! or another snapshot's — is an error, never an empty state.

use serde::{Deserialize, Serialize};

use super::log::RaftLog;
use super::message::{Entry, Index, PeerId, Term, MAX_INDEX, MAX_TERM};

const MAGIC: &[u8; 4] = b"RFTC";
/// The version written by this build; decoding accepts only it.
pub const FORMAT_VERSION: u8 = 2;
/// Magic and version.
const PREFIX_LEN: usize = MAGIC.len() + 1;
const CHECKSUM_LEN: usize = 4;
/// Header length and checksum.
const TRAILER_LEN: usize = 4 + CHECKSUM_LEN;

/// Everything a peer must remember across a crash.
#[derive(Clone, Debug, PartialEq, Eq)]
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

/// The fields of a persisted state other than its entries, written after them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// See [`PersistedState::me`].
    pub me: PeerId,
    /// See [`PersistedState::peers`].
    pub peers: u32,
    /// See [`PersistedState::current_term`].
    pub current_term: Term,
    /// See [`PersistedState::voted_for`].
    pub voted_for: Option<PeerId>,
    /// See [`PersistedState::snapshot_index`].
    pub snapshot_index: Index,
    /// See [`PersistedState::snapshot_term`].
    pub snapshot_term: Term,
    /// See [`PersistedState::snapshot_len`].
    pub snapshot_len: u64,
    /// See [`PersistedState::snapshot_crc`].
    pub snapshot_crc: u32,
    /// How many entries precede the header.
    pub entries: u64,
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

fn prefix() -> [u8; PREFIX_LEN] {
    let mut p = [0; PREFIX_LEN];
    p[..MAGIC.len()].copy_from_slice(MAGIC);
    p[MAGIC.len()] = FORMAT_VERSION;
    p
}

/// A postcard output that appends to a Vec, copying byte strings whole: postcard's own `Extend` output pushes
/// them one byte at a time, which made that loop most of a persist's time with 4 KiB commands.
struct Append<'a>(&'a mut Vec<u8>);

impl postcard::ser_flavors::Flavor for Append<'_> {
    type Output = ();

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        self.0.extend_from_slice(data);
        Ok(())
    }

    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.0.push(data);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

/// Appends postcard's encoding of `value` to `out`. Serializing plain structs into a growable Vec cannot fail.
fn encode_into<T: Serialize>(value: &T, out: &mut Vec<u8>) {
    postcard::serialize_with_flavor(value, Append(out)).expect("postcard encoding into a Vec");
}

/// Appends the header, its length and the checksum to a buffer holding the prefix and the entries, given the
/// CRC-32 of that buffer: the last step of both the full and the incremental encoding, so they cannot differ.
fn seal(out: &mut Vec<u8>, body_crc: u32, header: &Header) {
    let body_len = out.len();
    encode_into(header, out);
    let header_len = u32::try_from(out.len() - body_len).expect("a header is a few dozen bytes");
    out.extend_from_slice(&header_len.to_le_bytes());
    let mut crc = crc32fast::Hasher::new_with_initial_len(body_crc, body_len as u64);
    crc.update(&out[body_len..]);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
}

impl PersistedState {
    /// The header fields of this state.
    pub fn header(&self) -> Header {
        Header {
            me: self.me,
            peers: self.peers,
            current_term: self.current_term,
            voted_for: self.voted_for,
            snapshot_index: self.snapshot_index,
            snapshot_term: self.snapshot_term,
            snapshot_len: self.snapshot_len,
            snapshot_crc: self.snapshot_crc,
            entries: self.entries.len() as u64,
        }
    }

    /// The record's bytes, encoded from scratch (the core itself keeps a [`PersistImage`] up to date instead).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.entries.iter().map(|e| e.command.len() + 4).sum::<usize>());
        out.extend_from_slice(&prefix());
        for entry in &self.entries {
            encode_into(entry, &mut out);
        }
        let body_crc = crc32fast::hash(&out);
        seal(&mut out, body_crc, &self.header());
        out
    }

    /// Parses a record and checks it against the snapshot bytes saved with it. Never panics on any input.
    pub fn decode(bytes: &[u8], snapshot: &[u8]) -> Result<PersistedState, RestoreError> {
        if bytes.len() < PREFIX_LEN + TRAILER_LEN {
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
        let (framed, header_len) = covered.split_at(covered.len() - 4);
        let header_len = u32::from_le_bytes(header_len.try_into().expect("4 length bytes")) as usize;
        let Some(entries_len) = (framed.len() - PREFIX_LEN).checked_sub(header_len) else {
            return Err(RestoreError::Malformed(format!("header length {header_len} runs past the record")));
        };
        let (mut body, header) = framed[PREFIX_LEN..].split_at(entries_len);
        let header: Header = match postcard::take_from_bytes(header) {
            Ok((header, [])) => header,
            Ok((_, rest)) => return Err(RestoreError::Malformed(format!("{} bytes after the header", rest.len()))),
            Err(e) => return Err(RestoreError::Malformed(format!("header: {e}"))),
        };
        // Every entry takes at least two bytes, which bounds the allocation whatever the count claims.
        let mut entries = Vec::with_capacity((header.entries as usize).min(body.len() / 2));
        for i in 0..header.entries {
            match postcard::take_from_bytes::<Entry>(body) {
                Ok((entry, rest)) => {
                    entries.push(entry);
                    body = rest;
                }
                Err(e) => return Err(RestoreError::Malformed(format!("entry {} of {}: {e}", i + 1, header.entries))),
            }
        }
        if !body.is_empty() {
            return Err(RestoreError::Malformed(format!("{} bytes after the last entry", body.len())));
        }
        let state = PersistedState {
            me: header.me,
            peers: header.peers,
            current_term: header.current_term,
            voted_for: header.voted_for,
            snapshot_index: header.snapshot_index,
            snapshot_term: header.snapshot_term,
            snapshot_len: header.snapshot_len,
            snapshot_crc: header.snapshot_crc,
            entries,
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
        // The bounds a message must keep (see `MAX_TERM`): a record past them was not written by this core.
        if state.current_term > MAX_TERM {
            return Err(RestoreError::Inconsistent("current term past the largest a peer may reach"));
        }
        if state.snapshot_index.checked_add(state.entries.len() as u64).is_none_or(|last| last > MAX_INDEX) {
            return Err(RestoreError::Inconsistent("log runs past the largest index"));
        }
        Ok(state)
    }
}

/// The persisted record of a log, kept encoded between persists so that a persist costs the entries that changed,
/// not the whole log.
///
/// It caches the prefix and each entry's bytes in one buffer, with each entry's end offset and the CRC-32 of the
/// buffer up to that end. [`sync`](Self::sync) brings it in line with the log: a compaction drops a prefix
/// of cached entries (and recomputes the checksums, the one step that costs the whole remaining log; it happens
/// once per snapshot), a truncation cuts the buffer, an append encodes only the new entries. [`seal`](Self::seal)
/// then writes the header and trailer after the entries, continuing the checksum from the last entry's.
#[derive(Clone, Debug)]
pub struct PersistImage {
    /// The prefix, the cached entries, and after them the header and trailer of the last seal.
    buf: Vec<u8>,
    /// `ends[i]`: where the encoding of entry `snapshot_index + 1 + i` ends in `buf`.
    ends: Vec<usize>,
    /// `crcs[i]`: CRC-32 of `buf[..ends[i]]`.
    crcs: Vec<u32>,
    /// The snapshot index the cached entries follow.
    snapshot_index: Index,
    /// `buf` holds a whole record: no entry changed since the last seal.
    sealed: bool,
}

impl Default for PersistImage {
    fn default() -> PersistImage {
        PersistImage::new()
    }
}

impl PersistImage {
    /// An image of an empty log.
    pub fn new() -> PersistImage {
        PersistImage { buf: prefix().to_vec(), ends: Vec::new(), crcs: Vec::new(), snapshot_index: 0, sealed: false }
    }

    /// Number of cached entries.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when no entry is cached.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    fn body_len(&self) -> usize {
        self.ends.last().copied().unwrap_or(PREFIX_LEN)
    }

    fn body_crc(&self) -> u32 {
        self.crcs.last().copied().unwrap_or_else(|| crc32fast::hash(&prefix()))
    }

    /// Brings the cached entries in line with `log`: entries before the first index the log changed since the
    /// last sync ([`RaftLog::take_unsaved_from`]) that are still after the snapshot are reused, the rest encoded.
    /// Every sync must see the same log (one image per log).
    pub fn sync(&mut self, log: &mut RaftLog) {
        let changed_from = log.take_unsaved_from();
        let snapshot_index = log.snapshot_index();
        if snapshot_index < self.snapshot_index {
            // The core never moves its snapshot back; start over rather than trust the cache if it did.
            *self = PersistImage::new();
        }
        let dropped = (snapshot_index - self.snapshot_index).min(self.len() as u64) as usize;
        self.drop_front(dropped);
        self.snapshot_index = snapshot_index;
        let unchanged = changed_from.saturating_sub(snapshot_index.saturating_add(1));
        let keep = (unchanged.min(self.len() as u64) as usize).min(log.entries().len());
        self.truncate(keep);
        for entry in &log.entries()[keep..] {
            self.push(entry);
        }
        self.sealed = false;
        debug_assert_eq!(self.len(), log.entries().len());
    }

    /// The complete record for `header`, whose entry count must match the cached entries.
    pub fn seal(&mut self, header: &Header) -> &[u8] {
        debug_assert_eq!(header.entries, self.len() as u64);
        debug_assert_eq!(header.snapshot_index, self.snapshot_index);
        let body_crc = self.body_crc();
        self.buf.truncate(self.body_len());
        seal(&mut self.buf, body_crc, header);
        self.sealed = true;
        &self.buf
    }

    /// The record of the last [`seal`](Self::seal); empty before the first. Valid until the next `sync`.
    pub fn bytes(&self) -> &[u8] {
        if self.sealed {
            &self.buf
        } else {
            &[]
        }
    }

    fn push(&mut self, entry: &Entry) {
        let start = self.body_len();
        let start_crc = self.body_crc();
        self.buf.truncate(start);
        encode_into(entry, &mut self.buf);
        let mut crc = crc32fast::Hasher::new_with_initial_len(start_crc, start as u64);
        crc.update(&self.buf[start..]);
        self.ends.push(self.buf.len());
        self.crcs.push(crc.finalize());
    }

    fn truncate(&mut self, keep: usize) {
        self.ends.truncate(keep);
        self.crcs.truncate(keep);
        self.buf.truncate(self.body_len());
    }

    /// Forgets the first `count` cached entries (now covered by a snapshot).
    fn drop_front(&mut self, count: usize) {
        if count == 0 {
            return;
        }
        let cut = self.ends[count - 1];
        self.buf.truncate(self.body_len());
        self.buf.drain(PREFIX_LEN..cut);
        self.ends.drain(..count);
        let shift = cut - PREFIX_LEN;
        let mut crc = crc32fast::Hasher::new();
        crc.update(&self.buf[..PREFIX_LEN]);
        let mut start = PREFIX_LEN;
        self.crcs.clear();
        for end in &mut self.ends {
            *end -= shift;
            crc.update(&self.buf[start..*end]);
            self.crcs.push(crc.clone().finalize());
            start = *end;
        }
    }
}

#[cfg(test)]
mod tests {
    use rand_core::{RngCore, SeedableRng};
    use rand_pcg::Pcg64Mcg;

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
            entries: vec![Entry { term: 4, command: vec![1, 2].into() }, Entry { term: 5, command: vec![3].into() }],
        }
    }

    /// `bytes` with its checksum recomputed, to reach the checks behind it.
    fn resealed(mut bytes: Vec<u8>) -> Vec<u8> {
        let n = bytes.len() - CHECKSUM_LEN;
        let crc = crc32fast::hash(&bytes[..n]);
        bytes[n..].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    #[test]
    fn round_trips() {
        let s = sample();
        assert_eq!(PersistedState::decode(&s.encode(), b"abc").unwrap(), s);
        let empty = PersistedState { entries: vec![], snapshot_index: 0, snapshot_len: 0, ..sample() };
        let empty = PersistedState { snapshot_crc: snapshot_checksum(b""), ..empty };
        assert_eq!(PersistedState::decode(&empty.encode(), b"").unwrap(), empty);
    }

    #[test]
    fn every_kind_of_damage_is_an_error() {
        let bytes = sample().encode();
        assert_eq!(PersistedState::decode(&bytes[..3], b"abc"), Err(RestoreError::Truncated(3)));
        for cut in 0..bytes.len() {
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
        for other in [1, 3] {
            let mut version = bytes.clone();
            version[4] = other;
            assert_eq!(
                PersistedState::decode(&version, b"abc"),
                Err(RestoreError::UnsupportedVersion { found: other })
            );
        }
        assert!(matches!(PersistedState::decode(&bytes, b"abd"), Err(RestoreError::SnapshotMismatch { .. })));
        assert!(matches!(PersistedState::decode(&bytes, b""), Err(RestoreError::SnapshotMismatch { .. })));
    }

    #[test]
    fn bad_framing_behind_a_valid_checksum_is_malformed() {
        let bytes = sample().encode();
        let len_at = bytes.len() - TRAILER_LEN;
        let malformed = |bytes: Vec<u8>| {
            matches!(PersistedState::decode(&resealed(bytes), b"abc"), Err(RestoreError::Malformed(_)))
        };
        // A header length running past the record, and one that cuts the header short.
        let mut long = bytes.clone();
        long[len_at..len_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(malformed(long));
        let mut short = bytes.clone();
        short[len_at] -= 1;
        assert!(malformed(short));
        // An entry count that claims more entries, or fewer, than the bytes hold.
        for count in [0, 1, 3, u64::MAX] {
            let mut s = sample();
            let mut header = s.header();
            header.entries = count;
            let mut out = prefix().to_vec();
            for entry in &std::mem::take(&mut s.entries) {
                encode_into(entry, &mut out);
            }
            let crc = crc32fast::hash(&out);
            seal(&mut out, crc, &header);
            assert!(malformed(out), "count {count}");
        }
    }

    #[test]
    fn inconsistent_values_are_refused() {
        let mut s = sample();
        s.entries[0].term = 9;
        assert!(matches!(PersistedState::decode(&s.encode(), b"abc"), Err(RestoreError::Inconsistent(_))));
    }

    #[test]
    fn terms_and_indices_past_the_message_bounds_are_refused() {
        let at_bound = PersistedState { current_term: MAX_TERM, snapshot_index: MAX_INDEX - 2, ..sample() };
        assert_eq!(PersistedState::decode(&at_bound.encode(), b"abc"), Ok(at_bound.clone()));
        let inconsistent = |s: PersistedState| {
            matches!(PersistedState::decode(&s.encode(), b"abc"), Err(RestoreError::Inconsistent(_)))
        };
        assert!(inconsistent(PersistedState { current_term: MAX_TERM + 1, ..at_bound.clone() }));
        assert!(inconsistent(PersistedState { snapshot_index: MAX_INDEX - 1, ..at_bound.clone() }));
        assert!(inconsistent(PersistedState { current_term: u64::MAX, snapshot_index: u64::MAX, ..sample() }));
    }

    /// The state a log and the other fields stand for, encoded from scratch.
    fn state_of(log: &RaftLog, term: Term, vote: Option<PeerId>) -> PersistedState {
        PersistedState {
            me: 0,
            peers: 5,
            current_term: term,
            voted_for: vote,
            snapshot_index: log.snapshot_index(),
            snapshot_term: log.snapshot_term(),
            snapshot_len: 0,
            snapshot_crc: snapshot_checksum(&[]),
            entries: log.entries().to_vec(),
        }
    }

    #[test]
    fn the_incremental_image_equals_a_from_scratch_encoding_after_any_sequence_of_changes() {
        for seed in 0..200 {
            let mut rng = Pcg64Mcg::seed_from_u64(seed);
            let mut roll = |n: u64| rng.next_u64() % n;
            let mut log = RaftLog::default();
            let mut image = PersistImage::new();
            let (mut term, mut vote) = (1, None);
            for step in 0..300 {
                match roll(10) {
                    0..=3 => {
                        for _ in 0..=roll(4) {
                            let len = [0, 1, 7, 200][roll(4) as usize];
                            log.append(Entry { term, command: (0..len).map(|_| roll(256) as u8).collect() });
                        }
                    }
                    4 if log.last_index() > log.snapshot_index() => {
                        let span = log.last_index() - log.snapshot_index();
                        log.truncate_from(log.snapshot_index() + 1 + roll(span));
                    }
                    5 if log.last_index() > log.snapshot_index() => {
                        // Compaction keeping the suffix (a service snapshot) or dropping it (a leader's snapshot
                        // that conflicts, or reaches past the log).
                        let index = log.snapshot_index() + 1 + roll(log.last_index() - log.snapshot_index() + 3);
                        let keeps = roll(2) == 0 && index <= log.last_index();
                        let at = if keeps { log.term_at(index).expect("in the log") } else { term };
                        log.compact_to(index, at);
                    }
                    6 => {
                        term += 1;
                        vote = None;
                    }
                    7 => vote = Some(roll(5) as PeerId),
                    _ => {}
                }
                // Several changes may come between two persists, as between two `take_ready` calls.
                if roll(3) == 0 || step == 299 {
                    image.sync(&mut log);
                    let state = state_of(&log, term, vote);
                    let sealed = image.seal(&state.header()).to_vec();
                    assert_eq!(sealed, state.encode(), "seed {seed} step {step}");
                    assert_eq!(PersistedState::decode(&sealed, &[]).as_ref(), Ok(&state), "seed {seed} step {step}");
                }
            }
        }
    }

    #[test]
    fn a_new_image_catches_up_with_any_log() {
        let mut log = RaftLog::new(
            4,
            2,
            vec![Entry { term: 2, command: vec![9].into() }, Entry { term: 3, command: vec![].into() }],
        );
        let mut image = PersistImage::new();
        image.sync(&mut log);
        let state = state_of(&log, 3, None);
        assert_eq!(image.seal(&state.header()), &state.encode()[..]);
        // Nothing changed: the sync keeps every cached entry.
        image.sync(&mut log);
        assert_eq!(image.seal(&state.header()), &state.encode()[..]);
    }
}

//! The log: entries after the last snapshot, plus the snapshot's index and term (§7).
//!
//! Indices are global and 1-based. `entries[i]` sits at index `snapshot_index + 1 + i`; the snapshot stands in for
//! every index up to and including `snapshot_index`, whose term is `snapshot_term`.
//!
//! The log also remembers the first index it changed since the persisted image last caught up with it
//! ([`RaftLog::take_unsaved_from`]), so a persist re-encodes only what changed (see `persist::PersistImage`).

use super::message::{Entry, Index, Term};

/// Log entries that follow a snapshot.
#[derive(Clone, Debug, Default)]
pub struct RaftLog {
    snapshot_index: Index,
    snapshot_term: Term,
    entries: Vec<Entry>,
    /// The lowest index appended or truncated since the last `take_unsaved_from` (`Index::MAX`: none). Not part
    /// of the log's value.
    unsaved_from: Index,
}

impl PartialEq for RaftLog {
    fn eq(&self, other: &RaftLog) -> bool {
        (self.snapshot_index, self.snapshot_term, &self.entries)
            == (other.snapshot_index, other.snapshot_term, &other.entries)
    }
}

impl Eq for RaftLog {}

impl RaftLog {
    /// A log holding `entries` after a snapshot at (`snapshot_index`, `snapshot_term`).
    pub fn new(snapshot_index: Index, snapshot_term: Term, entries: Vec<Entry>) -> RaftLog {
        // Every entry is new to a persisted image.
        RaftLog { snapshot_index, snapshot_term, entries, unsaved_from: snapshot_index.saturating_add(1) }
    }

    /// Index covered by the snapshot (0 when there is none).
    pub fn snapshot_index(&self) -> Index {
        self.snapshot_index
    }

    /// Term of the entry at `snapshot_index`.
    pub fn snapshot_term(&self) -> Term {
        self.snapshot_term
    }

    /// Index of the last entry, or the snapshot index when no entries follow it.
    pub fn last_index(&self) -> Index {
        self.snapshot_index + self.entries.len() as Index
    }

    /// Term of the last entry (§5.4.1's "up-to-date" compares it).
    pub fn last_term(&self) -> Term {
        self.entries.last().map_or(self.snapshot_term, |e| e.term)
    }

    /// The term at `index`, if the log still knows it (the snapshot index counts; earlier ones do not).
    pub fn term_at(&self, index: Index) -> Option<Term> {
        if index == self.snapshot_index {
            return Some(self.snapshot_term);
        }
        self.offset(index).map(|i| self.entries[i].term)
    }

    /// The entry at `index`, if it follows the snapshot and exists.
    pub fn entry(&self, index: Index) -> Option<&Entry> {
        self.offset(index).map(|i| &self.entries[i])
    }

    /// Entries from `from` to the end; empty when `from` is past the end. `from` must follow the snapshot.
    pub fn entries_from(&self, from: Index) -> &[Entry] {
        debug_assert!(from > self.snapshot_index);
        let start = (from.saturating_sub(self.snapshot_index + 1) as usize).min(self.entries.len());
        &self.entries[start..]
    }

    /// Every entry after the snapshot.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Appends one entry at `last_index() + 1`.
    pub fn append(&mut self, entry: Entry) {
        self.entries.push(entry);
        self.unsaved_from = self.unsaved_from.min(self.last_index());
    }

    /// Drops every entry at `index` and after (Figure 2, AppendEntries receiver step 3). `index` must follow the
    /// snapshot: committed state is never truncated.
    pub fn truncate_from(&mut self, index: Index) {
        debug_assert!(index > self.snapshot_index);
        if let Some(i) = self.offset(index) {
            self.entries.truncate(i);
            self.unsaved_from = self.unsaved_from.min(index);
        }
    }

    /// The first index holding `term` at or before `index`, scanning back no further than the snapshot.
    pub fn first_index_of_term(&self, term: Term, index: Index) -> Index {
        let mut first = index;
        while first > self.snapshot_index + 1 && self.term_at(first - 1) == Some(term) {
            first -= 1;
        }
        first
    }

    /// The last index whose entry has `term`, if any entry after the snapshot has it.
    pub fn last_index_of_term(&self, term: Term) -> Option<Index> {
        self.entries.iter().rposition(|e| e.term == term).map(|i| self.snapshot_index + 1 + i as Index)
    }

    /// Moves the snapshot to `index` with `term`, keeping the entries after it when the log holds `index` with
    /// that term, and dropping them all otherwise (Figure 13, receiver steps 6–7; §7 for local compaction).
    pub fn compact_to(&mut self, index: Index, term: Term) {
        if self.term_at(index) == Some(term) && index >= self.snapshot_index {
            let keep_from = (index - self.snapshot_index) as usize;
            self.entries.drain(..keep_from);
        } else {
            self.entries.clear();
            self.unsaved_from = self.unsaved_from.min(index.saturating_add(1));
        }
        self.snapshot_index = index;
        self.snapshot_term = term;
    }

    /// The lowest index that may differ from the last persisted image (`Index::MAX`: none), and starts afresh.
    /// Entries below it and after the current snapshot are exactly as they were at the previous call; a moved
    /// snapshot is seen by comparing snapshot indices.
    pub fn take_unsaved_from(&mut self) -> Index {
        std::mem::replace(&mut self.unsaved_from, Index::MAX)
    }

    fn offset(&self, index: Index) -> Option<usize> {
        if index <= self.snapshot_index {
            return None;
        }
        let i = (index - self.snapshot_index - 1) as usize;
        (i < self.entries.len()).then_some(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_of(snapshot_index: Index, snapshot_term: Term, terms: &[Term]) -> RaftLog {
        RaftLog::new(
            snapshot_index,
            snapshot_term,
            terms.iter().map(|&t| Entry { term: t, command: vec![].into() }).collect(),
        )
    }

    #[test]
    fn indices_are_offset_by_the_snapshot() {
        let log = log_of(10, 2, &[3, 3, 4]);
        assert_eq!(log.last_index(), 13);
        assert_eq!(log.last_term(), 4);
        assert_eq!(log.term_at(10), Some(2));
        assert_eq!(log.term_at(9), None);
        assert_eq!(log.term_at(11), Some(3));
        assert_eq!(log.term_at(14), None);
        assert_eq!(log.entries_from(12).len(), 2);
        assert_eq!(log.entries_from(20).len(), 0);
    }

    #[test]
    fn truncation_and_term_search() {
        let mut log = log_of(0, 0, &[1, 1, 2, 2, 2, 3]);
        assert_eq!(log.first_index_of_term(2, 5), 3);
        assert_eq!(log.first_index_of_term(1, 2), 1);
        assert_eq!(log.last_index_of_term(2), Some(5));
        assert_eq!(log.last_index_of_term(9), None);
        log.truncate_from(4);
        assert_eq!(log.last_index(), 3);
    }

    #[test]
    fn compaction_keeps_a_matching_suffix_and_drops_a_conflicting_one() {
        let mut log = log_of(0, 0, &[1, 1, 2, 2]);
        log.compact_to(2, 1);
        assert_eq!((log.snapshot_index(), log.last_index(), log.term_at(3)), (2, 4, Some(2)));
        log.compact_to(3, 9);
        assert_eq!((log.snapshot_index(), log.last_index(), log.last_term()), (3, 3, 9));
        let mut empty = log_of(0, 0, &[]);
        empty.compact_to(7, 4);
        assert_eq!((empty.last_index(), empty.last_term()), (7, 4));
    }
}

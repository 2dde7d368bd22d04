//! The invariant checker: Raft's safety properties (§5.4.3, Figure 3) plus what the lab's tester demands of the
//! apply stream, checked against observations the simulator reports after every step.
//!
//! It keeps only what it has been shown, so tests can also feed it hand-made histories and expect each broken
//! property to be reported.

use std::collections::{BTreeMap, HashMap};

use raftcore::core::{Index, RaftLog, Term};

/// What the checker remembers of one committed (applied somewhere) index.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Committed {
    term: Term,
    command: Vec<u8>,
    /// The service digest after applying this index, so installed snapshots can be compared.
    digest: u64,
}

/// The apply stream of one node incarnation.
#[derive(Clone, Debug, Default)]
struct ApplyCursor {
    last_applied: Index,
    snapshot_index: Index,
}

/// Accumulates observations and the violations found in them.
#[derive(Debug, Default)]
pub struct Checker {
    leaders: HashMap<Term, usize>,
    committed: BTreeMap<Index, Committed>,
    entries: HashMap<(Index, Term), (u64, Term)>,
    cursors: HashMap<usize, ApplyCursor>,
    violations: Vec<String>,
}

/// A 64-bit FNV-1a digest, enough to tell commands apart in the checker's maps.
pub fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

/// The service's running digest after applying `command` at `index` on top of `previous`.
pub fn next_digest(previous: u64, index: Index, command: &[u8]) -> u64 {
    let mut bytes = previous.to_le_bytes().to_vec();
    bytes.extend_from_slice(&index.to_le_bytes());
    bytes.extend_from_slice(command);
    fingerprint(&bytes)
}

impl Checker {
    /// Every violation seen so far, oldest first.
    pub fn violations(&self) -> &[String] {
        &self.violations
    }

    fn violate(&mut self, message: String) {
        if self.violations.len() < 100 {
            self.violations.push(message);
        }
    }

    /// The command committed at `index`, if any node applied it.
    pub fn committed_command(&self, index: Index) -> Option<&[u8]> {
        self.committed.get(&index).map(|c| c.command.as_slice())
    }

    /// Highest index any node applied.
    pub fn highest_committed(&self) -> Index {
        self.committed.keys().next_back().copied().unwrap_or(0)
    }

    /// Election safety: at most one leader per term, over the whole history. Leader completeness: a new leader's
    /// log holds every entry committed so far (entries its snapshot covers count as held).
    pub fn observe_leader(&mut self, node: usize, term: Term, log: &RaftLog) {
        match self.leaders.get(&term) {
            Some(&other) if other != node => {
                self.violate(format!("election safety: nodes {other} and {node} both lead term {term}"));
            }
            Some(_) => {}
            None => {
                self.leaders.insert(term, node);
                let missing: Vec<Index> = self
                    .committed
                    .range(log.snapshot_index() + 1..)
                    .filter(|(&index, c)| log.term_at(index) != Some(c.term))
                    .map(|(&index, _)| index)
                    .take(3)
                    .collect();
                if !missing.is_empty() {
                    self.violate(format!(
                        "leader completeness: node {node}, leader of term {term}, lacks committed indices {missing:?}"
                    ));
                }
            }
        }
    }

    /// Log matching: two entries with the same index and term hold the same command and follow the same term,
    /// which by induction makes the logs identical up to there.
    pub fn observe_log(&mut self, node: usize, log: &RaftLog) {
        let mut previous_term = log.snapshot_term();
        let mut index = log.snapshot_index();
        for entry in log.entries() {
            index += 1;
            let seen = (fingerprint(&entry.command), previous_term);
            match self.entries.get(&(index, entry.term)) {
                Some(&known) if known != seen => {
                    self.violate(format!(
                        "log matching: node {node} holds a different entry at index {index} term {}",
                        entry.term
                    ));
                    return;
                }
                Some(_) => {}
                None => {
                    self.entries.insert((index, entry.term), seen);
                }
            }
            previous_term = entry.term;
        }
    }

    /// A node (re)started with its service restored from a snapshot through `snapshot_index`.
    pub fn observe_start(&mut self, node: usize, snapshot_index: Index) {
        self.cursors.insert(node, ApplyCursor { last_applied: snapshot_index, snapshot_index });
    }

    /// Apply order and state machine safety for a command: each index once, in order, never behind a snapshot;
    /// no two nodes apply different commands (or digests) at one index.
    pub fn observe_command(&mut self, node: usize, index: Index, term: Term, command: &[u8], digest: u64) {
        let cursor = self.cursors.entry(node).or_default().clone();
        if index <= cursor.snapshot_index {
            self.violate(format!(
                "apply order: node {node} applied {index} behind its snapshot {}",
                cursor.snapshot_index
            ));
        } else if index != cursor.last_applied + 1 {
            self.violate(format!("apply order: node {node} applied {index} after {}", cursor.last_applied));
        }
        self.cursors.entry(node).or_default().last_applied = index;
        let this = Committed { term, command: command.to_vec(), digest };
        match self.committed.get(&index) {
            Some(known) if *known != this => {
                self.violate(format!("state machine safety: node {node} applied a different command at {index}"));
            }
            Some(_) => {}
            None => {
                self.committed.insert(index, this);
            }
        }
    }

    /// Snapshot monotonicity and safety for a snapshot handed to a service: it moves the stream forward and
    /// matches what others applied up to its index.
    pub fn observe_snapshot_apply(&mut self, node: usize, index: Index, digest: u64) {
        let cursor = self.cursors.entry(node).or_default();
        let last = cursor.last_applied;
        cursor.last_applied = index;
        cursor.snapshot_index = index;
        if index <= last {
            self.violate(format!("snapshot monotonicity: node {node} installed snapshot {index} at applied {last}"));
        }
        if let Some(known) = self.committed.get(&index) {
            if known.digest != digest {
                self.violate(format!("state machine safety: node {node} installed a snapshot at {index} that differs"));
            }
        }
    }

    /// A node's own snapshot index must never move backwards, across restarts included.
    pub fn observe_snapshot_index(&mut self, node: usize, previous: Index, now: Index) {
        if now < previous {
            self.violate(format!("snapshot monotonicity: node {node}'s snapshot went from {previous} back to {now}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use raftcore::core::Entry;

    fn log(snapshot: (Index, Term), entries: &[(Term, &[u8])]) -> RaftLog {
        RaftLog::new(
            snapshot.0,
            snapshot.1,
            entries.iter().map(|&(term, command)| Entry { term, command: command.to_vec().into() }).collect(),
        )
    }

    fn only_violation(checker: &Checker, needle: &str) {
        assert_eq!(checker.violations().len(), 1, "{:?}", checker.violations());
        assert!(checker.violations()[0].contains(needle), "{:?}", checker.violations());
    }

    #[test]
    fn two_leaders_in_one_term_are_reported() {
        let mut c = Checker::default();
        c.observe_leader(0, 3, &log((0, 0), &[]));
        c.observe_leader(0, 3, &log((0, 0), &[]));
        assert!(c.violations().is_empty());
        c.observe_leader(1, 3, &log((0, 0), &[]));
        only_violation(&c, "election safety");
    }

    #[test]
    fn diverging_logs_are_reported() {
        let mut c = Checker::default();
        c.observe_log(0, &log((0, 0), &[(1, b"a"), (1, b"b")]));
        c.observe_log(1, &log((0, 0), &[(1, b"a")]));
        assert!(c.violations().is_empty());
        c.observe_log(2, &log((0, 0), &[(1, b"a"), (1, b"x")]));
        only_violation(&c, "log matching");
    }

    #[test]
    fn diverging_applies_are_reported() {
        let mut c = Checker::default();
        c.observe_start(0, 0);
        c.observe_start(1, 0);
        c.observe_command(0, 1, 1, b"a", 10);
        c.observe_command(1, 1, 1, b"b", 11);
        only_violation(&c, "state machine safety");
    }

    #[test]
    fn a_gap_in_apply_order_is_reported() {
        let mut c = Checker::default();
        c.observe_start(0, 0);
        c.observe_command(0, 1, 1, b"a", 1);
        c.observe_command(0, 3, 1, b"c", 3);
        only_violation(&c, "apply order");
    }

    #[test]
    fn an_apply_behind_a_snapshot_is_reported() {
        let mut c = Checker::default();
        c.observe_start(0, 10);
        c.observe_command(0, 5, 1, b"a", 1);
        only_violation(&c, "behind its snapshot");
    }

    #[test]
    fn a_repeated_apply_is_reported() {
        let mut c = Checker::default();
        c.observe_start(0, 0);
        c.observe_command(0, 1, 1, b"a", 1);
        c.observe_command(0, 1, 1, b"a", 1);
        only_violation(&c, "apply order");
    }

    #[test]
    fn a_snapshot_that_moves_backwards_is_reported() {
        let mut c = Checker::default();
        c.observe_start(0, 0);
        c.observe_command(0, 1, 1, b"a", 1);
        c.observe_command(0, 2, 1, b"b", 2);
        c.observe_snapshot_apply(0, 1, 1);
        only_violation(&c, "snapshot monotonicity");
        let mut c = Checker::default();
        c.observe_snapshot_index(0, 20, 10);
        only_violation(&c, "snapshot monotonicity");
    }

    #[test]
    fn a_snapshot_with_other_contents_is_reported() {
        let mut c = Checker::default();
        c.observe_start(0, 0);
        c.observe_start(1, 0);
        c.observe_command(0, 1, 1, b"a", 77);
        c.observe_snapshot_apply(1, 1, 78);
        only_violation(&c, "differs");
    }

    #[test]
    fn a_leader_missing_a_committed_entry_is_reported() {
        let mut c = Checker::default();
        c.observe_start(0, 0);
        c.observe_command(0, 1, 1, b"a", 1);
        c.observe_command(0, 2, 2, b"b", 2);
        c.observe_leader(1, 3, &log((0, 0), &[(1, b"a")]));
        only_violation(&c, "leader completeness");
        // A snapshot covering the entry counts as holding it.
        let mut c = Checker::default();
        c.observe_start(0, 0);
        c.observe_command(0, 1, 1, b"a", 1);
        c.observe_leader(1, 3, &log((1, 1), &[]));
        assert!(c.violations().is_empty());
    }
}

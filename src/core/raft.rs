//! The Raft state machine: Figure 2's rules for all servers, followers, candidates and leaders, plus
//! InstallSnapshot and log compaction from §7 (Figure 13).
//!
//! Inputs are method calls (`tick`, `handle_request`, `handle_reply`, `propose`, `snapshot`); outputs collect in
//! a [`Ready`] that the host drains with [`Raft::take_ready`] after each input and must carry out in order:
//! 1. persist `Ready::persist` (with the current snapshot, [`Raft::snapshot_data`]) — before anything else
//!    leaves, including the reply that `handle_request` returned;
//! 2. send `Ready::messages`;
//! 3. hand `Ready::apply` to the service, in order.

use bytes::Bytes;
use rand_core::{RngCore, SeedableRng};
use rand_pcg::Pcg64Mcg;

use super::config::{Config, ConfigError, Pacing};
use super::log::RaftLog;
use super::message::{
    AppendEntries, AppendEntriesReply, Entry, Index, InstallSnapshot, InstallSnapshotReply, PeerId, Reply, Request,
    RequestVote, RequestVoteReply, Term, MAX_INDEX, MAX_TERM,
};
use super::persist::{snapshot_checksum, Header, PersistImage, PersistedState, RestoreError};

/// The three roles of §5.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Passive: answers requests, starts an election when the leader falls silent.
    Follower,
    /// Collecting votes for itself.
    Candidate,
    /// Accepts commands and replicates them.
    Leader,
}

/// Something for the service to apply, in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Apply {
    /// A committed command.
    Command {
        /// Its log index.
        index: Index,
        /// The term of its entry.
        term: Term,
        /// The command bytes given to `propose`.
        command: Bytes,
    },
    /// A snapshot from the leader that replaces the service's state up to `index`.
    Snapshot {
        /// Last index the snapshot covers.
        index: Index,
        /// Term of that index.
        term: Term,
        /// The service's snapshot bytes.
        data: Vec<u8>,
    },
}

impl Apply {
    /// The log index it brings the service to.
    pub fn index(&self) -> Index {
        match self {
            Apply::Command { index, .. } | Apply::Snapshot { index, .. } => *index,
        }
    }
}

/// The outputs of the inputs since the last [`Raft::take_ready`]; see the module doc for the order of duties.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ready {
    /// New persisted-state bytes, to save together with [`Raft::snapshot_data`].
    pub persist: Option<Vec<u8>>,
    /// Requests to send, each to its peer.
    pub messages: Vec<(PeerId, Request)>,
    /// Committed commands and installed snapshots for the service.
    pub apply: Vec<Apply>,
}

impl Ready {
    /// True when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.persist.is_none() && self.messages.is_empty() && self.apply.is_empty()
    }
}

/// A peer's view of its own state, for hosts and checkers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// Current role.
    pub role: Role,
    /// Current term.
    pub term: Term,
    /// The vote cast in `term`.
    pub voted_for: Option<PeerId>,
    /// The leader this peer last heard from in `term`.
    pub leader: Option<PeerId>,
    /// Highest index known committed.
    pub commit_index: Index,
    /// Highest index handed to the apply stream.
    pub last_applied: Index,
    /// Last index covered by the snapshot.
    pub snapshot_index: Index,
    /// Last index in the log.
    pub last_index: Index,
}

/// Why a core could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The persisted bytes are unusable.
    #[error(transparent)]
    Restore(#[from] RestoreError),
}

/// A proposal made to a peer that is not the leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not the leader (term {term})")]
pub struct NotLeader {
    /// The peer's current term.
    pub term: Term,
}

/// A snapshot request the core cannot honour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// The service asked to snapshot past what it has been given to apply.
    #[error("snapshot index {index} is past the last applied index {last_applied}")]
    NotApplied {
        /// The requested index.
        index: Index,
        /// The last index handed to the service.
        last_applied: Index,
    },
}

/// A message that no correct peer could have sent: from outside the cluster, with a term or index past
/// [`MAX_TERM`] or [`MAX_INDEX`], inconsistent with itself, or contradicting an entry this peer knows committed.
/// It proves the sender broken or hostile; the core refuses it whole and stays as it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid message: {0}")]
pub struct InvalidMessage(pub &'static str);

/// What a leader knows of one follower (Figure 2, "volatile state on leaders").
#[derive(Clone, Debug, Default)]
struct Progress {
    next_index: Index,
    match_index: Index,
    /// Requests sent since the last heartbeat and not yet answered. New proposals wait while any is out (their
    /// entries ride on the next request), and only the reply that leaves none out may send a follow-up: otherwise
    /// every heartbeat would start another request chain that lives as long as proposals keep coming.
    outstanding: u32,
    /// The last heartbeat found a request unanswered: the follower may be cut off, so send it empty probes
    /// until it answers rather than the whole missing suffix every heartbeat.
    probing: bool,
    /// The commit index the follower was last told, so a commit advance is announced at once.
    commit_sent: Index,
    /// AppendEntries carrying new proposals this follower may still be sent at once; see `APPEND_BURST`.
    append_tokens: u32,
    /// The tick (`Raft::now`) of the last request sent to this follower.
    last_sent: u64,
    /// The tick of the last reply from this follower in this term, its vote included; `None` if it has not
    /// answered since this peer's election began.
    last_heard: Option<u64>,
    /// A request was sent again (`retransmit`) and not answered since: the follower may be cut off, so nothing is
    /// sent again until it answers; heartbeats still probe it.
    resent: bool,
    /// Heartbeats in a row that found a request unanswered.
    silent_heartbeats: u32,
}

/// Heartbeats in a row that probe a follower which stopped answering; after them it is probed every other
/// heartbeat. A follower cut off for a moment (a lost message, a short partition) is found again as soon as
/// before; one cut off for longer (the lab parts its peers for seconds) costs half the probes, and still hears
/// from the leader within two heartbeats once it is back, less than the shortest election timeout. Two: by the
/// third silent heartbeat a follower that is merely cut off has timed out and will announce itself.
const SILENT_HEARTBEATS_PROBED: u32 = 2;

/// Ticks after which an unanswered request to a follower that has been answering is sent again: past the lab's
/// longest round trip on its unreliable network (up to 27 ms each way, plus the handler), and well before the
/// next heartbeat, which would otherwise be the only retransmission and so set the latency of every lost request.
const RETRANSMIT_TICKS: u64 = 6;

/// Requests carrying new proposals that a follower may be sent back to back; after that, one per
/// `Config::append_refill_ticks`. Two let a burst of `Start`s go out as a request and its follow-up, as before;
/// a steady stream of proposals from many clients (the lab's churn: each client proposes again as soon as it sees
/// its last command committed) then costs one request per refill instead of one per proposal, the ones between
/// riding together. Heartbeats, snapshots, commit announcements, the retries of a follower's rejection and the
/// proposals of a client alone (`Raft::send_new_proposals`) do not wait for a token.
const APPEND_BURST: u32 = 2;

/// Ticks a proposal made while an earlier one was uncommitted marks proposals as concurrent (see
/// `Raft::send_new_proposals`): half an election timeout, so that clients which overlap now and then stay on
/// tokens. The lab's three churn clients do on its tester (their RPCs stay at the tokens' level); a client that
/// waits for each commit never overlaps itself.
const CONCURRENCY_MEMORY_TICKS: u64 = 50;

/// Whether a proposal followed the last commit closely enough to carry its announcement (see
/// `Raft::commit_announce_ticks`): a commit opens a window that lasts until the leader would announce it; a
/// proposal inside it (whose AppendEntries carries the commit index) is a hit, the announcement falling due first
/// a miss. The leader waits for the next commit's announcement only after a hit.
#[derive(Clone, Copy, Debug, Default)]
struct AnnounceWait {
    /// A commit happened and neither a proposal nor its announcement has come since.
    open: bool,
    /// The last window was a hit.
    paid: bool,
}

impl AnnounceWait {
    /// Closes the window, if one is open, as a hit or a miss.
    fn close(&mut self, hit: bool) {
        if self.open {
            self.open = false;
            self.paid = hit;
        }
    }
}

/// Ticks a new leader waits before its first heartbeat. Clients call `Start` again as soon as a leader exists
/// (the lab's testers poll every few milliseconds), so the first proposal usually comes within this wait: its
/// AppendEntries then announces the leader and carries the entry, one request per follower instead of two. The
/// peers that voted for the leader reset their election timers when they voted, so the wait costs no election.
const NEW_LEADER_QUIET_TICKS: u32 = 5;

/// One Raft peer as a deterministic state machine.
#[derive(Debug)]
pub struct Raft {
    cfg: Config,
    rng: Pcg64Mcg,

    // Figure 2, persistent state on all servers (the log's snapshot is §7's).
    current_term: Term,
    voted_for: Option<PeerId>,
    log: RaftLog,
    snapshot: Vec<u8>,
    /// CRC-32 of `snapshot`, computed once per snapshot rather than once per persist.
    snapshot_crc: u32,
    /// The persisted record, kept encoded so a persist costs what changed (see `persist::PersistImage`).
    image: PersistImage,

    // Figure 2, volatile state on all servers.
    commit_index: Index,
    last_applied: Index,

    role: Role,
    leader: Option<PeerId>,
    votes: Vec<bool>,
    progress: Vec<Progress>,

    election_elapsed: u32,
    election_timeout: u32,
    heartbeat_elapsed: u32,
    /// Leader ticks since the commit index last advanced; see `announce_commit`.
    ticks_since_commit: u32,
    /// Whether waiting to announce a commit has been paying off; see `commit_announce_ticks`.
    announce_wait: AnnounceWait,
    /// Ticks since this peer started: the clock of the per-follower state.
    now: u64,

    dirty: bool,
    /// Proposals appended since the last Ready that idle followers have not been sent yet.
    proposals_unsent: bool,
    /// The first of those came from a client alone: see `send_new_proposals`.
    proposal_alone: bool,
    /// The tick (`now`) until which proposals count as concurrent: one came while an earlier one was uncommitted.
    concurrent_until: u64,
    out: Ready,
}

impl Raft {
    /// Starts a peer from its persisted state and snapshot; both empty means a fresh peer.
    pub fn new(cfg: Config, state: &[u8], snapshot: &[u8]) -> Result<Raft, StartError> {
        cfg.validate()?;
        let mut raft = Raft {
            rng: Pcg64Mcg::seed_from_u64(cfg.seed),
            current_term: 0,
            voted_for: None,
            log: RaftLog::default(),
            snapshot: Vec::new(),
            snapshot_crc: snapshot_checksum(&[]),
            image: PersistImage::new(),
            commit_index: 0,
            last_applied: 0,
            role: Role::Follower,
            leader: None,
            votes: vec![false; cfg.peers as usize],
            progress: vec![Progress::default(); cfg.peers as usize],
            election_elapsed: 0,
            election_timeout: 0,
            heartbeat_elapsed: 0,
            ticks_since_commit: 0,
            announce_wait: AnnounceWait::default(),
            now: 0,
            dirty: false,
            proposals_unsent: false,
            proposal_alone: false,
            concurrent_until: 0,
            out: Ready::default(),
            cfg,
        };
        if state.is_empty() {
            if !snapshot.is_empty() {
                return Err(RestoreError::SnapshotWithoutState.into());
            }
        } else {
            raft.restore(PersistedState::decode(state, snapshot)?, snapshot)?;
        }
        // The image starts as the state just restored (or the empty one), so the first persist after a restart
        // encodes only what changed, and `persisted_state` always has a record to show.
        raft.seal_image();
        raft.reset_election_timer();
        Ok(raft)
    }

    fn restore(&mut self, state: PersistedState, snapshot: &[u8]) -> Result<(), RestoreError> {
        if state.me != self.cfg.me || state.peers != self.cfg.peers {
            return Err(RestoreError::ForeignState {
                found_me: state.me,
                found_peers: state.peers,
                me: self.cfg.me,
                peers: self.cfg.peers,
            });
        }
        if state.voted_for.is_some_and(|v| v >= self.cfg.peers) {
            return Err(RestoreError::Inconsistent("vote for a peer outside the cluster"));
        }
        self.current_term = state.current_term;
        self.voted_for = state.voted_for;
        self.log = RaftLog::new(state.snapshot_index, state.snapshot_term, state.entries);
        self.snapshot = snapshot.to_vec();
        self.snapshot_crc = state.snapshot_crc;
        // §7: the service restores the snapshot itself, so applying resumes right after it.
        self.commit_index = state.snapshot_index;
        self.last_applied = state.snapshot_index;
        Ok(())
    }

    // ----- inputs -------------------------------------------------------------------------------------------

    /// Advances logical time by one tick: heartbeats on a leader, the election timeout elsewhere.
    pub fn tick(&mut self) {
        self.now += 1;
        if self.role == Role::Leader {
            if self.now % u64::from(self.cfg.append_refill_ticks) == 0 {
                for p in &mut self.progress {
                    p.append_tokens = (p.append_tokens + 1).min(APPEND_BURST);
                }
            }
            self.heartbeat_elapsed += 1;
            if self.heartbeat_elapsed >= self.cfg.heartbeat_ticks {
                self.heartbeat_elapsed = 0;
                self.heartbeat();
            } else if self.cfg.pacing == Pacing::Prompt {
                self.retransmit();
                self.send_held_proposals();
                self.ticks_since_commit = self.ticks_since_commit.saturating_add(1);
                if self.ticks_since_commit >= self.commit_announce_ticks() {
                    self.announce_wait.close(false);
                    self.announce_commit();
                }
            }
        } else {
            self.election_elapsed += 1;
            // Figure 2, Followers and Candidates: on election timeout, start a new election.
            if self.election_elapsed >= self.election_timeout {
                self.start_election();
            }
        }
    }

    /// Handles a request from a peer and returns the reply to send back once `take_ready`'s persist is done. A
    /// request no correct peer sends is refused with [`InvalidMessage`] before it changes anything.
    pub fn handle_request(&mut self, request: Request) -> Result<Reply, InvalidMessage> {
        self.validate_request(&request)?;
        Ok(match request {
            Request::Vote(m) => Reply::Vote(self.handle_request_vote(m)),
            Request::Append(m) => Reply::Append(self.handle_append_entries(m)),
            Request::Snapshot(m) => Reply::Snapshot(self.handle_install_snapshot(m)),
        })
    }

    /// Handles a peer's reply to a request this peer sent earlier (maybe in an older term, maybe twice). A reply
    /// no correct peer sends is refused with [`InvalidMessage`] before it changes anything.
    pub fn handle_reply(&mut self, from: PeerId, reply: Reply) -> Result<(), InvalidMessage> {
        if from >= self.cfg.peers || from == self.cfg.me {
            return Err(InvalidMessage("reply from a peer outside the cluster"));
        }
        Self::validate_reply(&reply)?;
        // Figure 2, all servers: a newer term turns this peer into a follower.
        if reply.term() > self.current_term {
            self.become_follower(reply.term(), None);
            return Ok(());
        }
        if reply.term() < self.current_term {
            return Ok(());
        }
        match reply {
            Reply::Vote(r) => self.handle_request_vote_reply(from, r),
            Reply::Append(r) => self.handle_append_entries_reply(from, r),
            Reply::Snapshot(r) => self.handle_install_snapshot_reply(from, r),
        }
        Ok(())
    }

    /// Appends a command if this peer leads (Figure 2, Leaders: "if command received from client: append entry
    /// to local log"), returning its index and term.
    pub fn propose(&mut self, command: impl Into<Bytes>) -> Result<(Index, Term), NotLeader> {
        if self.role != Role::Leader {
            return Err(NotLeader { term: self.current_term });
        }
        if self.commit_index < self.log.last_index() {
            self.concurrent_until = self.now + CONCURRENCY_MEMORY_TICKS;
        }
        if !self.proposals_unsent {
            self.proposal_alone = self.now >= self.concurrent_until;
        }
        self.log.append(Entry { term: self.current_term, command: command.into() });
        self.dirty = true;
        self.announce_wait.close(true);
        self.maybe_commit();
        // Sent when the host next takes the Ready, so all proposals between two Readies share one request; with
        // heartbeat pacing they ride the next heartbeat instead.
        self.proposals_unsent = self.cfg.pacing == Pacing::Prompt;
        Ok((self.log.last_index(), self.current_term))
    }

    /// The service's snapshot through `index` (§7): trims the log. Returns false when the core already holds a
    /// snapshot at or past `index` and ignores it.
    pub fn snapshot(&mut self, index: Index, data: Vec<u8>) -> Result<bool, SnapshotError> {
        if index <= self.log.snapshot_index() {
            return Ok(false);
        }
        if index > self.last_applied {
            return Err(SnapshotError::NotApplied { index, last_applied: self.last_applied });
        }
        let term = self.log.term_at(index).expect("applied entries after the snapshot are in the log");
        self.log.compact_to(index, term);
        self.snapshot_crc = snapshot_checksum(&data);
        self.snapshot = data;
        self.dirty = true;
        Ok(true)
    }

    /// Drains the outputs of the inputs since the last call.
    pub fn take_ready(&mut self) -> Ready {
        let (mut ready, persist) = self.take_ready_in_place();
        if persist {
            ready.persist = Some(self.persisted_state().to_vec());
        }
        ready
    }

    /// Like [`take_ready`](Self::take_ready), but the state to persist stays in the core instead of being
    /// copied out: `Ready::persist` is `None`, and when the flag is true the host's first duty is to persist
    /// [`persisted_state`](Self::persisted_state) (with [`snapshot_data`](Self::snapshot_data)). The record is as
    /// long as the log, so a host that writes it from here saves one copy of it per persist.
    pub fn take_ready_in_place(&mut self) -> (Ready, bool) {
        let alone = std::mem::take(&mut self.proposal_alone);
        if std::mem::take(&mut self.proposals_unsent) && self.role == Role::Leader {
            self.send_new_proposals(alone);
        }
        let ready = std::mem::take(&mut self.out);
        let persist = std::mem::take(&mut self.dirty);
        if persist {
            self.seal_image();
        }
        (ready, persist)
    }

    // ----- queries ------------------------------------------------------------------------------------------

    /// The current term and whether this peer believes it leads.
    pub fn state(&self) -> (Term, bool) {
        (self.current_term, self.role == Role::Leader)
    }

    /// The leader this peer last heard from in its current term (itself when it leads), `None` when it knows
    /// none: §8's hint for redirecting clients. A new term forgets it until that term's leader is heard.
    pub fn leader(&self) -> Option<PeerId> {
        self.leader
    }

    /// A summary of this peer's state.
    pub fn status(&self) -> Status {
        Status {
            role: self.role,
            term: self.current_term,
            voted_for: self.voted_for,
            leader: self.leader,
            commit_index: self.commit_index,
            last_applied: self.last_applied,
            snapshot_index: self.log.snapshot_index(),
            last_index: self.log.last_index(),
        }
    }

    /// The log.
    pub fn log(&self) -> &RaftLog {
        &self.log
    }

    /// The persisted-state record of the last persist (at start-up: of the state restored, or of the empty
    /// state), in the format [`PersistedState::decode`] reads.
    pub fn persisted_state(&self) -> &[u8] {
        self.image.bytes()
    }

    /// The current snapshot bytes, saved beside every persisted state.
    pub fn snapshot_data(&self) -> &[u8] {
        &self.snapshot
    }

    /// This peer's configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    // ----- elections (§5.2) ---------------------------------------------------------------------------------

    fn reset_election_timer(&mut self) {
        let (min, max) = if self.current_term == 0 {
            // A peer that has never seen a term has no leader to wait for: the first election of a fresh cluster
            // comes after half the usual wait, still past a heartbeat so that a leader that does exist is heard.
            ((self.cfg.election_ticks_min / 2).max(self.cfg.heartbeat_ticks + 1), self.cfg.election_ticks_min)
        } else {
            (self.cfg.election_ticks_min, self.cfg.election_ticks_max)
        };
        let span = u64::from(max - min) + 1;
        self.election_timeout = min + (self.rng.next_u64() % span) as u32;
        self.election_elapsed = 0;
    }

    fn start_election(&mut self) {
        // Figure 2, Candidates: increment currentTerm, vote for self, reset the election timer, send RequestVote.
        self.current_term += 1;
        self.role = Role::Candidate;
        self.leader = None;
        self.voted_for = Some(self.cfg.me);
        self.dirty = true;
        self.votes.iter_mut().for_each(|v| *v = false);
        self.votes[self.cfg.me as usize] = true;
        self.progress.iter_mut().for_each(|p| p.last_heard = None);
        self.reset_election_timer();
        if self.has_quorum(self.votes.iter().filter(|&&v| v).count()) {
            self.become_leader();
            return;
        }
        let vote = RequestVote {
            term: self.current_term,
            candidate: self.cfg.me,
            last_log_index: self.log.last_index(),
            last_log_term: self.log.last_term(),
        };
        for peer in self.other_peers() {
            self.out.messages.push((peer, Request::Vote(vote.clone())));
        }
    }

    fn become_follower(&mut self, term: Term, leader: Option<PeerId>) {
        if term > self.current_term {
            self.current_term = term;
            self.voted_for = None;
            self.dirty = true;
        }
        self.role = Role::Follower;
        self.leader = leader;
    }

    fn become_leader(&mut self) {
        // Figure 2, Leaders: initialise nextIndex to last log index + 1 and matchIndex to 0. No no-op entry: the
        // lab expects a fresh cluster's first command at index 1.
        self.role = Role::Leader;
        self.leader = Some(self.cfg.me);
        let next_index = self.log.last_index() + 1;
        for p in &mut self.progress {
            let last_heard = p.last_heard;
            *p = Progress {
                next_index,
                match_index: 0,
                outstanding: 0,
                probing: false,
                commit_sent: 0,
                append_tokens: APPEND_BURST,
                // As if a heartbeat ago, so the first heartbeat skips nobody.
                last_sent: self.now.saturating_sub(u64::from(self.cfg.heartbeat_ticks)),
                last_heard,
                resent: false,
                silent_heartbeats: 0,
            };
        }
        // Figure 2, Leaders: upon election, send initial empty AppendEntries (heartbeat) to each server; here after
        // NEW_LEADER_QUIET_TICKS, unless a proposal goes out first and announces the leader itself.
        self.heartbeat_elapsed = self.cfg.heartbeat_ticks.saturating_sub(NEW_LEADER_QUIET_TICKS);
    }

    fn handle_request_vote(&mut self, m: RequestVote) -> RequestVoteReply {
        // Figure 2, RequestVote receiver, step 1: reply false if term < currentTerm.
        if m.term > self.current_term {
            self.become_follower(m.term, None);
        }
        // Step 2: grant if votedFor is null or candidateId, and the candidate's log is at least as up-to-date (§5.4.1).
        let up_to_date = (m.last_log_term, m.last_log_index) >= (self.log.last_term(), self.log.last_index());
        let grant = m.term == self.current_term && self.voted_for.is_none_or(|v| v == m.candidate) && up_to_date;
        if grant {
            if self.voted_for != Some(m.candidate) {
                self.voted_for = Some(m.candidate);
                self.dirty = true;
            }
            self.reset_election_timer();
        }
        RequestVoteReply { term: self.current_term, vote_granted: grant }
    }

    fn handle_request_vote_reply(&mut self, from: PeerId, r: RequestVoteReply) {
        if self.role != Role::Candidate {
            return;
        }
        // A peer that answers this election answers the leader it elects; see `retransmit`.
        self.progress[from as usize].last_heard = Some(self.now);
        if !r.vote_granted {
            return;
        }
        // Figure 2, Candidates: if votes received from a majority of servers, become leader.
        self.votes[from as usize] = true;
        if self.has_quorum(self.votes.iter().filter(|&&v| v).count()) {
            self.become_leader();
        }
    }

    // ----- log replication (§5.3, §5.4) ---------------------------------------------------------------------

    fn send_append(&mut self, peer: PeerId) {
        let p = &self.progress[peer as usize];
        let next_index = p.next_index;
        let request = if next_index <= self.log.snapshot_index() {
            // §7: the entries this follower needs are gone; send the snapshot instead.
            Request::Snapshot(InstallSnapshot {
                term: self.current_term,
                leader: self.cfg.me,
                last_included_index: self.log.snapshot_index(),
                last_included_term: self.log.snapshot_term(),
                data: self.snapshot.clone(),
            })
        } else {
            let prev_log_index = next_index - 1;
            let p = &mut self.progress[peer as usize];
            p.commit_sent = self.commit_index;
            Request::Append(AppendEntries {
                term: self.current_term,
                leader: self.cfg.me,
                prev_log_index,
                prev_log_term: self.log.term_at(prev_log_index).expect("next_index follows the snapshot"),
                entries: if p.probing { Vec::new() } else { self.log.entries_from(next_index).to_vec() },
                leader_commit: self.commit_index,
            })
        };
        let p = &mut self.progress[peer as usize];
        p.outstanding = p.outstanding.saturating_add(1);
        p.last_sent = self.now;
        self.out.messages.push((peer, request));
    }

    /// Sends a follower the proposals it lacks if it has a token for them (`APPEND_BURST`); otherwise they wait
    /// for the tick that brings one (`send_held_proposals`) or for the next heartbeat.
    fn send_proposals(&mut self, peer: PeerId) {
        let p = &mut self.progress[peer as usize];
        if p.append_tokens > 0 {
            p.append_tokens -= 1;
            self.send_append(peer);
        }
    }

    /// Sends again, once, a request that a follower which was answering a heartbeat ago has not answered within
    /// `RETRANSMIT_TICKS`: on a lossy network a lost request or reply then costs a short wait instead of a
    /// heartbeat interval. A lost heartbeat is sent again too, so a follower misses one only when both copies are
    /// lost; that is what lets heartbeats be as far apart as they are (the node's default: four a second, against
    /// an election timeout of at least 550 ms). A follower cut off for longer waits for the heartbeat's probe.
    fn retransmit(&mut self) {
        for peer in self.other_peers() {
            let p = &self.progress[peer as usize];
            let lost = p.outstanding > 0 && !p.resent && self.now - p.last_sent >= RETRANSMIT_TICKS;
            // It answered the request before this one: at most a heartbeat apart, plus this wait.
            let answering = p
                .last_heard
                .is_some_and(|heard| self.now - heard <= u64::from(self.cfg.heartbeat_ticks) + RETRANSMIT_TICKS);
            if lost && answering {
                let p = &mut self.progress[peer as usize];
                p.outstanding = 0;
                p.resent = true;
                self.send_append(peer);
            }
        }
    }

    /// On a tick between heartbeats: idle followers that lack entries and have a token again get them.
    fn send_held_proposals(&mut self) {
        let last_index = self.log.last_index();
        for peer in self.other_peers() {
            let p = &self.progress[peer as usize];
            if p.outstanding == 0 && p.next_index <= last_index && p.append_tokens > 0 {
                self.send_proposals(peer);
            }
        }
    }

    /// Figure 2, Leaders: "repeat during idle periods to prevent election timeouts". A follower sent a request
    /// within the last half heartbeat that answered it, and that lacks neither entries nor a commit index it could
    /// apply, has heard from this leader recently enough: it is skipped, so that a busy leader's traffic is its
    /// heartbeat. A follower silent for long is probed less often (`SILENT_HEARTBEATS_PROBED`). Either way a
    /// follower hears from the leader within two heartbeats, so both are done only where the shortest election
    /// timeout is at least that long (the defaults: three).
    fn heartbeat(&mut self) {
        let last_index = self.log.last_index();
        let may_skip = self.cfg.election_ticks_min >= 2 * self.cfg.heartbeat_ticks;
        for peer in self.other_peers() {
            let p = &self.progress[peer as usize];
            let recent = self.now.saturating_sub(p.last_sent) < u64::from(self.cfg.heartbeat_ticks / 2);
            let lacks_nothing = p.next_index > last_index && !self.has_commit_to_learn(peer);
            if may_skip && recent && p.outstanding == 0 && lacks_nothing {
                continue;
            }
            let p = &mut self.progress[peer as usize];
            if p.outstanding > 0 && may_skip {
                p.silent_heartbeats += 1;
                if p.silent_heartbeats > SILENT_HEARTBEATS_PROBED && p.silent_heartbeats % 2 == 0 {
                    continue;
                }
            }
            // A heartbeat also recovers from lost messages, whose replies would never bring the count down.
            p.probing = p.outstanding > 0;
            p.outstanding = 0;
            self.send_append(peer);
        }
    }

    /// Whether a follower would apply more if told the commit index: it holds entries past what it was told.
    fn has_commit_to_learn(&self, peer: PeerId) -> bool {
        let p = &self.progress[peer as usize];
        p.commit_sent < self.commit_index.min(p.match_index)
    }

    /// New proposals go to the idle followers that have a token for them, unless they come from a client alone
    /// (`alone`: no proposal lately came while an earlier one was uncommitted). Such a client waits for each
    /// commit before its next proposal (the lab's key/value clerk, whose speed test allows 33 ms per operation;
    /// its `one()`), nothing else is in flight to ride with it, and holding it for a token would only set its pace.
    /// The tokens are for clients that overlap (the churn's three), whose proposals can share a request.
    fn send_new_proposals(&mut self, alone: bool) {
        for peer in self.other_peers() {
            if self.progress[peer as usize].outstanding == 0 {
                if alone {
                    self.send_append(peer);
                } else {
                    self.send_proposals(peer);
                }
            }
        }
    }

    fn handle_append_entries(&mut self, m: AppendEntries) -> AppendEntriesReply {
        let reject = |term, conflict_term, conflict_index| AppendEntriesReply {
            term,
            success: false,
            match_index: 0,
            conflict_term,
            conflict_index,
        };
        // Figure 2, AppendEntries receiver, step 1: reply false if term < currentTerm.
        if m.term < self.current_term {
            return reject(self.current_term, None, 0);
        }
        // A current-term AppendEntries comes from the one leader of this term (§5.2): follow it.
        self.become_follower(m.term, Some(m.leader));
        self.reset_election_timer();

        let match_index = m.prev_log_index + m.entries.len() as Index;
        let mut prev_log_index = m.prev_log_index;
        let mut prev_log_term = m.prev_log_term;
        let mut entries = m.entries;
        let snapshot_index = self.log.snapshot_index();
        if prev_log_index < snapshot_index {
            // Entries up to the snapshot are committed, so they match the leader's; skip them.
            let covered = (snapshot_index - prev_log_index) as usize;
            if covered >= entries.len() {
                return AppendEntriesReply {
                    term: self.current_term,
                    success: true,
                    match_index,
                    conflict_term: None,
                    conflict_index: 0,
                };
            }
            entries.drain(..covered);
            prev_log_index = snapshot_index;
            prev_log_term = self.log.snapshot_term();
        }
        // Step 2: reply false if the log has no entry at prevLogIndex whose term matches prevLogTerm, with the
        // hints that let the leader skip a whole term at a time.
        match self.log.term_at(prev_log_index) {
            None => return reject(self.current_term, None, self.log.last_index() + 1),
            Some(term) if term != prev_log_term => {
                let first = self.log.first_index_of_term(term, prev_log_index);
                return reject(self.current_term, Some(term), first);
            }
            Some(_) => {}
        }
        // Steps 3–4: delete a conflicting entry and all that follow it; append entries not already in the log.
        let mut append_from = None;
        for (offset, entry) in entries.iter().enumerate() {
            let index = prev_log_index + 1 + offset as Index;
            match self.log.term_at(index) {
                Some(term) if term == entry.term => continue,
                Some(_) => {
                    debug_assert!(index > self.commit_index, "validate_request refuses a conflict with a commit");
                    self.log.truncate_from(index);
                }
                None => {}
            }
            append_from = Some(offset);
            break;
        }
        if let Some(offset) = append_from {
            for entry in entries.drain(offset..) {
                self.log.append(entry);
            }
            self.dirty = true;
        }
        // Step 5: if leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index of last new entry).
        let new_commit = m.leader_commit.min(match_index);
        if new_commit > self.commit_index {
            self.commit_index = new_commit;
            self.apply_committed();
        }
        AppendEntriesReply {
            term: self.current_term,
            success: true,
            match_index,
            conflict_term: None,
            conflict_index: 0,
        }
    }

    fn handle_append_entries_reply(&mut self, from: PeerId, r: AppendEntriesReply) {
        if self.role != Role::Leader {
            return;
        }
        let last_index = self.log.last_index();
        let p = &mut self.progress[from as usize];
        p.outstanding = p.outstanding.saturating_sub(1);
        p.probing = false;
        p.last_heard = Some(self.now);
        p.resent = false;
        p.silent_heartbeats = 0;
        if r.success {
            // Figure 2, Leaders: on success update nextIndex and matchIndex. Replies may be stale or duplicated,
            // so both only move forward.
            p.match_index = p.match_index.max(r.match_index.min(last_index));
            p.next_index = p.next_index.max(p.match_index + 1);
        } else {
            // Figure 2, Leaders: on a consistency failure decrement nextIndex and retry; the hints skip the whole
            // conflicting term (or jump to the follower's log end) instead of one entry per round trip.
            let hinted = match r.conflict_term {
                Some(term) => match self.log.last_index_of_term(term) {
                    Some(index) => index + 1,
                    None => r.conflict_index,
                },
                None => r.conflict_index,
            };
            p.next_index = hinted.clamp(p.match_index + 1, last_index + 1);
        }
        self.after_follower_progress(from, !r.success);
    }

    fn handle_install_snapshot(&mut self, m: InstallSnapshot) -> InstallSnapshotReply {
        // Figure 13, receiver step 1: reply immediately if term < currentTerm.
        if m.term < self.current_term {
            return InstallSnapshotReply { term: self.current_term, last_included_index: 0 };
        }
        self.become_follower(m.term, Some(m.leader));
        self.reset_election_timer();
        // A snapshot at or behind the commit index holds nothing new: everything it covers is already committed
        // here and handed to the service, and the apply stream must not move backwards.
        if m.last_included_index > self.commit_index {
            // Steps 6–7: keep the entries that follow a matching snapshot entry, else discard the whole log.
            self.log.compact_to(m.last_included_index, m.last_included_term);
            self.snapshot = m.data.clone();
            self.snapshot_crc = snapshot_checksum(&self.snapshot);
            self.commit_index = m.last_included_index;
            self.last_applied = m.last_included_index;
            self.dirty = true;
            // Step 8: reset the state machine using the snapshot contents.
            self.out.apply.push(Apply::Snapshot {
                index: m.last_included_index,
                term: m.last_included_term,
                data: m.data,
            });
        }
        InstallSnapshotReply { term: self.current_term, last_included_index: m.last_included_index }
    }

    fn handle_install_snapshot_reply(&mut self, from: PeerId, r: InstallSnapshotReply) {
        if self.role != Role::Leader {
            return;
        }
        let last_index = self.log.last_index();
        let p = &mut self.progress[from as usize];
        p.outstanding = p.outstanding.saturating_sub(1);
        p.probing = false;
        p.last_heard = Some(self.now);
        p.resent = false;
        p.silent_heartbeats = 0;
        p.match_index = p.match_index.max(r.last_included_index.min(last_index));
        p.next_index = p.next_index.max(p.match_index + 1);
        self.after_follower_progress(from, true);
    }

    /// After a follower answered: commit what a majority holds and keep feeding this follower while it lacks
    /// entries (a new commit index reaches the others soon after, see `announce_commit`). A follower still
    /// being caught up (its log parted from ours, or it took a snapshot) is sent the next step at once; what a
    /// follower that accepted everything sent lacks are proposals made since, which take a token. With
    /// heartbeat pacing what it still lacks waits for the next heartbeat.
    fn after_follower_progress(&mut self, from: PeerId, catching_up: bool) {
        self.maybe_commit();
        let p = &self.progress[from as usize];
        if self.cfg.pacing == Pacing::Prompt && p.outstanding == 0 && p.next_index <= self.log.last_index() {
            if catching_up {
                self.send_append(from);
            } else {
                self.send_proposals(from);
            }
        }
    }

    /// How long after a commit `announce_commit` waits. Where clients keep proposing (several clients, each
    /// proposing again once it sees its command committed at the leader), the next proposal usually comes within
    /// `commit_wait_ticks` and its AppendEntries carries the commit index instead of a message of its own; then
    /// the leader waits that long. Where a client waits for every peer to apply its command before proposing the
    /// next (the lab's `one()`), nothing comes, and waiting would only delay the client; then the leader
    /// announces on the next tick. Which of the two holds is learnt from the last commits (`AnnounceWait`).
    fn commit_announce_ticks(&self) -> u32 {
        if self.announce_wait.paid {
            self.commit_wait_ticks()
        } else {
            1
        }
    }

    /// The wait for a proposal to carry a commit index: a fifth of a heartbeat, so followers still learn it well
    /// before the next one.
    fn commit_wait_ticks(&self) -> u32 {
        (self.cfg.heartbeat_ticks / 5).max(1)
    }

    fn announce_commit(&mut self) {
        for peer in self.other_peers() {
            if self.progress[peer as usize].outstanding == 0 && self.has_commit_to_learn(peer) {
                self.send_append(peer);
            }
        }
    }

    /// Figure 2, Leaders: if a majority has matchIndex ≥ N and log[N].term == currentTerm, set commitIndex = N.
    /// Only a current-term entry is committed by counting replicas (§5.4.2, Figure 8).
    fn maybe_commit(&mut self) {
        let mut matched: Vec<Index> = (0..self.cfg.peers)
            .map(
                |peer| {
                    if peer == self.cfg.me {
                        self.log.last_index()
                    } else {
                        self.progress[peer as usize].match_index
                    }
                },
            )
            .collect();
        matched.sort_unstable_by(|a, b| b.cmp(a));
        let majority_index = matched[(self.cfg.peers / 2) as usize];
        if majority_index > self.commit_index && self.log.term_at(majority_index) == Some(self.current_term) {
            self.commit_index = majority_index;
            self.ticks_since_commit = 0;
            self.announce_wait.open = true;
            self.apply_committed();
        }
    }

    /// Figure 2, all servers: if commitIndex > lastApplied, apply log[lastApplied + 1] and so on.
    fn apply_committed(&mut self) {
        while self.last_applied < self.commit_index {
            self.last_applied += 1;
            let entry = self.log.entry(self.last_applied).expect("committed entries after the snapshot are in the log");
            self.out.apply.push(Apply::Command {
                index: self.last_applied,
                term: entry.term,
                command: entry.command.clone(),
            });
        }
    }

    // ----- helpers ------------------------------------------------------------------------------------------

    fn validate_request(&self, request: &Request) -> Result<(), InvalidMessage> {
        let sender = request.sender();
        if sender >= self.cfg.peers || sender == self.cfg.me {
            return Err(InvalidMessage("request from a peer outside the cluster"));
        }
        if request.term() > MAX_TERM {
            return Err(InvalidMessage("term past the largest a peer may reach"));
        }
        match request {
            Request::Vote(m) => {
                if m.last_log_index > MAX_INDEX || m.last_log_term > MAX_TERM {
                    return Err(InvalidMessage("candidate's log runs past the largest index or term"));
                }
            }
            Request::Append(m) => {
                let last = m.prev_log_index.checked_add(m.entries.len() as Index);
                if last.is_none_or(|last| last > MAX_INDEX) || m.leader_commit > MAX_INDEX {
                    return Err(InvalidMessage("entries run past the largest index"));
                }
                if m.prev_log_term > m.term || m.entries.iter().any(|e| e.term > m.term) {
                    return Err(InvalidMessage("entries newer than the leader's term"));
                }
                // A request that step 1 does not refuse comes from a leader of this term or a later one, which holds
                // every committed entry (§5.4.3, Leader Completeness). One that differs from this peer at a
                // committed index is broken or hostile, and steps 3–4 would truncate what the service already
                // applied.
                if m.term >= self.current_term && self.conflicts_with_committed(m) {
                    return Err(InvalidMessage("entries conflict with committed ones"));
                }
            }
            Request::Snapshot(m) => {
                if m.last_included_index > MAX_INDEX {
                    return Err(InvalidMessage("snapshot runs past the largest index"));
                }
                if m.last_included_term > m.term {
                    return Err(InvalidMessage("snapshot newer than the leader's term"));
                }
            }
        }
        Ok(())
    }

    /// Whether `m` carries, at an index this peer knows committed and still holds, an entry of another term.
    /// `m`'s indices must already be bounded.
    fn conflicts_with_committed(&self, m: &AppendEntries) -> bool {
        let first = m.prev_log_index + 1;
        let from = first.max(self.log.snapshot_index() + 1);
        let to = self.commit_index.min(m.prev_log_index + m.entries.len() as Index);
        (from..=to).any(|index| self.log.term_at(index) != Some(m.entries[(index - first) as usize].term))
    }

    /// The reply-side twin of `validate_request`: fields no correct peer could have sent.
    fn validate_reply(reply: &Reply) -> Result<(), InvalidMessage> {
        if reply.term() > MAX_TERM {
            return Err(InvalidMessage("term past the largest a peer may reach"));
        }
        let in_range = match reply {
            Reply::Vote(_) => true,
            Reply::Append(r) => {
                r.match_index <= MAX_INDEX
                    && r.conflict_index <= MAX_INDEX
                    && r.conflict_term.is_none_or(|term| term <= MAX_TERM)
            }
            Reply::Snapshot(r) => r.last_included_index <= MAX_INDEX,
        };
        if in_range {
            Ok(())
        } else {
            Err(InvalidMessage("reply index or term out of range"))
        }
    }

    fn has_quorum(&self, count: usize) -> bool {
        count > self.cfg.peers as usize / 2
    }

    fn other_peers(&self) -> impl Iterator<Item = PeerId> {
        let me = self.cfg.me;
        (0..self.cfg.peers).filter(move |&p| p != me)
    }

    /// Brings the persisted image up to date. Only the entries changed since the last persist are encoded; the
    /// rest of the record is reused.
    fn seal_image(&mut self) {
        self.image.sync(&mut self.log);
        let header = self.persisted_header();
        self.image.seal(&header);
    }

    fn persisted_header(&self) -> Header {
        Header {
            me: self.cfg.me,
            peers: self.cfg.peers,
            current_term: self.current_term,
            voted_for: self.voted_for,
            snapshot_index: self.log.snapshot_index(),
            snapshot_term: self.log.snapshot_term(),
            snapshot_len: self.snapshot.len() as u64,
            snapshot_crc: self.snapshot_crc,
            entries: self.log.entries().len() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(me: PeerId, peers: u32) -> Raft {
        Raft::new(Config::new(me, peers, 7), &[], &[]).unwrap()
    }

    fn tick_until_candidate(raft: &mut Raft) -> Ready {
        for _ in 0..raft.config().election_ticks_max {
            raft.tick();
            if raft.status().role == Role::Candidate {
                return raft.take_ready();
            }
        }
        panic!("no election within election_ticks_max ticks");
    }

    fn append(term: Term, leader: PeerId, prev: (Index, Term), entries: &[Term], commit: Index) -> Request {
        Request::Append(AppendEntries {
            term,
            leader,
            prev_log_index: prev.0,
            prev_log_term: prev.1,
            entries: entries.iter().map(|&t| Entry { term: t, command: vec![t as u8].into() }).collect(),
            leader_commit: commit,
        })
    }

    fn append_reply(reply: Reply) -> AppendEntriesReply {
        match reply {
            Reply::Append(r) => r,
            other => panic!("expected an AppendEntries reply, got {other:?}"),
        }
    }

    /// Makes peer 0 of 3 the leader of term 1.
    /// Peer 0 of 3, just elected and past its first heartbeat.
    fn leader() -> Raft {
        let mut raft = peer(0, 3);
        tick_until_candidate(&mut raft);
        raft.handle_reply(1, Reply::Vote(RequestVoteReply { term: 1, vote_granted: true })).unwrap();
        assert_eq!(raft.state(), (1, true));
        raft.take_ready();
        for _ in 0..NEW_LEADER_QUIET_TICKS {
            raft.tick();
        }
        assert_eq!(raft.take_ready().messages.len(), 2, "the first heartbeat");
        raft
    }

    #[test]
    fn a_silent_leader_starts_an_election_that_is_persisted_before_the_votes_go_out() {
        let mut raft = peer(0, 3);
        let ready = tick_until_candidate(&mut raft);
        assert!(ready.persist.is_some(), "the new term and vote must be persisted with the votes");
        let messages = ready.messages;
        assert_eq!(raft.status().term, 1);
        assert_eq!(raft.status().voted_for, Some(0));
        assert_eq!(messages.len(), 2);
        assert!(messages.iter().all(|(_, m)| matches!(m, Request::Vote(v) if v.term == 1)));
    }

    #[test]
    fn a_single_peer_elects_itself_and_commits_alone() {
        let mut raft = peer(0, 1);
        tick_until_candidate_or_leader(&mut raft);
        assert!(raft.state().1);
        assert_eq!(raft.propose(b"x".to_vec()), Ok((1, 1)));
        let ready = raft.take_ready();
        assert_eq!(ready.apply, vec![Apply::Command { index: 1, term: 1, command: b"x".to_vec().into() }]);
    }

    fn tick_until_candidate_or_leader(raft: &mut Raft) {
        for _ in 0..raft.config().election_ticks_max {
            raft.tick();
        }
    }

    #[test]
    fn votes_go_once_per_term_and_only_to_up_to_date_logs() {
        let mut raft = peer(0, 3);
        raft.handle_request(append(2, 1, (0, 0), &[1, 2], 0)).unwrap();
        let vote = |candidate, term, last_log_index, last_log_term| {
            Request::Vote(RequestVote { term, candidate, last_log_index, last_log_term })
        };
        let granted = |reply: Reply| matches!(reply, Reply::Vote(RequestVoteReply { vote_granted: true, .. }));
        // §5.4.1: a log with an older last term, or the same term but shorter, is not up to date.
        assert!(!granted(raft.handle_request(vote(2, 3, 5, 1)).unwrap()));
        assert!(!granted(raft.handle_request(vote(2, 3, 1, 2)).unwrap()));
        assert!(granted(raft.handle_request(vote(2, 3, 2, 2)).unwrap()));
        // One vote per term, repeatable to the same candidate.
        assert!(!granted(raft.handle_request(vote(1, 3, 9, 3)).unwrap()));
        assert!(granted(raft.handle_request(vote(2, 3, 2, 2)).unwrap()));
        // A stale term is refused outright.
        assert!(!granted(raft.handle_request(vote(1, 2, 9, 3)).unwrap()));
        assert!(raft.take_ready().persist.is_some());
    }

    #[test]
    fn append_entries_reports_where_the_logs_part() {
        let mut raft = peer(1, 3);
        raft.handle_request(append(3, 0, (0, 0), &[1, 1, 2, 2, 2], 0)).unwrap();
        // Missing prev entry: the hint is the log length + 1.
        let r = append_reply(raft.handle_request(append(3, 0, (9, 3), &[], 0)).unwrap());
        assert_eq!((r.success, r.conflict_term, r.conflict_index), (false, None, 6));
        // Conflicting prev entry: the hint is its term and that term's first index.
        let r = append_reply(raft.handle_request(append(3, 0, (4, 3), &[], 0)).unwrap());
        assert_eq!((r.success, r.conflict_term, r.conflict_index), (false, Some(2), 3));
        // A matching prev entry with a conflicting suffix truncates and appends (steps 3–4).
        let r = append_reply(raft.handle_request(append(3, 0, (2, 1), &[3], 2)).unwrap());
        assert_eq!((r.success, r.match_index), (true, 3));
        assert_eq!(raft.status().last_index, 3);
        assert_eq!(raft.log().term_at(3), Some(3));
        // Step 5: commit up to the leader's commit, applied in order.
        let ready = raft.take_ready();
        let applied: Vec<Index> = ready
            .apply
            .iter()
            .map(|a| match a {
                Apply::Command { index, .. } => *index,
                Apply::Snapshot { index, .. } => *index,
            })
            .collect();
        assert_eq!(applied, vec![1, 2]);
    }

    #[test]
    fn a_stale_append_does_not_truncate_a_longer_matching_log() {
        let mut raft = peer(1, 3);
        raft.handle_request(append(2, 0, (0, 0), &[1, 2, 2], 0)).unwrap();
        let r = append_reply(raft.handle_request(append(2, 0, (0, 0), &[1], 0)).unwrap());
        assert_eq!((r.success, r.match_index), (true, 1));
        assert_eq!(raft.status().last_index, 3);
    }

    #[test]
    fn the_leader_skips_a_whole_conflicting_term_on_rejection() {
        let mut raft = leader();
        for i in 0..5 {
            raft.propose(vec![i]).unwrap();
        }
        raft.take_ready();
        // The follower holds term 9 entries the leader never had: next_index jumps to the hint.
        raft.handle_reply(
            1,
            Reply::Append(AppendEntriesReply {
                term: 1,
                success: false,
                match_index: 0,
                conflict_term: Some(9),
                conflict_index: 2,
            }),
        )
        .unwrap();
        let messages = raft.take_ready().messages;
        let sent = messages.iter().find(|(p, _)| *p == 1).expect("a retry to the follower");
        assert!(matches!(&sent.1, Request::Append(a) if a.prev_log_index == 1 && a.entries.len() == 4));
    }

    #[test]
    fn entries_from_an_older_term_commit_only_with_a_current_term_entry() {
        // Figure 8: a leader of term 2 holding an uncommitted term-1 entry replicated to a majority must not
        // commit it by counting replicas.
        let state = PersistedState {
            me: 0,
            peers: 3,
            current_term: 1,
            voted_for: None,
            snapshot_index: 0,
            snapshot_term: 0,
            snapshot_len: 0,
            snapshot_crc: crate::core::persist::snapshot_checksum(&[]),
            entries: vec![Entry { term: 1, command: vec![1].into() }],
        };
        let mut raft = Raft::new(Config::new(0, 3, 7), &state.encode(), &[]).unwrap();
        tick_until_candidate(&mut raft);
        raft.handle_reply(1, Reply::Vote(RequestVoteReply { term: 2, vote_granted: true })).unwrap();
        raft.take_ready();
        let success = |match_index| {
            Reply::Append(AppendEntriesReply {
                term: 2,
                success: true,
                match_index,
                conflict_term: None,
                conflict_index: 0,
            })
        };
        raft.handle_reply(1, success(1)).unwrap();
        assert_eq!(raft.status().commit_index, 0);
        raft.propose(vec![2]).unwrap();
        raft.handle_reply(1, success(2)).unwrap();
        assert_eq!(raft.status().commit_index, 2);
    }

    #[test]
    fn an_installed_snapshot_moves_the_apply_stream_forward_only() {
        let mut raft = peer(1, 3);
        raft.handle_request(append(1, 0, (0, 0), &[1, 1, 1], 3)).unwrap();
        raft.take_ready();
        let install = |index| {
            Request::Snapshot(InstallSnapshot {
                term: 1,
                leader: 0,
                last_included_index: index,
                last_included_term: 1,
                data: vec![index as u8],
            })
        };
        // Behind the commit index: nothing to apply.
        raft.handle_request(install(2)).unwrap();
        assert!(raft.take_ready().apply.is_empty());
        // Ahead: the snapshot is applied, persisted with the state, and the log is compacted.
        raft.handle_request(install(10)).unwrap();
        let ready = raft.take_ready();
        assert_eq!(ready.apply, vec![Apply::Snapshot { index: 10, term: 1, data: vec![10] }]);
        assert!(ready.persist.is_some());
        assert_eq!((raft.status().snapshot_index, raft.status().last_applied), (10, 10));
        assert_eq!(raft.snapshot_data(), &[10]);
    }

    #[test]
    fn the_service_snapshot_trims_the_log_and_survives_a_restart() {
        let mut raft = leader();
        for i in 0..4 {
            raft.propose(vec![i]).unwrap();
        }
        raft.handle_reply(
            1,
            Reply::Append(AppendEntriesReply {
                term: 1,
                success: true,
                match_index: 4,
                conflict_term: None,
                conflict_index: 0,
            }),
        )
        .unwrap();
        assert_eq!(raft.snapshot(9, vec![]), Err(SnapshotError::NotApplied { index: 9, last_applied: 4 }));
        assert_eq!(raft.snapshot(3, b"svc".to_vec()), Ok(true));
        assert_eq!(raft.snapshot(2, b"old".to_vec()), Ok(false));
        let state = raft.take_ready().persist.expect("a snapshot is persisted");
        let restarted = Raft::new(Config::new(0, 3, 7), &state, b"svc").unwrap();
        let status = restarted.status();
        assert_eq!((status.snapshot_index, status.last_applied, status.last_index, status.term), (3, 3, 4, 1));
        assert!(Raft::new(Config::new(0, 3, 7), &state, b"other").is_err());
        assert!(Raft::new(Config::new(1, 3, 7), &state, b"svc").is_err());
        assert!(Raft::new(Config::new(0, 3, 7), &[], b"svc").is_err());
    }

    /// The record `raft` stands for, encoded from scratch.
    fn encoded_from_scratch(raft: &Raft) -> Vec<u8> {
        PersistedState {
            me: raft.cfg.me,
            peers: raft.cfg.peers,
            current_term: raft.current_term,
            voted_for: raft.voted_for,
            snapshot_index: raft.log.snapshot_index(),
            snapshot_term: raft.log.snapshot_term(),
            snapshot_len: raft.snapshot.len() as u64,
            snapshot_crc: snapshot_checksum(&raft.snapshot),
            entries: raft.log.entries().to_vec(),
        }
        .encode()
    }

    #[test]
    fn every_persist_equals_a_from_scratch_encoding_and_restarts_to_the_same_state() {
        let mut raft = peer(1, 3);
        let mut persists = 0;
        let mut check = |raft: &mut Raft| {
            if let Some(state) = raft.take_ready().persist {
                persists += 1;
                assert_eq!(state, encoded_from_scratch(raft));
                assert_eq!(raft.persisted_state(), &state[..]);
                let restarted = Raft::new(Config::new(1, 3, 7), &state, raft.snapshot_data()).unwrap();
                assert_eq!(restarted.persisted_state(), &state[..], "a restart starts from the same record");
                assert_eq!((restarted.log(), restarted.state()), (raft.log(), (raft.state().0, false)));
            }
        };
        raft.handle_request(append(1, 0, (0, 0), &[1, 1, 1, 1], 2)).unwrap();
        check(&mut raft);
        // Appends, a conflicting suffix replaced, a vote in a new term.
        raft.handle_request(append(2, 0, (4, 1), &[2, 2], 2)).unwrap();
        check(&mut raft);
        raft.handle_request(append(3, 2, (3, 1), &[3, 3, 3], 4)).unwrap();
        check(&mut raft);
        let vote = RequestVote { term: 4, candidate: 2, last_log_index: 6, last_log_term: 3 };
        raft.handle_request(Request::Vote(vote)).unwrap();
        check(&mut raft);
        // A service snapshot keeps the suffix; an installed one past the log drops it; then the log grows again.
        assert_eq!(raft.snapshot(3, b"three".to_vec()), Ok(true));
        raft.handle_request(append(4, 2, (6, 3), &[4], 3)).unwrap();
        check(&mut raft);
        let install = InstallSnapshot {
            term: 4,
            leader: 2,
            last_included_index: 9,
            last_included_term: 4,
            data: b"nine".to_vec(),
        };
        raft.handle_request(Request::Snapshot(install)).unwrap();
        check(&mut raft);
        raft.handle_request(append(4, 2, (9, 4), &[4, 4], 9)).unwrap();
        check(&mut raft);
        assert_eq!(persists, 7);
        // In place, the same record stays in the core.
        raft.handle_request(append(4, 2, (11, 4), &[4], 9)).unwrap();
        let (ready, persist) = raft.take_ready_in_place();
        assert!(persist && ready.persist.is_none());
        assert_eq!(raft.persisted_state(), &encoded_from_scratch(&raft)[..]);
        assert_eq!(peer(0, 3).persisted_state(), &encoded_from_scratch(&peer(0, 3))[..], "a fresh peer's record");
    }

    #[test]
    fn proposals_to_a_follower_are_refused_and_invalid_messages_rejected() {
        let mut raft = peer(1, 3);
        assert_eq!(raft.propose(vec![1]), Err(NotLeader { term: 0 }));
        assert!(raft.handle_request(append(1, 7, (0, 0), &[], 0)).is_err());
        assert!(raft.handle_request(append(1, 1, (0, 0), &[], 0)).is_err());
        assert!(raft.handle_request(append(1, 0, (u64::MAX, 1), &[1], 0)).is_err());
        assert!(raft.handle_request(append(1, 0, (0, 0), &[5], 0)).is_err());
        assert!(raft.handle_reply(9, Reply::Vote(RequestVoteReply { term: 0, vote_granted: true })).is_err());
    }

    /// Everything a peer shows and would persist, to check that a refused message changed none of it.
    fn snapshot_of(raft: &Raft) -> (Status, RaftLog, Vec<u8>) {
        (raft.status(), raft.log().clone(), raft.persisted_state().to_vec())
    }

    #[test]
    fn terms_and_indices_past_the_bounds_are_refused_and_change_nothing() {
        let mut raft = peer(1, 3);
        raft.handle_request(append(1, 0, (0, 0), &[1, 1], 1)).unwrap();
        raft.take_ready();
        let before = snapshot_of(&raft);
        let vote =
            |term, last_log_index| Request::Vote(RequestVote { term, candidate: 2, last_log_index, last_log_term: 1 });
        let install = |term, last_included_index| {
            Request::Snapshot(InstallSnapshot {
                term,
                leader: 0,
                last_included_index,
                last_included_term: 1,
                data: vec![],
            })
        };
        let commit = |leader_commit| {
            let Request::Append(m) = append(2, 0, (2, 1), &[], 0) else { unreachable!() };
            Request::Append(AppendEntries { leader_commit, ..m })
        };
        let refused = [
            vote(u64::MAX, 2),
            vote(MAX_TERM + 1, 2),
            vote(2, MAX_INDEX + 1),
            append(u64::MAX, 0, (2, 1), &[], 1),
            append(MAX_TERM + 1, 0, (2, 1), &[], 1),
            append(2, 0, (MAX_INDEX, 1), &[2], 1),
            commit(u64::MAX),
            install(u64::MAX, 5),
            install(2, u64::MAX),
            install(2, MAX_INDEX + 1),
        ];
        for request in refused {
            assert!(raft.handle_request(request.clone()).is_err(), "{request:?} was accepted");
            assert_eq!(snapshot_of(&raft), before, "{request:?} changed the peer");
            assert!(raft.take_ready().is_empty(), "{request:?} left work to do");
        }
        let append_reply = |term, match_index, conflict_term| {
            Reply::Append(AppendEntriesReply { term, success: true, match_index, conflict_term, conflict_index: 0 })
        };
        let refused = [
            Reply::Vote(RequestVoteReply { term: u64::MAX, vote_granted: false }),
            Reply::Vote(RequestVoteReply { term: MAX_TERM + 1, vote_granted: false }),
            append_reply(u64::MAX, 1, None),
            append_reply(1, u64::MAX, None),
            append_reply(1, 1, Some(MAX_TERM + 1)),
            Reply::Snapshot(InstallSnapshotReply { term: 1, last_included_index: u64::MAX }),
        ];
        for reply in refused {
            assert!(raft.handle_reply(0, reply.clone()).is_err(), "{reply:?} was accepted");
            assert_eq!(snapshot_of(&raft), before, "{reply:?} changed the peer");
        }

        // At the bounds a message is accepted. A log that ends at the largest index can still elect its peer,
        // whose `last index + 1` for each follower fits; a term at the largest can still be followed by
        // elections, and the term still fits the C ABI's i64.
        raft.handle_request(install(2, MAX_INDEX)).unwrap();
        assert_eq!(raft.status().last_index, MAX_INDEX);
        tick_until_candidate(&mut raft);
        raft.handle_reply(0, Reply::Vote(RequestVoteReply { term: 3, vote_granted: true })).unwrap();
        assert_eq!(raft.state(), (3, true));
        let heartbeats = raft.take_ready().messages;
        assert!(heartbeats.iter().all(|(_, m)| matches!(m, Request::Append(a) if a.prev_log_index == MAX_INDEX)));
        raft.handle_request(vote(MAX_TERM, MAX_INDEX)).unwrap();
        tick_until_candidate(&mut raft);
        assert_eq!(raft.state(), (MAX_TERM + 1, false));
        assert!(i64::try_from(raft.state().0).is_ok());
    }

    #[test]
    fn an_append_that_conflicts_with_a_committed_entry_is_refused_and_the_log_kept() {
        let mut raft = peer(1, 3);
        raft.handle_request(append(1, 0, (0, 0), &[1, 1, 1], 2)).unwrap();
        assert_eq!(raft.take_ready().apply.len(), 2);
        let before = snapshot_of(&raft);
        // Entries 1 and 2 are committed: a leader of term 1 or later that sends another term there is broken.
        for request in
            [append(2, 2, (0, 0), &[2, 2], 3), append(2, 0, (1, 1), &[2], 0), append(3, 2, (0, 0), &[1, 3, 3, 3], 4)]
        {
            assert!(raft.handle_request(request.clone()).is_err(), "{request:?} was accepted");
            assert_eq!(snapshot_of(&raft), before, "{request:?} changed the peer");
            assert!(raft.take_ready().is_empty(), "{request:?} left work to do");
        }
        // The committed prefix survives, so the service's snapshot of it still works.
        assert_eq!(raft.snapshot(2, b"two".to_vec()), Ok(true));
        // A conflict past the commit index is an ordinary step 3 truncation.
        let r = append_reply(raft.handle_request(append(2, 2, (2, 1), &[2], 2)).unwrap());
        assert_eq!((r.success, r.match_index), (true, 3));
        assert_eq!(raft.log().term_at(3), Some(2));
        // A stale leader may hold anything: step 1 answers it, and nothing is refused.
        raft.handle_request(append(2, 2, (3, 2), &[], 3)).unwrap();
        raft.handle_request(Request::Vote(RequestVote { term: 3, candidate: 0, last_log_index: 3, last_log_term: 2 }))
            .unwrap();
        assert_eq!(raft.status().commit_index, 3);
        let r = append_reply(raft.handle_request(append(2, 2, (2, 1), &[1], 3)).unwrap());
        assert_eq!((r.success, r.term), (false, 3));
        assert_eq!(raft.log().term_at(3), Some(2));
    }

    #[test]
    fn bursts_of_proposals_share_one_request_per_follower() {
        let mut raft = leader();
        for follower in [1, 2] {
            let heartbeat_ack =
                AppendEntriesReply { term: 1, success: true, match_index: 0, conflict_term: None, conflict_index: 0 };
            raft.handle_reply(follower, Reply::Append(heartbeat_ack)).unwrap();
        }
        raft.propose(vec![1]).unwrap();
        for i in 2..10 {
            raft.propose(vec![i]).unwrap();
        }
        let messages = raft.take_ready().messages;
        assert_eq!(messages.len(), 2, "one request per follower while the first is unanswered");
    }

    /// Ticks until the peer starts its next election.
    fn ticks_to_election(raft: &mut Raft) -> u32 {
        let term = raft.status().term;
        (1..=raft.config().election_ticks_max)
            .find(|_| {
                raft.tick();
                raft.status().term > term
            })
            .expect("no election within election_ticks_max ticks")
    }

    #[test]
    fn only_a_peer_that_never_saw_a_term_shortens_its_first_election_timeout() {
        let cfg = Config::new(0, 3, 7);
        let first = (cfg.election_ticks_min / 2).max(cfg.heartbeat_ticks + 1)..=cfg.election_ticks_min;
        let later = cfg.election_ticks_min..=cfg.election_ticks_max;
        for seed in 1..50 {
            let mut raft = Raft::new(Config { seed, ..cfg.clone() }, &[], &[]).unwrap();
            let fresh = ticks_to_election(&mut raft);
            assert!(first.contains(&fresh), "seed {seed}: a fresh peer waited {fresh} ticks");
            let state = raft.take_ready().persist.expect("the election is persisted");
            let mut restarted = Raft::new(Config { seed, ..cfg.clone() }, &state, &[]).unwrap();
            let again = ticks_to_election(&mut restarted);
            assert!(later.contains(&again), "seed {seed}: a peer at term 1 waited {again} ticks");
            let again_in_term_2 = ticks_to_election(&mut raft);
            assert!(
                later.contains(&again_in_term_2),
                "seed {seed}: a candidate's next election after {again_in_term_2}"
            );
        }
    }

    /// The leader of `leader()` with entry 1 of term 1 committed on followers 1 and 2's acknowledgements.
    fn leader_with_a_commit() -> Raft {
        let mut raft = leader();
        raft.propose(vec![1]).unwrap();
        raft.take_ready();
        for follower in [1, 2] {
            let ack =
                AppendEntriesReply { term: 1, success: true, match_index: 1, conflict_term: None, conflict_index: 0 };
            raft.handle_reply(follower, Reply::Append(ack)).unwrap();
        }
        assert_eq!(raft.status().commit_index, 1);
        assert!(raft.take_ready().messages.is_empty(), "the commit is not announced at once");
        raft
    }

    /// Followers told of commit index `commit` by an AppendEntries without entries.
    fn commit_announcements(ready: &Ready, commit: Index) -> usize {
        let is_announcement =
            |m: &Request| matches!(m, Request::Append(a) if a.entries.is_empty() && a.leader_commit == commit);
        ready.messages.iter().filter(|(_, m)| is_announcement(m)).count()
    }

    #[test]
    fn a_commit_is_announced_on_the_next_tick_unless_proposals_have_been_carrying_it() {
        // A client that waits for every peer to apply before proposing again (the lab's one()) is not kept waiting.
        let mut raft = leader_with_a_commit();
        raft.tick();
        assert_eq!(commit_announcements(&raft.take_ready(), 1), 2, "each follower is told on the next tick");

        // A proposal made before the announcement carries the commit index instead of a message of its own...
        let mut raft = leader_with_a_commit();
        raft.propose(vec![2]).unwrap();
        let sent = raft.take_ready().messages;
        assert_eq!(sent.len(), 2);
        assert!(sent
            .iter()
            .all(|(_, m)| matches!(m, Request::Append(a) if a.entries.len() == 1 && a.leader_commit == 1)));
        ack(&mut raft, 1, 2);
        ack(&mut raft, 2, 2);
        assert_eq!(raft.status().commit_index, 2);

        // ...so the next commit waits a while for another proposal to carry it, and is announced when none came.
        let wait = raft.commit_wait_ticks();
        assert!(wait > 1 && wait < raft.config().heartbeat_ticks);
        for _ in 1..wait {
            raft.tick();
            assert_eq!(commit_announcements(&raft.take_ready(), 2), 0, "waiting for a proposal to carry it");
        }
        raft.tick();
        assert_eq!(commit_announcements(&raft.take_ready(), 2), 2, "told after {wait} ticks");

        // That wait went unrewarded: the commit after it is announced on the next tick again.
        raft.propose(vec![3]).unwrap();
        raft.take_ready();
        ack(&mut raft, 1, 3);
        ack(&mut raft, 2, 3);
        raft.tick();
        assert_eq!(commit_announcements(&raft.take_ready(), 3), 2);
    }

    #[test]
    fn a_steady_stream_of_proposals_costs_a_request_per_refill_not_per_proposal() {
        let mut raft = answered_leader();
        let refill = raft.config().append_refill_ticks;
        // Two clients: the first proposal goes out at once, and the second, made while the first is uncommitted,
        // follows its reply at once on a token.
        raft.propose(vec![1]).unwrap();
        assert_eq!(appends(&raft.take_ready()), vec![(1, 1, 0), (2, 1, 0)]);
        raft.propose(vec![2]).unwrap();
        assert!(raft.take_ready().messages.is_empty(), "one request out per follower");
        ack(&mut raft, 1, 1);
        assert_eq!(appends(&raft.take_ready()), vec![(1, 1, 1)], "the follow-up takes a token");
        ack(&mut raft, 1, 2);
        raft.propose(vec![3]).unwrap();
        assert_eq!(appends(&raft.take_ready()), vec![(1, 1, 2)], "the next proposal takes the second token");
        ack(&mut raft, 1, 3);
        // The burst spent, proposals wait for a token and then share one request.
        for i in 4..7 {
            raft.propose(vec![i]).unwrap();
            assert!(raft.take_ready().messages.iter().all(|(to, _)| *to != 1), "follower 1 has no token left");
        }
        let mut ticks = 0;
        let sent = loop {
            raft.tick();
            ticks += 1;
            let to_1: Vec<_> = appends(&raft.take_ready()).into_iter().filter(|(to, _, _)| *to == 1).collect();
            if !to_1.is_empty() {
                break to_1;
            }
            assert!(ticks < refill, "a token comes back within {refill} ticks");
        };
        assert_eq!(sent, vec![(1, 3, 3)], "the three proposals ride together, with the commit index");
    }

    #[test]
    fn a_client_alone_is_sent_each_proposal_at_once_until_proposals_overlap() {
        let mut raft = answered_leader();
        let propose_and_commit = |raft: &mut Raft, i: u64| {
            raft.propose(vec![i as u8]).unwrap();
            let sent = appends(&raft.take_ready());
            ack(raft, 1, i);
            ack(raft, 2, i);
            raft.take_ready();
            sent
        };
        // One client waiting for each commit: every proposal goes out at once, well past the burst of tokens.
        for i in 1..=5 {
            assert_eq!(propose_and_commit(&mut raft, i), vec![(1, 1, i - 1), (2, 1, i - 1)], "proposal {i}");
        }
        // A second client proposes while the first's proposal is uncommitted: from now on proposals take tokens.
        raft.propose(vec![6]).unwrap();
        raft.propose(vec![7]).unwrap();
        assert_eq!(appends(&raft.take_ready()), vec![(1, 2, 5), (2, 2, 5)], "both ride one request");
        ack(&mut raft, 1, 7);
        ack(&mut raft, 2, 7);
        raft.take_ready();
        assert_eq!(propose_and_commit(&mut raft, 8).len(), 2, "the first token");
        assert_eq!(propose_and_commit(&mut raft, 9).len(), 2, "the second token");
        assert!(propose_and_commit(&mut raft, 10).is_empty(), "no token left: it waits");
    }

    #[test]
    fn a_heartbeat_skips_a_follower_that_just_heard_everything_and_probes_one_that_did_not_answer() {
        let mut raft = answered_leader();
        let heartbeat = raft.config().heartbeat_ticks;
        let mut tick = 0;
        let mut tick_and_send = |raft: &mut Raft| {
            raft.tick();
            tick += 1;
            (tick, appends(&raft.take_ready()))
        };
        while tick_and_send(&mut raft).0 < heartbeat / 2 {}
        // Mid-way to the heartbeat a proposal goes out; follower 1 answers it and then the commit announcement,
        // follower 2 answers nothing.
        raft.propose(vec![1]).unwrap();
        raft.take_ready();
        ack(&mut raft, 1, 1);
        let announced = loop {
            let (at, sent) = tick_and_send(&mut raft);
            if !sent.is_empty() {
                break (at, sent);
            }
        };
        assert_eq!(announced.1, vec![(1, 0, 1)]);
        ack(&mut raft, 1, 1);
        let at_heartbeat = loop {
            let (at, sent) = tick_and_send(&mut raft);
            if at == heartbeat {
                break sent;
            }
            assert!(sent.is_empty(), "nothing but the heartbeat: {sent:?} at tick {at}");
        };
        assert_eq!(
            at_heartbeat,
            vec![(2, 0, 1)],
            "follower 1 heard it all {} ticks ago; follower 2 is probed",
            heartbeat - announced.0
        );
    }

    #[test]
    fn a_follower_silent_for_long_is_probed_every_other_heartbeat() {
        let mut raft = leader();
        let heartbeat = raft.config().heartbeat_ticks;
        let mut probed = Vec::new();
        for beat in 1..=10 {
            for _ in 0..heartbeat {
                raft.tick();
                if raft.take_ready().messages.iter().any(|(to, _)| *to == 2) {
                    probed.push(beat);
                }
            }
            ack(&mut raft, 1, 0);
        }
        assert_eq!(probed, vec![1, 2, 3, 5, 7, 9], "every heartbeat at first, then every other");
    }

    #[test]
    fn an_unanswered_request_is_sent_again_once_to_an_answering_follower_only() {
        let mut raft = answered_leader();
        raft.propose(vec![1]).unwrap();
        raft.take_ready();
        ack(&mut raft, 2, 1); // follower 1's request or its reply is lost
        let mut resent = Vec::new();
        for tick in 1..raft.config().heartbeat_ticks {
            raft.tick();
            for (to, entries, _) in appends(&raft.take_ready()) {
                if to == 1 {
                    resent.push((tick, to, entries));
                }
            }
        }
        assert_eq!(resent, vec![(RETRANSMIT_TICKS as u32, 1, 1)], "sent again once, with its entry");

        // A lost heartbeat is sent again too, once the follower answered the heartbeat before it.
        let mut raft = answered_leader();
        let heartbeat = raft.config().heartbeat_ticks;
        let retransmit = RETRANSMIT_TICKS as u32;
        let mut sent = Vec::new();
        for tick in 1..=3 * heartbeat + retransmit {
            raft.tick();
            for (to, entries, _) in appends(&raft.take_ready()) {
                sent.push((tick, to, entries));
            }
            if tick == heartbeat {
                ack(&mut raft, 1, 0);
                ack(&mut raft, 2, 0);
            } else if tick == 2 * heartbeat || tick == 3 * heartbeat {
                ack(&mut raft, 2, 0); // follower 1 stops answering
            }
        }
        let expected = [(heartbeat, 1), (heartbeat, 2), (2 * heartbeat, 1), (2 * heartbeat, 2)]
            .into_iter()
            .chain([(2 * heartbeat + retransmit, 1), (3 * heartbeat, 1), (3 * heartbeat, 2)])
            .map(|(tick, to)| (tick, to, 0))
            .collect::<Vec<_>>();
        assert_eq!(sent, expected, "the lost heartbeat alone is sent again, and once only while unanswered");

        // A resend that goes unanswered is not repeated after the next heartbeat, which still probes.
        let mut raft = answered_leader();
        raft.propose(vec![1]).unwrap();
        raft.take_ready();
        ack(&mut raft, 2, 1);
        let mut to_follower_1 = Vec::new();
        for tick in 1..=heartbeat + retransmit {
            raft.tick();
            for (to, entries, _) in appends(&raft.take_ready()) {
                if to == 1 {
                    to_follower_1.push((tick, entries));
                }
            }
        }
        assert_eq!(to_follower_1, vec![(retransmit, 1), (heartbeat, 0)], "resent once, then only probed");

        // A follower silent since before the last heartbeat is left to the heartbeat's probes.
        let mut raft = leader();
        let heartbeat = raft.config().heartbeat_ticks;
        for _ in 0..=2 * heartbeat {
            raft.tick();
            raft.take_ready();
        }
        raft.propose(vec![1]).unwrap();
        raft.take_ready();
        for _ in 0..RETRANSMIT_TICKS {
            raft.tick();
            assert!(raft.take_ready().messages.is_empty(), "nothing resent to followers that never answered");
        }
    }

    /// Peer 0 of 3 the moment it wins its first election, with nothing sent yet.
    fn just_elected() -> Raft {
        let mut raft = peer(0, 3);
        tick_until_candidate(&mut raft);
        raft.handle_reply(1, Reply::Vote(RequestVoteReply { term: 1, vote_granted: true })).unwrap();
        assert_eq!(raft.state(), (1, true));
        assert!(raft.take_ready().messages.is_empty(), "no heartbeat at once");
        raft
    }

    #[test]
    fn a_new_leader_announces_itself_with_its_first_proposal_or_soon_after_winning() {
        let mut raft = just_elected();
        for tick in 1..=NEW_LEADER_QUIET_TICKS {
            raft.tick();
            let sent = appends(&raft.take_ready());
            if tick < NEW_LEADER_QUIET_TICKS {
                assert!(sent.is_empty(), "quiet at tick {tick}");
            } else {
                assert_eq!(sent, vec![(1, 0, 0), (2, 0, 0)], "the first heartbeat");
            }
        }

        // A proposal made meanwhile announces the leader and carries the entry: one request per follower.
        let mut raft = just_elected();
        raft.tick();
        raft.propose(vec![1]).unwrap();
        assert_eq!(appends(&raft.take_ready()), vec![(1, 1, 0), (2, 1, 0)]);
        for _ in 2..NEW_LEADER_QUIET_TICKS {
            raft.tick();
            let more = raft.take_ready().messages;
            assert!(more.is_empty(), "nothing more until the first heartbeat: {more:?}");
        }

        // A peer that answered the vote is known to answer: its lost first heartbeat is sent again. The peer that
        // never answered is left to the heartbeats.
        let mut raft = just_elected();
        let quiet = NEW_LEADER_QUIET_TICKS;
        let mut sent = Vec::new();
        for tick in 1..=quiet + RETRANSMIT_TICKS as u32 {
            raft.tick();
            sent.extend(appends(&raft.take_ready()).into_iter().map(|(to, _, _)| (tick, to)));
        }
        assert_eq!(sent, vec![(quiet, 1), (quiet, 2), (quiet + RETRANSMIT_TICKS as u32, 1)]);
    }

    /// A leader whose followers both answered its first heartbeat, so each is idle and known to be answering.
    fn answered_leader() -> Raft {
        let mut raft = leader();
        ack(&mut raft, 1, 0);
        ack(&mut raft, 2, 0);
        raft
    }

    fn ack(raft: &mut Raft, follower: PeerId, match_index: Index) {
        let ack = AppendEntriesReply { term: 1, success: true, match_index, conflict_term: None, conflict_index: 0 };
        raft.handle_reply(follower, Reply::Append(ack)).unwrap();
    }

    /// The entries each AppendEntries in `ready` carries and the commit index it announces.
    fn appends(ready: &Ready) -> Vec<(PeerId, usize, Index)> {
        ready
            .messages
            .iter()
            .map(|(to, m)| match m {
                Request::Append(a) => (*to, a.entries.len(), a.leader_commit),
                other => panic!("expected AppendEntries, sent {other:?}"),
            })
            .collect()
    }

    #[test]
    fn heartbeat_pacing_holds_proposals_follow_ups_and_commits_until_the_next_heartbeat() {
        let mut raft = peer(0, 3);
        raft.cfg.pacing = Pacing::Heartbeat;
        tick_until_candidate(&mut raft);
        raft.handle_reply(1, Reply::Vote(RequestVoteReply { term: 1, vote_granted: true })).unwrap();
        raft.take_ready();
        for _ in 0..NEW_LEADER_QUIET_TICKS {
            raft.tick();
        }
        assert_eq!(appends(&raft.take_ready()).len(), 2, "a new leader announces itself soon after winning");
        ack(&mut raft, 1, 0);
        ack(&mut raft, 2, 0);
        let heartbeat = raft.config().heartbeat_ticks;

        raft.propose(vec![1]).unwrap();
        assert!(raft.take_ready().messages.is_empty(), "a proposal waits for the heartbeat");
        for _ in 1..heartbeat {
            raft.tick();
            assert!(raft.take_ready().messages.is_empty());
        }
        raft.tick();
        assert_eq!(appends(&raft.take_ready()), vec![(1, 1, 0), (2, 1, 0)], "the heartbeat carries the entry");

        ack(&mut raft, 1, 1);
        let ready = raft.take_ready();
        assert_eq!(raft.status().commit_index, 1);
        assert_eq!(ready.apply.len(), 1, "the leader applies as soon as a majority holds the entry");
        raft.propose(vec![2]).unwrap();
        ack(&mut raft, 2, 1);
        assert!(raft.take_ready().messages.is_empty(), "no follow-up to a follower that lacks entry 2");
        for _ in 1..heartbeat {
            raft.tick();
            assert!(raft.take_ready().messages.is_empty(), "nor an early commit announcement");
        }
        raft.tick();
        assert_eq!(appends(&raft.take_ready()), vec![(1, 1, 1), (2, 1, 1)], "entry 2 and commit 1 ride together");
    }

    #[test]
    fn the_leader_hint_is_the_leader_heard_in_the_current_term() {
        let mut raft = peer(0, 3);
        assert_eq!(raft.leader(), None, "a fresh peer knows no leader");
        raft.handle_request(append(2, 1, (0, 0), &[], 0)).unwrap();
        assert_eq!(raft.leader(), Some(1));
        raft.handle_request(append(1, 2, (0, 0), &[], 0)).unwrap();
        assert_eq!(raft.leader(), Some(1), "a stale leader's request changes nothing");
        raft.handle_request(Request::Vote(RequestVote { term: 3, candidate: 2, last_log_index: 0, last_log_term: 0 }))
            .unwrap();
        assert_eq!(raft.leader(), None, "term 2's leader is no hint in term 3");
        raft.handle_request(append(3, 2, (0, 0), &[], 0)).unwrap();
        assert_eq!((raft.leader(), raft.status().leader), (Some(2), Some(2)));
        tick_until_candidate(&mut raft);
        assert_eq!(raft.leader(), None, "a candidate knows no leader");
        raft.handle_reply(1, Reply::Vote(RequestVoteReply { term: 4, vote_granted: true })).unwrap();
        assert_eq!(raft.leader(), Some(0), "a leader names itself");
    }
}

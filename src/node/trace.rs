//! Structured `tracing` events that let a run be read afterwards, one column per peer (tools/raftlog.py).
//!
//! The core stays silent (it is pure); the event loop compares the core's [`Status`] after each turn with the
//! one before and reports what changed: role, term, vote, log end, commit index, snapshot. It also reports every
//! request it sends and handles and every persist. Each event carries `peer`, `term` and `role`, and an `event`
//! name the viewer filters on.
//!
//! Nothing is printed unless someone installs a subscriber. [`init_from_env`] installs raftcore's own when the
//! `RAFT_LOG` environment variable holds a filter (`info`, `debug`, `trace`, or any `tracing` directive): JSON
//! lines on stderr with wall-clock timestamps, so the lines of several processes merge into one timeline. A Rust
//! host that installed its own subscriber keeps it.

use std::sync::Once;

use tracing::{debug, info, trace, warn};

use crate::core::{PeerId, Request, Role, Status};

/// The environment variable holding the filter for raftcore's own subscriber.
pub const LOG_ENV: &str = "RAFT_LOG";

/// Installs raftcore's JSON subscriber if `RAFT_LOG` is set and no other global subscriber exists; only the
/// first call does anything.
pub fn init_from_env() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let Ok(filter) = std::env::var(LOG_ENV) else {
            return;
        };
        let Ok(filter) = tracing_subscriber::EnvFilter::try_new(filter.trim()) else {
            eprintln!("raftcore: {LOG_ENV}={filter:?} is not a valid filter (try info, debug or trace)");
            return;
        };
        // Fails only when the host already installed a subscriber, which then receives the events instead.
        let _ = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_target(false)
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
    });
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Follower => "follower",
        Role::Candidate => "candidate",
        Role::Leader => "leader",
    }
}

/// What one peer last reported, to report only changes.
pub(super) struct Tracer {
    me: PeerId,
    last: Status,
}

impl Tracer {
    pub(super) fn new(me: PeerId, status: Status) -> Tracer {
        let role = role_name(status.role);
        info!(
            peer = me,
            term = status.term,
            role,
            event = "start",
            last_index = status.last_index,
            snapshot_index = status.snapshot_index,
            "started"
        );
        Tracer { me, last: status }
    }

    /// Reports the differences between the core's status now and after the previous turn.
    pub(super) fn after_turn(&mut self, now: Status) {
        let (me, was) = (self.me, &self.last);
        if now == *was {
            return;
        }
        let (term, role) = (now.term, role_name(now.role));
        if now.term != was.term {
            info!(peer = me, term, role, event = "term", from = was.term, "term {} -> {}", was.term, term);
        }
        if now.role != was.role {
            info!(peer = me, term, role, event = "role", from = role_name(was.role), "became {role}");
        }
        if now.voted_for != was.voted_for {
            if let Some(candidate) = now.voted_for {
                info!(peer = me, term, role, event = "vote", candidate, "voted for {candidate}");
            }
        }
        if now.last_index != was.last_index {
            debug!(
                peer = me,
                term,
                role,
                event = "log",
                last_index = now.last_index,
                from = was.last_index,
                "log ends at {}",
                now.last_index
            );
        }
        if now.commit_index != was.commit_index {
            info!(
                peer = me,
                term,
                role,
                event = "commit",
                commit_index = now.commit_index,
                "committed through {}",
                now.commit_index
            );
        }
        if now.snapshot_index != was.snapshot_index {
            info!(
                peer = me,
                term,
                role,
                event = "snapshot",
                snapshot_index = now.snapshot_index,
                "snapshot through {}",
                now.snapshot_index
            );
        }
        self.last = now;
    }

    pub(super) fn sent(&self, to: PeerId, request: &Request) {
        self.request("send", to, request);
    }

    pub(super) fn handled(&self, request: &Request) {
        let from = match request {
            Request::Vote(m) => m.candidate,
            Request::Append(m) => m.leader,
            Request::Snapshot(m) => m.leader,
        };
        self.request("recv", from, request);
    }

    fn request(&self, event: &'static str, other: PeerId, request: &Request) {
        let (me, term, role) = (self.me, self.last.term, role_name(self.last.role));
        match request {
            Request::Vote(m) => debug!(
                peer = me,
                term,
                role,
                event,
                other,
                kind = "RequestVote",
                msg_term = m.term,
                last_log_index = m.last_log_index,
                last_log_term = m.last_log_term,
                "{event} RequestVote {other}"
            ),
            Request::Append(m) => debug!(
                peer = me,
                term,
                role,
                event,
                other,
                kind = "AppendEntries",
                msg_term = m.term,
                prev_log_index = m.prev_log_index,
                entries = m.entries.len(),
                leader_commit = m.leader_commit,
                "{event} AppendEntries {other}"
            ),
            Request::Snapshot(m) => debug!(
                peer = me,
                term,
                role,
                event,
                other,
                kind = "InstallSnapshot",
                msg_term = m.term,
                last_included_index = m.last_included_index,
                bytes = m.data.len(),
                "{event} InstallSnapshot {other}"
            ),
        }
    }

    pub(super) fn refused(&self, other: PeerId, message: &str) {
        let (me, term, role) = (self.me, self.last.term, role_name(self.last.role));
        warn!(peer = me, term, role, event = "refused", other, "{message}");
    }

    pub(super) fn persisted(&self, bytes: usize) {
        trace!(
            peer = self.me,
            term = self.last.term,
            role = role_name(self.last.role),
            event = "persist",
            bytes,
            "persisted {bytes} bytes"
        );
    }
}

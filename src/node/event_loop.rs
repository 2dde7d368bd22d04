//! The event-loop thread: the only owner of the core, its timer and the table of outstanding requests.
//!
//! Each turn takes a batch of commands (up to [`MAX_BATCH`], so bursts of proposals share one persist), runs the
//! ticks that fell due, and then carries out the batch's `Ready` in the core's order: persist, send, queue the
//! applies, and only then answer the callers, whose replies may depend on what was just persisted.
//!
//! A service snapshot given far behind the log's end is the exception: nobody waits for it. A service may snapshot
//! after every entry it applies (the lab's key/value servers do, once Raft's state passes their limit), and each
//! snapshot the core takes costs a persist as long as the log after it. Taken one by one, with the service waiting
//! for each, a follower that fell behind would pay a persist of its whole backlog per entry it applies, its
//! backlog would grow while it paid, and it would never catch up. So, far behind, the newest snapshot waits in
//! [`Shared`], taking the place of any older one, and the core takes it when the loop's next turn reaches the
//! [`Command::SnapshotOffered`] sent with the first of them: the snapshots given during a turn share one persist. Nothing depends on such a snapshot being persisted: until it
//! is, the persisted state is the previous snapshot with the log after it, which a restart replays.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};

use crate::core::{Apply, Index, InvalidMessage, NotLeader, PeerId, Raft, Reply, Request, RpcKind, Term};

use super::config::TICK;
use super::host::{Host, LogLevel};
use super::shared::{Fault, Shared};
use super::trace::Tracer;
use super::{panic_message, NodeError, Proposal};

/// Commands taken per turn before the turn's persist.
const MAX_BATCH: usize = 64;
/// Ticks run at once after the loop fell behind (a slow callback). Dropping the rest stretches time instead of
/// firing a burst of timeouts that the slowness itself caused.
const MAX_CATCH_UP_TICKS: u32 = 5;
/// Requests remembered while their replies are awaited. A host that never reports some calls would otherwise
/// grow the table forever; the oldest are forgotten, and a late reply to one is ignored like any unknown id.
const MAX_OUTSTANDING: usize = 1 << 16;

/// Where the event loop sends a caller's answer.
pub(super) type Responder = Sender<Result<Outcome, NodeError>>;

/// A successful answer to a [`Command`].
#[derive(Debug)]
pub(super) enum Outcome {
    Proposed(Proposal),
    Reply(Reply),
    Done,
}

/// Work posted to the event loop.
pub(super) enum Command {
    Propose {
        command: Vec<u8>,
        reply: Responder,
    },
    Request {
        request: Request,
        reply: Responder,
    },
    Reply {
        req_id: u64,
        reply: Option<Reply>,
        done: Responder,
    },
    Snapshot {
        index: Index,
        data: Vec<u8>,
        reply: Responder,
    },
    /// The service left a snapshot in [`Shared`] where none was (not answered: nobody waits). One is sent per
    /// snapshot left in an empty place, so the newest is always taken by the turn that handles it.
    SnapshotOffered,
    Stop,
    /// Lets tests check that a panic on the loop is contained.
    #[cfg(test)]
    Panic,
}

pub(super) struct EventLoop<H: Host> {
    core: Raft,
    host: Arc<H>,
    shared: Arc<Shared>,
    commands: Receiver<Command>,
    applies: Sender<Apply>,
    outstanding: BTreeMap<u64, (PeerId, RpcKind)>,
    next_req_id: u64,
    next_tick: Instant,
    published: (Term, bool),
    tracer: Tracer,
}

impl<H: Host> EventLoop<H> {
    pub(super) fn new(
        core: Raft,
        host: Arc<H>,
        shared: Arc<Shared>,
        commands: Receiver<Command>,
        applies: Sender<Apply>,
    ) -> EventLoop<H> {
        let published = core.state();
        let tracer = Tracer::new(core.config().me, core.status());
        EventLoop {
            core,
            host,
            shared,
            commands,
            applies,
            outstanding: BTreeMap::new(),
            next_req_id: 1,
            next_tick: Instant::now() + TICK,
            published,
            tracer,
        }
    }

    /// The thread's body: runs until killed or faulted, and turns a panic into a fault.
    pub(super) fn run_guarded(self) {
        self.shared.register_event_loop();
        let (shared, host) = (Arc::clone(&self.shared), Arc::clone(&self.host));
        if let Err(payload) = catch_unwind(AssertUnwindSafe(move || self.run())) {
            let message = format!("event loop panicked: {}", panic_message(&*payload));
            shared.set_fault(Fault::Panicked, message.clone());
            super::log_guarded(&*host, LogLevel::Error, &message);
        }
    }

    fn run(mut self) {
        let mut pending = Vec::new();
        while self.shared.running() {
            let timeout = self.next_tick.saturating_duration_since(Instant::now());
            let first = crossbeam_channel::select! {
                recv(self.commands) -> command => match command {
                    Ok(command) => Some(command),
                    Err(_) => return,
                },
                default(timeout) => None,
            };
            if let Some(command) = first {
                if !self.handle(command, &mut pending) {
                    return;
                }
                for _ in 1..MAX_BATCH {
                    let Ok(command) = self.commands.try_recv() else {
                        break;
                    };
                    if !self.handle(command, &mut pending) {
                        return;
                    }
                }
            }
            self.tick_if_due();
            if !self.flush(&mut pending) {
                return;
            }
        }
    }

    /// Feeds one command to the core; its answer waits in `pending` until the turn's `Ready` is carried out.
    /// Returns false on [`Command::Stop`].
    fn handle(&mut self, command: Command, pending: &mut Vec<(Responder, Result<Outcome, NodeError>)>) -> bool {
        match command {
            Command::Propose { command, reply } => {
                let proposal = match self.core.propose(command) {
                    Ok((index, term)) => Proposal { index, term, is_leader: true },
                    Err(NotLeader { term }) => Proposal { index: 0, term, is_leader: false },
                };
                pending.push((reply, Ok(Outcome::Proposed(proposal))));
            }
            Command::Request { request, reply } => {
                self.tracer.handled(&request);
                let sender = request.sender();
                let outcome = match self.core.handle_request(request) {
                    Ok(answer) => Ok(Outcome::Reply(answer)),
                    Err(e) => {
                        self.refused(sender, "request", &e);
                        Err(NodeError::Malformed(e.to_string()))
                    }
                };
                pending.push((reply, outcome));
            }
            Command::Reply { req_id, reply, done } => {
                self.complete_request(req_id, reply);
                pending.push((done, Ok(Outcome::Done)));
            }
            Command::Snapshot { index, data, reply } => {
                let outcome = self.core.snapshot(index, data).map(|_| Outcome::Done).map_err(NodeError::from);
                pending.push((reply, outcome));
            }
            Command::SnapshotOffered => self.take_service_snapshot(),
            Command::Stop => return false,
            #[cfg(test)]
            Command::Panic => panic!("panic injected by a test"),
        }
        true
    }

    fn complete_request(&mut self, req_id: u64, reply: Option<Reply>) {
        let Some((peer, kind)) = self.outstanding.remove(&req_id) else {
            return;
        };
        match reply {
            Some(reply) if reply.kind() == kind => {
                if let Err(e) = self.core.handle_reply(peer, reply) {
                    self.refused(peer, "reply", &e);
                }
            }
            Some(reply) => {
                let message = format!("peer {peer} answered a {kind:?} request with a {:?} reply", reply.kind());
                self.log(LogLevel::Warn, &message);
            }
            None => {}
        }
    }

    /// Hands the service's newest snapshot to the core, if it was not taken already. A snapshot the leader
    /// installed meanwhile may have made it stale, and the core then ignores it.
    fn take_service_snapshot(&mut self) {
        let Some((index, data)) = self.shared.take_snapshot() else {
            return;
        };
        // The caller checked the index against what the applier handed over, which the core had applied first;
        // a refusal would be a bug here, so it is reported rather than hidden.
        if let Err(e) = self.core.snapshot(index, data) {
            self.log(LogLevel::Error, &format!("service snapshot refused: {e}"));
        }
    }

    fn tick_if_due(&mut self) {
        let now = Instant::now();
        if now < self.next_tick {
            return;
        }
        let due = (now - self.next_tick).as_nanos() / TICK.as_nanos() + 1;
        for _ in 0..due.min(u128::from(MAX_CATCH_UP_TICKS)) {
            self.core.tick();
        }
        self.next_tick += TICK * u32::try_from(due).unwrap_or(u32::MAX);
    }

    /// Carries out the core's `Ready` (persist, send, queue applies), then answers the turn's callers.
    /// Returns false when the instance must stop.
    fn flush(&mut self, pending: &mut Vec<(Responder, Result<Outcome, NodeError>)>) -> bool {
        // The state to persist stays in the core (it is as long as the log), and the host copies it once.
        let (ready, persist) = self.core.take_ready_in_place();
        if persist {
            if !self.shared.running() {
                return false;
            }
            let state = self.core.persisted_state();
            if let Err(e) = self.host.persist(state, self.core.snapshot_data()) {
                let message = format!("persist failed ({e}); the instance stopped");
                self.log(LogLevel::Error, &message);
                self.shared.set_fault(Fault::CallbackFailed, message);
                return false;
            }
            self.shared.publish_persist_bytes(state.len() as u64);
            self.tracer.persisted(state.len());
        }
        self.tracer.after_turn(self.core.status());
        self.publish_state();
        self.shared.publish_last_index(self.core.log().last_index());
        for (peer, request) in ready.messages {
            if !self.shared.running() {
                return false;
            }
            let req_id = self.next_req_id;
            self.next_req_id += 1;
            self.outstanding.insert(req_id, (peer, request.kind()));
            self.tracer.sent(peer, &request);
            self.host.send_rpc(peer, request.kind(), req_id, &request.encode());
        }
        while self.outstanding.len() > MAX_OUTSTANDING {
            self.outstanding.pop_first();
        }
        for apply in ready.apply {
            // Fails only once the applier has stopped, and then nothing more is to be delivered.
            let _ = self.applies.send(apply);
        }
        for (responder, outcome) in pending.drain(..) {
            // The caller may have stopped waiting (the instance was killed meanwhile).
            let _ = responder.send(outcome);
        }
        self.shared.running()
    }

    fn publish_state(&mut self) {
        // A follower learns its leader without a change of term or role, so the hint is published every turn.
        self.shared.publish_leader_hint(self.core.leader());
        let (term, is_leader) = self.core.state();
        if (term, is_leader) == self.published {
            return;
        }
        let was_leader = self.published.1;
        self.published = (term, is_leader);
        self.shared.publish_state(term, is_leader);
        if is_leader && !was_leader {
            self.log(LogLevel::Info, &format!("became leader in term {term}"));
        } else if was_leader && !is_leader {
            self.log(LogLevel::Info, &format!("stepped down in term {term}"));
        }
    }

    /// Reports a message the core refused. Only a broken or hostile peer sends one (a term past the bound, an
    /// entry contradicting a committed one), so the host's operator is told, not only the caller's status code.
    fn refused(&self, peer: PeerId, what: &str, error: &InvalidMessage) {
        let message = format!("refused a {what} from peer {peer}: {error}");
        self.tracer.refused(peer, &message);
        self.log(LogLevel::Warn, &message);
    }

    fn log(&self, level: LogLevel, message: &str) {
        if self.shared.running() {
            self.host.log(level, message);
        }
    }
}

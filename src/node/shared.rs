//! What a node's threads and its callers share: lifecycle flags and the values the event loop publishes.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::OnceLock;
use std::thread::{self, ThreadId};

use parking_lot::Mutex;

use crate::core::{Index, PeerId, Term};

use super::NodeError;

/// Why an instance stopped by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fault {
    /// A host callback reported failure.
    CallbackFailed = 1,
    /// A panic was caught.
    Panicked = 2,
}

/// `leader_hint`'s value for "none": peer ids stay below `MAX_PEERS`.
const NO_LEADER: PeerId = PeerId::MAX;

pub(super) struct Shared {
    killed: AtomicBool,
    fault: AtomicU8,
    fault_message: Mutex<String>,
    /// `term << 1 | is_leader`, so a reader never sees the term of one batch with the role of another. The shift
    /// loses nothing: the core refuses terms past `MAX_TERM` (2^62 − 1), and elections count up from there.
    term_and_leader: AtomicU64,
    /// The core's leader hint, [`NO_LEADER`] when it has none.
    leader_hint: AtomicU32,
    persist_bytes: AtomicU64,
    /// The index of the last apply the applier began handing to the host: the service may snapshot through it.
    handed_over: AtomicU64,
    /// The core's last log index, as of the event loop's last turn.
    last_index: AtomicU64,
    /// The service's newest snapshot that the event loop has not taken yet (see the event loop's doc).
    pending_snapshot: Mutex<Option<(Index, Vec<u8>)>>,
    event_loop: OnceLock<ThreadId>,
}

impl Shared {
    pub(super) fn new(term: Term, is_leader: bool, persist_bytes: u64, applied: Index, last_index: Index) -> Shared {
        let shared = Shared {
            killed: AtomicBool::new(false),
            fault: AtomicU8::new(0),
            fault_message: Mutex::new(String::new()),
            term_and_leader: AtomicU64::new(0),
            leader_hint: AtomicU32::new(NO_LEADER),
            persist_bytes: AtomicU64::new(persist_bytes),
            handed_over: AtomicU64::new(applied),
            last_index: AtomicU64::new(last_index),
            pending_snapshot: Mutex::new(None),
            event_loop: OnceLock::new(),
        };
        shared.publish_state(term, is_leader);
        shared
    }

    /// True while the instance may still run callbacks.
    pub(super) fn running(&self) -> bool {
        !self.killed.load(Ordering::Acquire) && self.fault.load(Ordering::Acquire) == 0
    }

    /// `Ok` while the instance is running, else the error that says why it is not.
    pub(super) fn check(&self) -> Result<(), NodeError> {
        if self.running() {
            Ok(())
        } else {
            Err(self.stopped_error())
        }
    }

    /// The error for a call that found the instance stopped.
    pub(super) fn stopped_error(&self) -> NodeError {
        if self.killed.load(Ordering::Acquire) {
            return NodeError::Closed;
        }
        match self.fault() {
            Some((Fault::Panicked, message)) => NodeError::Panicked(message),
            Some((Fault::CallbackFailed, message)) => NodeError::CallbackFailed(message),
            None => NodeError::Closed,
        }
    }

    /// Marks the instance killed; false if it already was.
    pub(super) fn mark_killed(&self) -> bool {
        !self.killed.swap(true, Ordering::AcqRel)
    }

    /// Records a fault; a panic outranks a failed callback, and the first message of a rank is kept.
    pub(super) fn set_fault(&self, fault: Fault, message: String) {
        let mut current = self.fault_message.lock();
        if (fault as u8) > self.fault.load(Ordering::Acquire) {
            *current = message;
            self.fault.store(fault as u8, Ordering::Release);
        }
    }

    pub(super) fn fault(&self) -> Option<(Fault, String)> {
        let message = self.fault_message.lock();
        let fault = match self.fault.load(Ordering::Acquire) {
            1 => Fault::CallbackFailed,
            2 => Fault::Panicked,
            _ => return None,
        };
        Some((fault, message.clone()))
    }

    pub(super) fn publish_state(&self, term: Term, is_leader: bool) {
        self.term_and_leader.store(term << 1 | u64::from(is_leader), Ordering::Release);
    }

    pub(super) fn term_and_leader(&self) -> (Term, bool) {
        let packed = self.term_and_leader.load(Ordering::Acquire);
        (packed >> 1, packed & 1 == 1)
    }

    pub(super) fn publish_leader_hint(&self, leader: Option<PeerId>) {
        self.leader_hint.store(leader.unwrap_or(NO_LEADER), Ordering::Release);
    }

    pub(super) fn leader_hint(&self) -> Option<PeerId> {
        Some(self.leader_hint.load(Ordering::Acquire)).filter(|&leader| leader != NO_LEADER)
    }

    pub(super) fn publish_persist_bytes(&self, len: u64) {
        self.persist_bytes.store(len, Ordering::Release);
    }

    pub(super) fn persist_bytes(&self) -> u64 {
        self.persist_bytes.load(Ordering::Acquire)
    }

    pub(super) fn publish_handed_over(&self, index: Index) {
        self.handed_over.store(index, Ordering::Release);
    }

    pub(super) fn handed_over(&self) -> Index {
        self.handed_over.load(Ordering::Acquire)
    }

    pub(super) fn publish_last_index(&self, index: Index) {
        self.last_index.store(index, Ordering::Release);
    }

    pub(super) fn last_index(&self) -> Index {
        self.last_index.load(Ordering::Acquire)
    }

    /// Keeps the service's snapshot through `index` for the event loop, unless the one kept already reaches as
    /// far. Returns true when none was kept: the loop has to be told (it was told of any kept one already).
    pub(super) fn offer_snapshot(&self, index: Index, data: &[u8]) -> bool {
        let mut pending = self.pending_snapshot.lock();
        let was_empty = pending.is_none();
        if pending.as_ref().is_none_or(|(kept, _)| index > *kept) {
            *pending = Some((index, data.to_vec()));
        }
        was_empty
    }

    pub(super) fn take_snapshot(&self) -> Option<(Index, Vec<u8>)> {
        self.pending_snapshot.lock().take()
    }

    /// Called first thing on the event-loop thread, so a callback can never run before it is known.
    pub(super) fn register_event_loop(&self) {
        let _ = self.event_loop.set(thread::current().id());
    }

    pub(super) fn on_event_loop(&self) -> bool {
        self.event_loop.get() == Some(&thread::current().id())
    }
}

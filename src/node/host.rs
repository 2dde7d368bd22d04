//! What a node needs from the program that embeds it: a transport, stable storage, the service, and a log.

use crate::core::{Apply, PeerId, RpcKind};

/// A host callback's failure, with the code it returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("host callback returned {0}")]
pub struct CallbackError(pub i32);

/// Severity of a [`Host::log`] message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(i32)]
pub enum LogLevel {
    /// The instance stopped or lost something.
    Error = 1,
    /// Something the host should look at; the instance carries on.
    Warn = 2,
    /// Leadership changes and lifecycle events.
    Info = 3,
    /// Detail for debugging.
    Debug = 4,
}

/// The host side of a [`Node`](super::Node).
///
/// The event-loop thread calls [`send_rpc`](Host::send_rpc) and [`persist`](Host::persist); the applier thread
/// calls [`apply`](Host::apply); either may call [`log`](Host::log). No node lock is held during any call.
///
/// To keep the node correct and live, an implementation must:
/// 1. never call, from inside `send_rpc`, `persist` or `log`, a node method that waits for the event loop
///    (`propose`, `snapshot`, `handle_rpc`, `rpc_reply`): the loop is the thread making the call. Such calls
///    return [`NodeError::Reentrant`](super::NodeError::Reentrant) instead of deadlocking;
/// 2. deliver each `send_rpc` request asynchronously and later report it with exactly one
///    [`Node::rpc_reply`](super::Node::rpc_reply) (a lost call too, as `None`);
/// 3. make `persist` durable and atomic (state and snapshot together) before it returns `Ok`;
/// 4. let a blocked `apply` return once the host decides to kill the node, before calling
///    [`Node::kill`](super::Node::kill), which joins the applier.
pub trait Host: Send + Sync + 'static {
    /// Sends `request` (wire bytes of a [`Request`](crate::core::Request) of `kind`) to `peer`. Must not block.
    fn send_rpc(&self, peer: PeerId, kind: RpcKind, req_id: u64, request: &[u8]);

    /// Saves the raft state and the current snapshot together. An error stops the node.
    fn persist(&self, state: &[u8], snapshot: &[u8]) -> Result<(), CallbackError>;

    /// Hands a committed command or an installed snapshot to the service, in order. May block; an error means
    /// the host is shutting the node down, and the applier stops.
    fn apply(&self, msg: &Apply) -> Result<(), CallbackError>;

    /// A diagnostic message. Must not block.
    fn log(&self, level: LogLevel, message: &str) {
        let _ = (level, message);
    }
}

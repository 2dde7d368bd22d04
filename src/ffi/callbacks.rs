//! The host's C callback table as a [`Host`].

use std::ptr;

use crate::core::{Apply, PeerId, RpcKind};
use crate::node::{CallbackError, Host, LogLevel};

use super::boundary::Failure;
use super::types::{RaftApplyMsg, RaftCallbacks, RaftLogFn, RaftLogLevel, RaftRpcKind};

type SendRpc = unsafe extern "C" fn(u64, u32, u32, u64, *const u8, usize);
type Persist = unsafe extern "C" fn(u64, *const u8, usize, *const u8, usize) -> i32;
type ApplyFn = unsafe extern "C" fn(u64, *const RaftApplyMsg) -> i32;

/// The callbacks given to `raft_make`, with the required ones checked present.
pub(crate) struct CallbackHost {
    user: u64,
    send_rpc: SendRpc,
    persist: Persist,
    apply: ApplyFn,
    log: RaftLogFn,
}

impl CallbackHost {
    pub(super) fn new(cbs: &RaftCallbacks) -> Result<CallbackHost, Failure> {
        Ok(CallbackHost {
            user: cbs.user,
            send_rpc: cbs.send_rpc.ok_or_else(|| Failure::null("cbs->send_rpc"))?,
            persist: cbs.persist.ok_or_else(|| Failure::null("cbs->persist"))?,
            apply: cbs.apply.ok_or_else(|| Failure::null("cbs->apply"))?,
            log: cbs.log,
        })
    }
}

/// C hosts may expect NULL rather than a dangling pointer for an empty buffer.
fn data_ptr(bytes: &[u8]) -> *const u8 {
    if bytes.is_empty() {
        ptr::null()
    } else {
        bytes.as_ptr()
    }
}

// SAFETY (all calls below): `raft_make`'s contract makes every callback callable with these argument types from
// any thread for the instance's whole life; each pointer passed is valid for the stated length during the call.
impl Host for CallbackHost {
    fn send_rpc(&self, peer: PeerId, kind: RpcKind, req_id: u64, request: &[u8]) {
        let kind = RaftRpcKind::from(kind) as u32;
        unsafe { (self.send_rpc)(self.user, peer, kind, req_id, data_ptr(request), request.len()) }
    }

    fn persist(&self, state: &[u8], snapshot: &[u8]) -> Result<(), CallbackError> {
        let rc = unsafe { (self.persist)(self.user, data_ptr(state), state.len(), data_ptr(snapshot), snapshot.len()) };
        if rc == 0 {
            Ok(())
        } else {
            Err(CallbackError(rc))
        }
    }

    fn apply(&self, msg: &Apply) -> Result<(), CallbackError> {
        let msg = match msg {
            Apply::Command { index, term, command } => RaftApplyMsg {
                command_valid: true,
                snapshot_valid: false,
                index: *index,
                term: *term,
                data: data_ptr(command),
                len: command.len(),
            },
            Apply::Snapshot { index, term, data } => RaftApplyMsg {
                command_valid: false,
                snapshot_valid: true,
                index: *index,
                term: *term,
                data: data_ptr(data),
                len: data.len(),
            },
        };
        let rc = unsafe { (self.apply)(self.user, &msg) };
        if rc == 0 {
            Ok(())
        } else {
            Err(CallbackError(rc))
        }
    }

    fn log(&self, level: LogLevel, message: &str) {
        if let Some(log) = self.log {
            let level = RaftLogLevel::from(level) as i32;
            unsafe { log(self.user, level, data_ptr(message.as_bytes()), message.len()) }
        }
    }
}

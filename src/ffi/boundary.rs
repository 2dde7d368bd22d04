//! The panic boundary and argument checks every exported function goes through.
//!
//! A body returns `Result<(), Failure>`; [`guard`] turns that, or a caught panic, into a status code and an
//! optional message. Out-params are written by the bodies only after every check has passed and the work is
//! done, so a failure leaves them untouched.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use crate::node::{panic_message, NodeError, StartError};

use super::registry::{self, Instance};
use super::types::{RaftBuf, RaftStatus};

/// A failed call: the status to return and the message for `err`.
#[derive(Debug)]
pub(super) struct Failure {
    pub(super) status: RaftStatus,
    pub(super) message: String,
}

impl Failure {
    pub(super) fn new(status: RaftStatus, message: impl Into<String>) -> Failure {
        Failure { status, message: message.into() }
    }

    pub(super) fn null(what: &str) -> Failure {
        Failure::new(RaftStatus::NullArgument, format!("{what} is NULL"))
    }

    pub(super) fn invalid(message: impl Into<String>) -> Failure {
        Failure::new(RaftStatus::InvalidArgument, message)
    }
}

impl From<NodeError> for Failure {
    fn from(e: NodeError) -> Failure {
        let status = match &e {
            NodeError::Closed => RaftStatus::Closed,
            NodeError::CallbackFailed(_) => RaftStatus::CallbackFailed,
            NodeError::Panicked(_) => RaftStatus::Panic,
            NodeError::Malformed(_) => RaftStatus::Malformed,
            NodeError::OutOfRange(_) => RaftStatus::OutOfRange,
            NodeError::Reentrant => RaftStatus::InvalidArgument,
        };
        Failure::new(status, e.to_string())
    }
}

impl From<StartError> for Failure {
    fn from(e: StartError) -> Failure {
        let status = match &e {
            StartError::Config(_) => RaftStatus::InvalidArgument,
            StartError::Restore(_) => RaftStatus::CorruptState,
            StartError::Spawn(_) => RaftStatus::Internal,
        };
        Failure::new(status, e.to_string())
    }
}

/// Runs an exported body: catches panics, and reports a failure through the status and `err`.
///
/// # Safety
/// `err` is NULL or valid for writing a [`RaftBuf`].
pub(super) unsafe fn guard(err: *mut RaftBuf, body: impl FnOnce() -> Result<(), Failure>) -> i32 {
    let outcome = catch_unwind(AssertUnwindSafe(body))
        .unwrap_or_else(|payload| Err(Failure::new(RaftStatus::Panic, format!("panic: {}", panic_message(&*payload)))));
    match outcome {
        Ok(()) => RaftStatus::Ok as i32,
        Err(failure) => {
            if !err.is_null() {
                // SAFETY: the caller passes NULL or a writable RaftBuf.
                unsafe { err.write(RaftBuf::from_vec(failure.message.into_bytes())) };
            }
            failure.status as i32
        }
    }
}

/// [`guard`] for a body that works on one instance: resolves the handle, and poisons the instance if the body
/// panics, so it answers [`RaftStatus::Panic`] from then on.
///
/// # Safety
/// As for [`guard`].
pub(super) unsafe fn guard_instance(
    handle: u64,
    err: *mut RaftBuf,
    body: impl FnOnce(&Arc<Instance>) -> Result<(), Failure>,
) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe {
        guard(err, || {
            let instance = registry::get(handle)?;
            catch_unwind(AssertUnwindSafe(|| body(&instance))).unwrap_or_else(|payload| {
                let message = format!("panic: {}", panic_message(&*payload));
                instance.poison(message.clone());
                Err(Failure::new(RaftStatus::Panic, message))
            })
        })
    }
}

/// The bytes at `ptr`, borrowed for the call; a length of 0 is the empty slice whatever the pointer.
///
/// # Safety
/// When `len > 0`, `ptr` is NULL or points to `len` readable bytes that stay unchanged during the call.
pub(super) unsafe fn bytes<'a>(ptr: *const u8, len: usize, what: &str) -> Result<&'a [u8], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Failure::null(what));
    }
    if len > isize::MAX as usize {
        return Err(Failure::invalid(format!("{what} has an impossible length {len}")));
    }
    // SAFETY: non-NULL, and the caller guarantees `len` readable bytes.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Fails with NULL_ARGUMENT when an out-param is NULL; checked before any work, so nothing is half done.
pub(super) fn out<T>(ptr: *mut T, what: &str) -> Result<(), Failure> {
    if ptr.is_null() {
        Err(Failure::null(what))
    } else {
        Ok(())
    }
}

//! The applier thread: the only caller of [`Host::apply`], the one callback allowed to block.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use crate::core::Apply;

use super::host::{Host, LogLevel};
use super::shared::{Fault, Shared};
use super::STOP_POLL;

/// The thread's body: delivers applies in order until the instance stops or the host declines one.
pub(super) fn run_guarded<H: Host>(host: &H, shared: &Shared, applies: &Receiver<Apply>) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| run(host, shared, applies))) {
        let message = format!("applier panicked: {}", super::panic_message(&*payload));
        shared.set_fault(Fault::Panicked, message.clone());
        super::log_guarded(host, LogLevel::Error, &message);
    }
}

fn run<H: Host>(host: &H, shared: &Shared, applies: &Receiver<Apply>) {
    loop {
        // The queue disconnects when the event loop exits; polling also catches a kill made from inside a
        // callback on the loop, which cannot exit until that callback returns.
        let apply = match applies.recv_timeout(STOP_POLL) {
            Ok(apply) => apply,
            Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) if !shared.running() => return,
            Err(RecvTimeoutError::Timeout) => continue,
        };
        // A kill can land between two applies; none may start after it.
        if !shared.running() {
            return;
        }
        // Published first: the service may snapshot through this index before the callback returns.
        shared.publish_handed_over(apply.index());
        if host.apply(&apply).is_err() {
            return;
        }
    }
}

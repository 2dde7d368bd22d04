//! Handles: `u64` ids mapped to live instances, so a stale or forged handle is an error code, never a wild
//! pointer.
//!
//! Ids start at 1 and are never reused. An id below the next one to be issued that is no longer in the map was
//! killed ([`RaftStatus::Closed`]); any other id was never issued ([`RaftStatus::UnknownHandle`]). Killed
//! instances leave nothing behind, so make/kill cycles do not grow memory.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::node::Node;

use super::boundary::Failure;
use super::callbacks::CallbackHost;
use super::types::RaftStatus;

/// A node driven through the C ABI.
pub(super) type Instance = Node<CallbackHost>;

struct Registry {
    next: u64,
    instances: BTreeMap<u64, Arc<Instance>>,
    /// Instances whose `raft_kill` is still joining their threads: gone for every other call, but a concurrent
    /// `raft_kill` of the same handle finds the instance here and waits for the same join.
    dying: BTreeMap<u64, Arc<Instance>>,
}

static REGISTRY: RwLock<Registry> =
    parking_lot::const_rwlock(Registry { next: 1, instances: BTreeMap::new(), dying: BTreeMap::new() });

/// Registers a started instance and returns its new handle.
pub(super) fn insert(instance: Instance) -> u64 {
    let mut registry = REGISTRY.write();
    let handle = registry.next;
    registry.next += 1;
    registry.instances.insert(handle, Arc::new(instance));
    handle
}

/// The instance behind `handle`. The `Arc` keeps it alive for the call even if another thread kills it.
pub(super) fn get(handle: u64) -> Result<Arc<Instance>, Failure> {
    let registry = REGISTRY.read();
    match registry.instances.get(&handle) {
        Some(instance) => Ok(Arc::clone(instance)),
        None => Err(missing(handle, registry.next)),
    }
}

/// Unregisters `handle` for a kill: later calls with it return [`RaftStatus::Closed`]. The instance stays
/// reachable by other kills until the returned [`Dying`] is dropped, once its kill has joined the threads.
pub(super) fn remove(handle: u64) -> Result<Dying, Failure> {
    let mut registry = REGISTRY.write();
    if let Some(instance) = registry.instances.remove(&handle) {
        registry.dying.insert(handle, Arc::clone(&instance));
        return Ok(Dying { handle, instance, owner: true });
    }
    if let Some(instance) = registry.dying.get(&handle) {
        return Ok(Dying { handle, instance: Arc::clone(instance), owner: false });
    }
    Err(missing(handle, registry.next))
}

/// An instance being killed. The first kill's guard forgets the instance when dropped, which its caller does only
/// after [`Instance::kill`](crate::node::Node::kill) returned; a later kill's guard only lends the instance.
pub(super) struct Dying {
    handle: u64,
    pub(super) instance: Arc<Instance>,
    owner: bool,
}

impl Drop for Dying {
    fn drop(&mut self) {
        if self.owner {
            REGISTRY.write().dying.remove(&self.handle);
        }
    }
}

/// Whether a kill of `handle` is still joining its threads.
#[cfg(test)]
pub(super) fn is_dying(handle: u64) -> bool {
    REGISTRY.read().dying.contains_key(&handle)
}

fn missing(handle: u64, next: u64) -> Failure {
    if handle != 0 && handle < next {
        Failure::new(RaftStatus::Closed, format!("handle {handle} was killed"))
    } else {
        Failure::new(RaftStatus::UnknownHandle, format!("handle {handle} was never issued"))
    }
}

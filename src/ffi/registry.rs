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
}

static REGISTRY: RwLock<Registry> = parking_lot::const_rwlock(Registry { next: 1, instances: BTreeMap::new() });

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

/// Unregisters `handle`; later calls with it return [`RaftStatus::Closed`].
pub(super) fn remove(handle: u64) -> Result<Arc<Instance>, Failure> {
    let mut registry = REGISTRY.write();
    let next = registry.next;
    registry.instances.remove(&handle).ok_or_else(|| missing(handle, next))
}

fn missing(handle: u64, next: u64) -> Failure {
    if handle != 0 && handle < next {
        Failure::new(RaftStatus::Closed, format!("handle {handle} was killed"))
    } else {
        Failure::new(RaftStatus::UnknownHandle, format!("handle {handle} was never issued"))
    }
}

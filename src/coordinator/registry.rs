//! The names of running coordinators and their mailboxes, with a per-thread cache so that a
//! user adding to the same coordinator again skips the map (no hashing, no shard lock).

use std::any::Any;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use dashmap::DashMap;

use super::mailbox::{ErasedMailbox, Mailbox};
use super::{CoordinatorError, Name};

/// One running (or starting) coordinator.
pub(crate) struct Entry {
    /// The `Arc<Mailbox<D>>`, for `add` to downcast.
    pub(crate) mailbox: Arc<dyn Any + Send + Sync>,
    /// The same mailbox, for controls and closing without knowing `D`.
    pub(crate) erased: Arc<dyn ErasedMailbox>,
    pub(crate) type_name: &'static str,
    /// Tells this coordinator from a later one of the same name.
    pub(crate) generation: u64,
    /// The supervisor instance hosting its actor (0 until the start request is sent).
    pub(crate) epoch: AtomicU64,
}

/// Name → entry, shared by every clone of a `Coordinators` handle.
pub(crate) struct Registry {
    /// Distinguishes registries in the per-thread cache.
    id: u64,
    pub(crate) map: DashMap<Name, Entry>,
}

struct Cached {
    registry: u64,
    name: Name,
    mailbox: Arc<dyn Any + Send + Sync>,
}

thread_local! {
    static CACHE: RefCell<Option<Cached>> = const { RefCell::new(None) };
}

static REGISTRY_IDS: AtomicU64 = AtomicU64::new(1);

impl Registry {
    pub(crate) fn new() -> Self {
        Self {
            id: REGISTRY_IDS.fetch_add(1, Ordering::Relaxed),
            map: DashMap::new(),
        }
    }

    /// Queues `data` for the coordinator `name`: from the per-thread cache if it names the
    /// same open coordinator, else through the map (then caching it).
    pub(crate) fn add<D: Send + 'static>(
        &self,
        name: &str,
        data: D,
    ) -> Result<(), CoordinatorError> {
        match self.add_cached(name, data) {
            Ok(()) => Ok(()),
            Err(data) => self.add_slow(name, data),
        }
    }

    fn add_cached<D: Send + 'static>(&self, name: &str, data: D) -> Result<(), D> {
        let mut slot = Some(data);
        let _ = CACHE.try_with(|cell| {
            let Ok(cached) = cell.try_borrow() else {
                return;
            };
            let Some(c) = &*cached else {
                return;
            };
            if c.registry != self.id || &*c.name != name {
                return;
            }
            let (Some(mailbox), Some(data)) = (c.mailbox.downcast_ref::<Mailbox<D>>(), slot.take())
            else {
                return;
            };
            // A closed mailbox gives the data back: the slow path reports the error.
            slot = mailbox.add(data).err();
        });
        match slot {
            Some(data) => Err(data),
            None => Ok(()),
        }
    }

    fn add_slow<D: Send + 'static>(&self, name: &str, data: D) -> Result<(), CoordinatorError> {
        let missing = || CoordinatorError::NoSuchCoordinator(name.to_owned());
        let (key, any, expected) = {
            let entry = self.map.get(name).ok_or_else(missing)?;
            (entry.key().clone(), entry.mailbox.clone(), entry.type_name)
        };
        let Some(mailbox) = any.downcast_ref::<Mailbox<D>>() else {
            return Err(CoordinatorError::DataTypeMismatch {
                name: name.to_owned(),
                expected,
                given: std::any::type_name::<D>(),
            });
        };
        mailbox.add(data).map_err(|_| missing())?;
        let cached = Cached {
            registry: self.id,
            name: key,
            mailbox: any,
        };
        // The replaced entry is dropped after the borrow ends.
        let old = CACHE
            .try_with(|cell| cell.try_borrow_mut().ok().map(|mut c| c.replace(cached)))
            .ok()
            .flatten();
        drop(old);
        Ok(())
    }

    /// Removes the entry of `name` if it is still `generation`, closing its mailbox.
    pub(crate) fn release(&self, name: &str, generation: u64) {
        if let Some((_, entry)) = self.map.remove_if(name, |_, e| e.generation == generation) {
            entry.erased.close_box();
        }
    }

    /// Records which supervisor instance hosts `name` (if it is still `generation`).
    pub(crate) fn set_epoch(&self, name: &str, generation: u64, epoch: u64) {
        if let Some(e) = self.map.get(name) {
            if e.generation == generation {
                e.epoch.store(epoch, Ordering::Release);
            }
        }
    }

    /// Removes and closes every coordinator hosted by supervisor instance `epoch` (it has
    /// exited, and their actors with it).
    pub(crate) fn release_epoch(&self, epoch: u64) {
        let mut gone = Vec::new();
        self.map.retain(|_, e| {
            let hosted = e.epoch.load(Ordering::Acquire) == epoch;
            if hosted {
                gone.push(e.erased.clone());
            }
            !hosted
        });
        for mailbox in gone {
            mailbox.close_box();
        }
    }
}

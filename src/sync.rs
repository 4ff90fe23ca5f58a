//! The crate's one locking idiom.
//!
//! Every `std::sync::Mutex` here guards data that stays consistent between statements (no
//! lock is held across a panic-prone call that could leave it half-changed), so a lock
//! poisoned by a panic elsewhere is used as is rather than propagated as a second panic.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `m`, ignoring poisoning (see the module docs).
pub(crate) fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

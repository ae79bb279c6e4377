//! broadcast (mode 3), bonding.rst, mode: a copy of every frame on every slave that can transmit
//! (the kernel's `bond_xmit_broadcast`).

use super::{ModeOps, TxDecision, View};
use crate::types::SlaveId;

#[derive(Clone, Copy, Debug, Default)]
pub struct Broadcast;

impl ModeOps for Broadcast {
    fn new_slave_active(&self) -> bool {
        true
    }

    #[inline]
    fn tx<'a>(&mut self, v: &View<'a>, _frame: &mut [u8]) -> TxDecision<'a> {
        each(v.usable_ids)
    }
}

/// A copy on every slave of the transmit array `usable`; none: drop (shared with the fast path).
#[inline]
pub(crate) fn each(usable: &[SlaveId]) -> TxDecision<'_> {
    if usable.is_empty() {
        TxDecision::Drop
    } else {
        TxDecision::Each(usable)
    }
}

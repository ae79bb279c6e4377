//! broadcast (mode 3), bonding.rst, mode: a copy of every frame on every slave that can transmit
//! (the kernel's `bond_xmit_broadcast`).

use super::{ModeOps, TxDecision, View};

#[derive(Clone, Copy, Debug, Default)]
pub struct Broadcast;

impl ModeOps for Broadcast {
    fn new_slave_active(&self) -> bool {
        true
    }

    #[inline]
    fn tx<'a>(&mut self, v: &View<'a>, _frame: &mut [u8]) -> TxDecision<'a> {
        if v.usable_ids.is_empty() {
            TxDecision::Drop
        } else {
            TxDecision::Each(v.usable_ids)
        }
    }
}

//! balance-xor (mode 2), bond_main.c: bond_xmit_hash users: `usable[xmit_hash mod count]`, so one flow stays on
//! one slave (the kernel's `bond_xmit_xor_slave_get`).

use super::{ModeOps, TxDecision, View};
use crate::hash::xmit_hash;
use crate::types::{SlaveId, XmitHashPolicy};

#[derive(Clone, Copy, Debug, Default)]
pub struct Xor;

/// The hash pick shared by balance-xor and 802.3ad: an unsigned 32-bit modulo over the slaves
/// that can transmit, in slave order. Nothing usable: drop.
#[inline]
pub(crate) fn hash_pick<'a>(v: &View<'a>, frame: &[u8]) -> TxDecision<'a> {
    pick_by_hash(v.opts.xmit_hash_policy, v.usable_ids, frame)
}

/// [`hash_pick`] over an explicit transmit array (`usable`, in slave order): the rule the
/// bond and the fast path share.
#[inline]
pub(crate) fn pick_by_hash<'a>(policy: XmitHashPolicy, usable: &'a [SlaveId], frame: &[u8]) -> TxDecision<'a> {
    let n = usable.len();
    if n == 0 {
        return TxDecision::Drop;
    }
    let h = xmit_hash(policy, frame);
    TxDecision::Slave(usable[(h % n as u32) as usize])
}

impl ModeOps for Xor {
    fn new_slave_active(&self) -> bool {
        true
    }

    #[inline]
    fn tx<'a>(&mut self, v: &View<'a>, frame: &mut [u8]) -> TxDecision<'a> {
        hash_pick(v, frame)
    }
}

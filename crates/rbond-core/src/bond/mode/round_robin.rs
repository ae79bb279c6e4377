//! balance-rr (mode 0), bond_main.c: bond_rr_gen_slave_id: every slave sends in turn, `packets_per_slave` frames
//! each (the kernel's `bond_rr_gen_slave_id` and `bond_xmit_roundrobin_slave_get`).

use super::{ModeOps, TxDecision, View};
use crate::frame;
use crate::types::SlaveIdx;

/// The sequence state of balance-rr: the kernel's `rr_tx_counter` and rbond's random draw
/// for packets_per_slave=0. The kernel keeps one counter per CPU; [`RoundRobin`] holds the
/// bond's own and every fast-path worker holds one
/// ([`FastPathState`](crate::bond::FastPathState)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RrCounter {
    /// The kernel's `rr_tx_counter`.
    counter: u32,
    /// xorshift32 state for packets_per_slave=0 (a random slave per frame).
    rng: u32,
}

impl RrCounter {
    /// A fresh sequence: counter 0, the rng seeded with `seed` (made odd: xorshift never
    /// leaves 0).
    pub(crate) fn new(seed: u32) -> RrCounter {
        RrCounter { counter: 0, rng: seed | 1 }
    }

    /// `bond_rr_gen_slave_id`: the counter is pre-incremented, so the first frame uses 1.
    #[inline]
    fn next_id(&mut self, packets_per_slave: u32) -> u32 {
        match packets_per_slave {
            0 => {
                let mut x = self.rng;
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                self.rng = x;
                x
            }
            n => {
                self.counter = self.counter.wrapping_add(1);
                self.counter / n
            }
        }
    }

    /// The balance-rr choice for one frame over `n` slaves in enslave order, of which
    /// `can_tx(i)` may transmit; `active` is the current active slave. The one rule both
    /// [`RoundRobin`] and the fast path apply (bond_main.c: bond_xmit_roundrobin_slave_get).
    #[inline]
    pub(crate) fn pick(
        &mut self,
        frame: &[u8],
        packets_per_slave: u32,
        active: Option<SlaveIdx>,
        n: usize,
        can_tx: impl Fn(SlaveIdx) -> bool,
    ) -> Option<SlaveIdx> {
        if n == 0 {
            return None;
        }
        if frame::is_igmp(frame) {
            // IGMP stays on the current active slave (bond_main.c: bond_xmit_roundrobin_slave_get),
            // else the first that can send.
            active_if(active, &can_tx).or_else(|| first_from(n, 0, &can_tx))
        } else {
            // The id counts all slaves; a down slave's turn passes to the next usable one.
            let id = self.next_id(packets_per_slave) as usize % n;
            first_from(n, id, &can_tx)
        }
    }
}

/// The current active slave if it can transmit (active-backup's whole choice, and rr's for IGMP).
#[inline]
pub(crate) fn active_if(active: Option<SlaveIdx>, can_tx: impl Fn(SlaveIdx) -> bool) -> Option<SlaveIdx> {
    active.filter(|&a| can_tx(a))
}

/// The first of `n` slaves that can transmit, searching from `start` to the end, then from 0.
#[inline]
fn first_from(n: usize, start: SlaveIdx, can_tx: impl Fn(SlaveIdx) -> bool) -> Option<SlaveIdx> {
    (start..n).chain(0..start).find(|&i| can_tx(i))
}

#[derive(Clone, Debug)]
pub struct RoundRobin {
    /// One sequence: rbond's single-threaded data path (`Bond::tx`).
    rr: RrCounter,
}

impl RoundRobin {
    pub fn new(seed: u32) -> RoundRobin {
        RoundRobin { rr: RrCounter::new(seed) }
    }
}

impl ModeOps for RoundRobin {
    fn new_slave_active(&self) -> bool {
        true
    }

    #[inline]
    fn tx<'a>(&mut self, v: &View<'a>, frame: &mut [u8]) -> TxDecision<'a> {
        let pick = self.rr.pick(frame, v.opts.packets_per_slave, v.active, v.slaves.len(), |i| v.slaves[i].can_tx());
        pick.map_or(TxDecision::Drop, |i| TxDecision::Slave(v.id(i)))
    }
}

//! balance-rr (mode 0), bond_main.c: bond_rr_gen_slave_id: every slave sends in turn, `packets_per_slave` frames
//! each (the kernel's `bond_rr_gen_slave_id` and `bond_xmit_roundrobin_slave_get`).

use super::{ModeOps, TxDecision, View};
use crate::frame;
use crate::types::SlaveIdx;

#[derive(Clone, Debug)]
pub struct RoundRobin {
    /// The kernel's `rr_tx_counter` (one per CPU there; rbond's data path is one sequence).
    counter: u32,
    /// xorshift32 state for packets_per_slave=0 (a random slave per frame).
    rng: u32,
}

impl RoundRobin {
    pub fn new(seed: u32) -> RoundRobin {
        RoundRobin { counter: 0, rng: seed | 1 }
    }

    /// `bond_rr_gen_slave_id`: the counter is pre-incremented, so the first frame uses 1.
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
}

/// The first slave that can transmit, searching from `start` to the end, then from 0.
fn first_can_tx_from(v: &View, start: SlaveIdx) -> Option<SlaveIdx> {
    let n = v.slaves.len();
    (start..n).chain(0..start).find(|&i| v.slaves[i].can_tx())
}

impl ModeOps for RoundRobin {
    fn new_slave_active(&self) -> bool {
        true
    }

    #[inline]
    fn tx<'a>(&mut self, v: &View<'a>, frame: &mut [u8]) -> TxDecision<'a> {
        let n = v.slaves.len();
        if n == 0 {
            return TxDecision::Drop;
        }
        let pick = if frame::is_igmp(frame) {
            // IGMP stays on the current active slave (bond_main.c: bond_rr_gen_slave_id), else the first that can send.
            v.active.filter(|&a| v.slaves[a].can_tx()).or_else(|| first_can_tx_from(v, 0))
        } else {
            // The id counts all slaves; a down slave's turn passes to the next usable one.
            let id = self.next_id(v.opts.packets_per_slave) as usize % n;
            first_can_tx_from(v, id)
        };
        pick.map_or(TxDecision::Drop, |i| TxDecision::Slave(v.id(i)))
    }
}

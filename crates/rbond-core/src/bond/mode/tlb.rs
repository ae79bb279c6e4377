//! balance-tlb (mode 5) and balance-alb (mode 6), reference §5: transmit through the
//! load-balancing table (`crate::tlb`), receive on the active slave (tlb) or unicast on every
//! slave (alb). The kernel's `bond_tlb_xmit` / `bond_alb_xmit` and `bond_alb_*` hooks.

use super::{ModeOps, RxDecision, TxDecision, View};
use crate::bond::{Action, Slave};
use crate::frame;
use crate::tlb::{rewrite_src_mac, TlbSlave, TxTable, TxVerdict};
use crate::types::{LinkState, Millis, SlaveIdx};
use std::collections::VecDeque;

#[derive(Clone, Debug)]
pub struct Tlb {
    /// balance-alb (else balance-tlb).
    alb: bool,
    table: TxTable,
    /// What the table knows of each slave, rebuilt with the transmit array.
    slaves: Vec<TlbSlave>,
}

impl Tlb {
    pub fn new(alb: bool) -> Tlb {
        Tlb { alb, table: TxTable::new(), slaves: Vec::new() }
    }
    pub fn table(&self) -> &TxTable {
        &self.table
    }
}

impl ModeOps for Tlb {
    fn uses_primary(&self) -> bool {
        true
    }
    /// Up with link UP: the state is always `active` in tlb/alb (§6.2), so the backup flag
    /// does not count here.
    fn usable(&self, s: &Slave) -> bool {
        s.obs.admin_up && s.obs.carrier && s.link == LinkState::Up
    }
    fn usable_changed(&mut self, v: &View) {
        self.slaves.clear();
        for (i, s) in v.slaves.iter().enumerate() {
            self.slaves.push(TlbSlave { idx: i, speed_mbps: s.speed_mbps.unwrap_or(0), usable: v.usable.contains(&i) });
        }
    }
    fn inactive_means_backup(&self) -> bool {
        false
    }
    fn needs_speed(&self) -> bool {
        true
    }
    fn slave_added(&mut self, _v: &View, i: SlaveIdx, _now: Millis) {
        // A new slave forces a rebalance (§5.2).
        self.table.slave_added(i);
    }
    fn slave_removed(&mut self, _v: &View, i: SlaveIdx, _now: Millis) {
        self.table.slave_released(i);
    }
    fn link_up(&mut self, _v: &View, _i: SlaveIdx, _now: Millis) {
        self.table.force_rebalance();
    }
    fn link_down(&mut self, _v: &View, i: SlaveIdx, _now: Millis) {
        self.table.slave_down(i);
    }
    fn active_changed(&mut self, _v: &View, old: Option<SlaveIdx>, new: Option<SlaveIdx>) {
        self.table.active_changed(old, new);
    }
    fn tick(&mut self, v: &View, now: Millis, _out: &mut VecDeque<Action>) {
        if v.opts.tlb_dynamic_lb {
            self.table.tick(now, v.active);
        }
    }
    fn poll_timeout(&self, v: &View) -> Option<Millis> {
        // Only the dynamic table has a rebalance timer.
        v.opts.tlb_dynamic_lb.then(|| self.table.next_deadline())
    }
    #[inline]
    fn tx<'a>(&mut self, v: &View<'a>, f: &mut [u8]) -> TxDecision<'a> {
        let o = v.opts;
        match self.table.transmit(self.alb, o.xmit_hash_policy, o.tlb_dynamic_lb, f, &self.slaves, v.active) {
            TxVerdict::Send { slave, rewrite_src } => {
                // A frame leaving on a slave other than the active one carries that slave's
                // own MAC as its source (§5.2).
                if rewrite_src {
                    rewrite_src_mac(f, v.slaves[slave].perm_hwaddr);
                }
                TxDecision::Slave(v.id(slave))
            }
            TxVerdict::Drop => TxDecision::Drop,
        }
    }
    /// alb: unicast is received on every slave, broadcast/multicast only on the active one.
    fn rx_inactive(&self, f: &[u8]) -> RxDecision {
        match frame::parse_eth(f) {
            Some(m) if self.alb && !m.dst.is_multicast() => RxDecision::Deliver,
            _ => RxDecision::Drop,
        }
    }
}

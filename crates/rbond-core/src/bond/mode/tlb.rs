//! balance-tlb (mode 5) and balance-alb (mode 6), bond_alb.c: transmit through the
//! load-balancing table (`crate::tlb`), receive on the active slave (tlb) or unicast on every
//! slave (alb, which spreads its clients over the slaves with ARP: `crate::rlb`), and the
//! slaves' MAC addresses (`crate::alb_mac`). The kernel's `bond_tlb_xmit` / `bond_alb_xmit`
//! and `bond_alb_*` hooks, `bond_alb_monitor` for the timers.
//!
//! # Who owns what
//!
//! * The transmit table works on slave positions (it shifts them on release, as the kernel's
//!   list does); RLB and the MAC planner name slaves by their stable `SlaveId`.
//! * `macs` is this component's record of each slave's two addresses (`alb_mac` module docs):
//!   `addr`, the slave's MAC as the bond uses it (source of its frames, of its RLB replies and
//!   learning packets), and `nic`, what its NIC filters. The bond copies `nic` into
//!   `Slave::cur_mac` after each change (`Bond::sync_mode_macs`).
//! * RLB's outputs become actions: frames → `SendFrame`, promiscuity → `SetPromisc`,
//!   learning requests → learning-packet `SendFrame`s, log lines → `Log`.
//!
//! # The monitor
//!
//! `bond_alb_monitor` runs every 100 ms while the bond is up: learning packets every
//! `lp_interval` seconds, the RLB tick (client updates, rebalance, promiscuity timeout), and
//! the 10 s transmit rebalance (dynamic lb only). RLB counts its update delay from the time
//! of the call; an ARP from the bond (which carries no time) is dated by the last monitor
//! tick, which gives exactly the kernel's tick-counted delay (its counter is also set
//! between two ticks and counted down at ticks).
//!
//! # Receive filtering
//!
//! rbond reads slaves with AF_PACKET sockets, which (on veth, or on a promiscuous NIC) see
//! frames the slave's NIC filter would have dropped. So the component applies that filter:
//! a unicast frame reaches the bond only if it is for the MAC the slave's NIC carries, or for
//! a MAC the active slave was told to receive for (RLB, after a slave failed) while no
//! usable slave carries it. A frame a bridge flooded to every port is then taken once.

use super::{ModeOps, RxDecision, TxDecision, View};
use crate::alb_mac::{self, LbMode, Learning, LogLevel, MacPlan, MacSlave};
use crate::bond::{Action, Level, Slave};
use crate::frame::{self, ethertype};
use crate::rlb::{AlbSlave, Rlb, RlbOutput, ALB_TICK_MS};
use crate::tlb::{rewrite_src_mac, TlbSlave, TxTable, TxVerdict};
use crate::types::{LinkState, MacAddr, Millis, SlaveId, SlaveIdx};
use std::collections::VecDeque;

#[derive(Clone, Debug)]
pub struct Tlb {
    /// balance-alb (else balance-tlb).
    alb: bool,
    /// Boxed: 3 KB that would otherwise size every mode's state.
    table: Box<TxTable>,
    /// What the table knows of each slave, rebuilt with the transmit array.
    slaves: Vec<TlbSlave>,
    /// The bond MAC as last seen at an enslave or a MAC change.
    bond_mac: MacAddr,
    /// Each slave's addresses, in slave order (the module docs).
    macs: Vec<MacSlave>,
    /// alb receive load balancing (unused in tlb). Boxed: its 256-entry table would make
    /// every mode's state as large.
    rlb: Box<Rlb>,
    /// RLB's view of the slaves (id, current MAC, speed, usable), in slave order.
    alb_slaves: Vec<AlbSlave>,
    /// The next alb monitor tick; `None` until the first one (due at once).
    next_monitor: Option<Millis>,
    /// When the next round of periodic learning packets is due.
    next_lp: Option<Millis>,
    /// The time of the last monitor tick (dates the bond's ARP for RLB).
    last_tick: Millis,
    /// The slave RLB made promiscuous, and the MACs it receives for meanwhile.
    promisc: Option<SlaveId>,
    taught: Vec<MacAddr>,
}

impl Tlb {
    pub fn new(alb: bool) -> Tlb {
        Tlb {
            alb,
            table: Box::new(TxTable::new()),
            slaves: Vec::new(),
            bond_mac: MacAddr::ZERO,
            macs: Vec::new(),
            rlb: Box::new(Rlb::new()),
            alb_slaves: Vec::new(),
            next_monitor: None,
            next_lp: None,
            last_tick: 0,
            promisc: None,
            taught: Vec::new(),
        }
    }
    pub fn table(&self) -> &TxTable {
        &self.table
    }
    /// The alb client table (empty in tlb).
    pub fn rlb(&self) -> &Rlb {
        &self.rlb
    }
    pub fn is_alb(&self) -> bool {
        self.alb
    }
    /// Slave `id`'s MAC as the bond uses it (source of its frames): in alb the MAC its NIC
    /// carries, in tlb its own "software" address while the NIC keeps the bond MAC.
    pub fn slave_addr(&self, id: SlaveId) -> Option<MacAddr> {
        self.macs.iter().find(|m| m.id == id).map(|m| m.addr)
    }

    fn lb_mode(&self) -> LbMode {
        if self.alb {
            LbMode::Alb
        } else {
            LbMode::Tlb
        }
    }

    /// `bond_slave_can_tx` for tlb/alb, from the slave itself (the view's transmit array may
    /// lag behind a link event that is being handled).
    fn can_tx(s: &Slave) -> bool {
        s.obs.admin_up && s.obs.carrier && s.link == LinkState::Up
    }

    /// Refreshes the per-slave records from the view: usability, speed, and RLB's list.
    fn refresh(&mut self, v: &View) {
        for m in self.macs.iter_mut() {
            if let Some(s) = v.slaves.iter().find(|s| s.id == m.id) {
                m.usable = Self::can_tx(s);
            }
        }
        self.alb_slaves.clear();
        for m in &self.macs {
            let speed = v.slaves.iter().find(|s| s.id == m.id).and_then(|s| s.speed_mbps).unwrap_or(0);
            self.alb_slaves.push(AlbSlave { id: m.id, mac: m.addr, speed_mbps: speed, usable: m.usable });
        }
    }

    /// Programs a MAC plan: NIC changes as `SetSlaveMac`, the new addresses recorded, learning
    /// packets sent, RLB told which clients to update or which MAC to teach, log lines.
    fn apply_plan(&mut self, v: &View, plan: &MacPlan, active: Option<SlaveId>, now: Millis, out: &mut VecDeque<Action>) {
        plan.apply(&mut self.macs);
        for &(slave, mac) in &plan.nic {
            out.push_back(Action::SetSlaveMac { slave, mac });
        }
        self.refresh(v);
        for l in &plan.learning {
            self.send_learning(l, v, out);
        }
        if self.alb {
            for &s in &plan.update_clients {
                self.rlb.update_slave_clients(s);
            }
            if let Some(mac) = plan.teach {
                self.rlb.teach_disabled_mac(active, mac, now);
            }
        }
        for l in &plan.logs {
            let name = v.slaves.iter().find(|s| s.id == l.slave).map(|s| s.name.clone());
            let level = match l.level {
                LogLevel::Warn | LogLevel::Err => Level::Warn,
            };
            out.push_back(Action::Log { level, slave: name, msg: l.msg.clone() });
        }
        self.drain_rlb(v, out);
    }

    /// Learning packets (`alb_send_learning_packets`): one untagged frame per request. rbond
    /// has no VLAN devices on the bond, so there are no tagged copies.
    fn send_learning(&self, l: &Learning, _v: &View, out: &mut VecDeque<Action>) {
        if self.macs.iter().any(|m| m.id == l.slave && m.usable) {
            out.push_back(Action::SendFrame { slave: l.slave, frame: alb_mac::learning_packet(l.mac).to_vec() });
        }
    }

    /// Moves RLB's queued outputs to the bond's action queue.
    fn drain_rlb(&mut self, v: &View, out: &mut VecDeque<Action>) {
        while let Some(o) = self.rlb.poll_output() {
            match o {
                RlbOutput::Send { slave, frame } => out.push_back(Action::SendFrame { slave, frame }),
                RlbOutput::Promisc { slave, on } => {
                    if on {
                        self.promisc = Some(slave);
                    } else if self.promisc == Some(slave) {
                        self.promisc = None;
                        self.taught.clear();
                    }
                    out.push_back(Action::SetPromisc { slave, on });
                }
                RlbOutput::Learning { slave, mac, strict } => {
                    if self.promisc == Some(slave) && !self.taught.contains(&mac) {
                        self.taught.push(mac);
                    }
                    self.send_learning(&Learning { slave, mac, strict }, v, out);
                }
                RlbOutput::Log { msg } => out.push_back(Action::Log { level: Level::Warn, slave: None, msg }),
            }
        }
    }

    /// Whether slave `i`'s NIC would accept a unicast frame for `dst` (module docs).
    fn nic_accepts(&self, v: &View, i: SlaveIdx, dst: MacAddr) -> bool {
        let id = v.id(i);
        if self.macs.get(i).map(|m| m.nic) == Some(dst) {
            return true;
        }
        self.promisc == Some(id)
            && self.taught.contains(&dst)
            && !self.macs.iter().any(|m| m.usable && m.nic == dst)
    }

    fn active_id(v: &View) -> Option<SlaveId> {
        v.active.map(|a| v.id(a))
    }
}

impl ModeOps for Tlb {
    fn uses_primary(&self) -> bool {
        true
    }
    /// Up with link UP: the state is always `active` in tlb/alb (bond_main.c: bond_should_deliver_exact_match), so the backup flag
    /// does not count here.
    fn usable(&self, s: &Slave) -> bool {
        Self::can_tx(s)
    }
    fn usable_changed(&mut self, v: &View) {
        self.slaves.clear();
        for (i, s) in v.slaves.iter().enumerate() {
            self.slaves.push(TlbSlave { idx: i, speed_mbps: s.speed_mbps.unwrap_or(0), usable: v.usable.contains(&i) });
        }
        self.refresh(v);
    }
    fn inactive_means_backup(&self) -> bool {
        false
    }
    fn needs_speed(&self) -> bool {
        true
    }
    fn slave_added(&mut self, _v: &View, i: SlaveIdx, _now: Millis) {
        // A new slave forces a rebalance of both tables (bond_alb.c: tlb_choose_channel, bond_alb.c: rlb_*).
        self.table.slave_added(i);
        self.rlb.slave_added();
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
    fn tick(&mut self, v: &View, now: Millis, out: &mut VecDeque<Action>) {
        if v.opts.tlb_dynamic_lb {
            self.table.tick(now, v.active);
        }
        if self.next_monitor.is_some_and(|t| now < t) {
            return;
        }
        // bond_alb_monitor: on a 100 ms grid, skipping missed slots rather than bursting.
        let mut next = self.next_monitor.unwrap_or(now) + ALB_TICK_MS;
        if next <= now {
            next = now + ALB_TICK_MS;
        }
        self.next_monitor = Some(next);
        self.last_tick = now;
        self.refresh(v);
        let lp_ms = u64::from(v.opts.lp_interval.max(1)) * 1000;
        if self.next_lp.is_none_or(|t| now >= t) {
            self.next_lp = Some(now + lp_ms);
            for l in alb_mac::periodic_learning(self.lb_mode(), &self.macs, Self::active_id(v)) {
                self.send_learning(&l, v, out);
            }
        }
        if self.alb {
            self.rlb.tick(now, &self.alb_slaves);
            self.drain_rlb(v, out);
        }
    }
    fn poll_timeout(&self, v: &View) -> Option<Millis> {
        // The monitor runs every 100 ms (due at once before its first tick); the dynamic
        // table has its own rebalance deadline.
        let monitor = self.next_monitor.unwrap_or(0);
        Some(match v.opts.tlb_dynamic_lb {
            true => monitor.min(self.table.next_deadline()),
            false => monitor,
        })
    }
    #[inline]
    fn tx<'a>(&mut self, v: &View<'a>, f: &mut [u8]) -> TxDecision<'a> {
        if self.alb && frame::parse_eth(f).is_some_and(|m| m.ethertype == ethertype::ARP) {
            // Outgoing ARP goes through RLB (bond_alb.c: rlb_*): a reply leaves on the client's slave
            // with that slave's MAC as its sender; `None` sends it unbalanced.
            let active = Self::active_id(v);
            if let Some(s) = self.rlb.tx_arp(f, &self.alb_slaves, active, self.bond_mac, self.last_tick) {
                return TxDecision::Slave(s);
            }
        }
        let o = v.opts;
        match self.table.transmit(self.alb, o.xmit_hash_policy, o.tlb_dynamic_lb, f, &self.slaves, v.active) {
            TxVerdict::Send { slave, rewrite_src } => {
                // A frame leaving on a slave other than the active one carries that slave's
                // own MAC as its source (bond_alb.c: tlb_choose_channel).
                if rewrite_src {
                    let mac = self.macs.get(slave).map(|m| m.addr).unwrap_or(v.slaves[slave].perm_hwaddr);
                    rewrite_src_mac(f, mac);
                }
                TxDecision::Slave(v.id(slave))
            }
            TxVerdict::Drop => TxDecision::Drop,
        }
    }
    /// Both modes apply the slave's NIC filter (module docs); then alb snoops the ARP that
    /// passed it, on every slave (bond_main.c: bond_should_deliver_exact_match step 1, `rlb_arp_recv` runs in the bond's receive
    /// handler, behind the NIC's filter). Nothing is consumed.
    fn rx_hook(&mut self, v: &View, i: SlaveIdx, f: &[u8], _now: Millis, _out: &mut VecDeque<Action>) -> Option<RxDecision> {
        let m = frame::parse_eth(f)?;
        if !m.dst.is_multicast() && !self.nic_accepts(v, i, m.dst) {
            return Some(RxDecision::Drop);
        }
        if self.alb && m.ethertype == ethertype::ARP {
            self.rlb.rx_arp(f);
        }
        None
    }
    /// alb: unicast is received on every slave, broadcast/multicast only on the active one.
    fn rx_inactive(&self, f: &[u8]) -> RxDecision {
        match frame::parse_eth(f) {
            Some(m) if self.alb && !m.dst.is_multicast() => RxDecision::Deliver,
            _ => RxDecision::Drop,
        }
    }

    fn enslave_macs(&mut self, v: &View, i: SlaveIdx, bond_mac: MacAddr, now: Millis, out: &mut VecDeque<Action>) -> bool {
        self.bond_mac = bond_mac;
        let s = &v.slaves[i];
        // What the NIC carries now is its permanent MAC (the kernel's first step programs the
        // bond MAC; the plan only keeps net changes).
        let new = MacSlave { id: s.id, name: s.name.clone(), perm: s.perm_hwaddr, addr: s.perm_hwaddr, nic: s.perm_hwaddr, usable: Self::can_tx(s) };
        let existing: Vec<MacSlave> = self.macs.clone();
        let plan = alb_mac::plan_enslave(self.lb_mode(), bond_mac, &existing, &new, Self::active_id(v));
        // On NoFreeAddress the kernel fails the enslave; the plan then restores the slave's
        // own MAC and the bond keeps it with that MAC (logged).
        self.macs.insert(i.min(self.macs.len()), new);
        self.apply_plan(v, &plan, Self::active_id(v), now, out);
        true
    }

    fn release_macs(&mut self, v: &View, i: SlaveIdx, now: Millis, out: &mut VecDeque<Action>) -> bool {
        let id = v.id(i);
        let Some(p) = self.macs.iter().position(|m| m.id == id) else { return false };
        let leaving = self.macs.remove(p);
        // The kernel clears the active slave before it detaches a leaving active one.
        let active = Self::active_id(v).filter(|&a| a != id);
        let plan = alb_mac::plan_release(self.lb_mode(), self.bond_mac, &self.macs, &leaving);
        let swapped = plan.assign.iter().any(|(s, _)| *s != id);
        // The leaving slave's own NIC is restored by the plan (its last `nic` entry).
        self.apply_plan(v, &plan, active, now, out);
        if self.alb {
            let mac = if swapped { leaving.perm } else { leaving.addr };
            self.rlb.slave_removed(id, mac, &self.alb_slaves, active, now);
            self.drain_rlb(v, out);
        }
        true
    }

    fn admin_set_bond_mac(&mut self, v: &View, mac: MacAddr, out: &mut VecDeque<Action>) -> bool {
        let active = Self::active_id(v);
        let plan = alb_mac::plan_bond_mac_change(self.lb_mode(), mac, &self.macs, active);
        self.bond_mac = mac;
        self.apply_plan(v, &plan, active, self.last_tick, out);
        true
    }

    fn nic_mac(&self, id: SlaveId) -> Option<MacAddr> {
        self.macs.iter().find(|m| m.id == id).map(|m| m.nic)
    }

    fn link_changed(&mut self, v: &View, i: SlaveIdx, up: bool, now: Millis, out: &mut VecDeque<Action>) {
        self.refresh(v);
        if up {
            // rbond announces a returning slave's MAC at once instead of at the next
            // lp_interval round (the kernel waits): after a failover swap the switch still
            // has this MAC on the port of the slave that was receiving for it, and the RLB
            // rebalance is about to send clients back here.
            if let Some(m) = self.macs.get(i).filter(|m| m.id == v.id(i)) {
                let l = Learning { slave: m.id, mac: m.addr, strict: true };
                self.send_learning(&l, v, out);
            }
        }
        if !self.alb {
            return;
        }
        if up {
            // New capacity: redistribute the clients at the next tick (bond_alb.c: rlb_*).
            self.rlb.slave_up();
        } else {
            let id = v.id(i);
            let mac = self.macs.iter().find(|m| m.id == id).map(|m| m.addr).unwrap_or(MacAddr::ZERO);
            self.rlb.slave_down(id, mac, &self.alb_slaves, Self::active_id(v), now);
            self.drain_rlb(v, out);
        }
    }

    fn active_moved(&mut self, v: &View, old: Option<SlaveIdx>, new: Option<SlaveIdx>, now: Millis, out: &mut VecDeque<Action>) {
        // `old` may be a position that no longer exists (the old active slave was released).
        let old_id = old.and_then(|o| v.slaves.get(o)).map(|s| s.id);
        let new_id = new.map(|n| v.id(n));
        self.refresh(v);
        if self.alb {
            self.rlb.active_changed(new_id);
        }
        let plan = alb_mac::plan_active_change(self.lb_mode(), self.bond_mac, &self.macs, old_id, new_id);
        self.apply_plan(v, &plan, new_id, now, out);
    }

    fn rx_deliver_fixup(&self, v: &View, i: SlaveIdx, f: &mut [u8]) {
        let Some(m) = frame::parse_eth(f) else { return };
        if m.dst.is_multicast() || m.dst == self.bond_mac {
            return;
        }
        if self.nic_accepts(v, i, m.dst) {
            f[0..6].copy_from_slice(&self.bond_mac.0);
        }
    }
}

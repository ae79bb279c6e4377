//! MAC addresses of balance-tlb (5) and balance-alb (6) (bond_alb.c: alb_set_slave_mac_addr, alb_swap_mac_addr, bond_alb.c: alb_send_learning_packets), as a pure
//! planner: given the slaves' addresses now, what to program so that
//!
//! * in **alb** every slave has a distinct MAC and the bond MAC sits on the active slave: the
//!   switch sends each client's traffic to the port whose MAC that client was taught (RLB),
//!   and the bond MAC never leaves the wire, because a failover **swaps** MACs;
//! * in **tlb** every NIC keeps filtering the bond MAC, while each slave has its own
//!   "software" address (the kernel's `dev_addr`) used as the source of the frames it sends
//!   when it is not the active slave.
//!
//! Functions follow `bond_alb.c`: [`plan_enslave`] (`bond_alb_init_slave`,
//! `alb_handle_addr_collision_on_attach`), [`plan_active_change`]
//! (`bond_alb_handle_active_change`, `alb_swap_mac_addr`, `alb_fasten_mac_swap`),
//! [`plan_release`] (`alb_change_hw_addr_on_detach` and the restore of `__bond_release_one`),
//! [`plan_bond_mac_change`] (`bond_alb_set_mac_address`). Each simulates the kernel's steps
//! on a copy and returns the resulting changes ([`MacPlan`]); intermediate values the kernel
//! programs and then overwrites within the same step are not programmed.
//!
//! # Two addresses per slave
//!
//! [`MacSlave::addr`] is the kernel's `slave->dev->dev_addr`: the slave's MAC as the bond
//! sees it (source of its balanced frames, of its RLB replies and learning packets).
//! [`MacSlave::nic`] is what the NIC is programmed with (its receive filter). In alb they are
//! always equal. In tlb `alb_set_slave_mac_addr` changes only `addr`, and the NICs keep the
//! bond MAC.
//!
//! # Caller's order for an active change (alb)
//!
//! 1. [`crate::rlb::Rlb::active_changed`] (drops a promiscuity on the old active slave);
//! 2. [`plan_active_change`], then program `nic`, record `assign`;
//! 3. send the plan's learning packets, call [`crate::rlb::Rlb::update_slave_clients`] for
//!    each of `update_clients` and [`crate::rlb::Rlb::teach_disabled_mac`] for `teach`.
//!
//! For a release: the active slave is cleared first if it is the leaving one
//! ([`plan_active_change`] with `new = None` changes nothing), then [`plan_release`], then
//! [`crate::rlb::Rlb::slave_removed`], then the new active slave is selected and
//! [`plan_active_change`]`(old = None, new)` moves the bond MAC onto it.

use crate::frame::{ethertype, ETH_ZLEN};
use crate::types::{MacAddr, SlaveId};

/// EtherType of learning packets (ETH_P_LOOPBACK).
pub const ETH_P_LOOPBACK: u16 = 0x9000;

/// The kernel log text when a NIC refuses a MAC change in alb (`alb_set_slave_mac_addr`); the
/// enslave then fails with EOPNOTSUPP.
pub const ALB_SET_MAC_FAILED: &str = "dev_set_mac_address on slave failed! ALB mode requires that the base driver support setting the hw address also when the network device's interface is open";

/// Which of the two modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LbMode {
    Tlb,
    Alb,
}

/// One slave as the planner sees it, in slave-list order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MacSlave {
    pub id: SlaveId,
    /// Interface name, for log lines.
    pub name: String,
    /// The MAC it had before it was enslaved (`perm_hwaddr`), restored on release.
    pub perm: MacAddr,
    /// Its address as the bond uses it (`dev_addr`), see the module docs.
    pub addr: MacAddr,
    /// What its NIC is programmed with.
    pub nic: MacAddr,
    /// `bond_slave_can_tx`: up with link UP.
    pub usable: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Warn,
    Err,
}

/// A kernel log line about `slave`; `msg` comes without the `bond0: (slave eth1): ` prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MacLog {
    pub level: LogLevel,
    pub slave: SlaveId,
    pub msg: String,
}

/// A learning packet burst to send ([`learning_packet`] untagged, plus tagged copies for VLAN
/// devices on the bond: with `strict`, only those whose MAC is `mac`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Learning {
    pub slave: SlaveId,
    pub mac: MacAddr,
    pub strict: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MacError {
    /// Enslave in alb: the new slave's MAC is taken and no slave's permanent MAC is free
    /// (EFAULT, "this should not have happened"). The plan restores its permanent MAC.
    NoFreeAddress,
    /// Bond MAC change to a multicast or zero address (EADDRNOTAVAIL). The plan is empty.
    InvalidAddress,
}

/// What to do, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MacPlan {
    /// New `addr` values (record them: source MAC of the slave's frames, RLB's
    /// [`crate::rlb::AlbSlave::mac`]). In the order the kernel first changes each slave.
    pub assign: Vec<(SlaveId, MacAddr)>,
    /// Addresses to program into the NICs, in order. In alb the same changes as `assign`.
    pub nic: Vec<(SlaveId, MacAddr)>,
    /// Learning packets to send, after programming.
    pub learning: Vec<Learning>,
    /// alb: slaves whose RLB clients must be updated with retries
    /// ([`crate::rlb::Rlb::update_slave_clients`]).
    pub update_clients: Vec<SlaveId>,
    /// alb: a disabled slave got this MAC; the active slave must receive for it
    /// ([`crate::rlb::Rlb::teach_disabled_mac`]).
    pub teach: Option<MacAddr>,
    pub logs: Vec<MacLog>,
    pub error: Option<MacError>,
}

impl MacPlan {
    /// Applies `assign` and `nic` to a slave list (the caller's bookkeeping, tests).
    pub fn apply(&self, slaves: &mut [MacSlave]) {
        for &(id, mac) in &self.assign {
            if let Some(s) = slaves.iter_mut().find(|s| s.id == id) {
                s.addr = mac;
            }
        }
        for &(id, mac) in &self.nic {
            if let Some(s) = slaves.iter_mut().find(|s| s.id == id) {
                s.nic = mac;
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == MacPlan::default()
    }
}

/// A working copy of the slaves on which the kernel's steps run.
struct Work {
    mode: LbMode,
    slaves: Vec<MacSlave>,
    /// The first `members` slaves are in the bond's list; the others (one being enslaved or
    /// released) are not seen by the searches, as in the kernel.
    members: usize,
    initial: Vec<(MacAddr, MacAddr)>,
    addr_order: Vec<usize>,
    nic_order: Vec<usize>,
    plan: MacPlan,
}

impl Work {
    fn new(mode: LbMode, slaves: Vec<MacSlave>, members: usize) -> Work {
        let initial = slaves.iter().map(|s| (s.addr, s.nic)).collect();
        Work { mode, slaves, members, initial, addr_order: vec![], nic_order: vec![], plan: MacPlan::default() }
    }

    fn touch_addr(&mut self, i: usize, mac: MacAddr) {
        if !self.addr_order.contains(&i) {
            self.addr_order.push(i);
        }
        self.slaves[i].addr = mac;
    }

    fn touch_nic(&mut self, i: usize, mac: MacAddr) {
        if !self.nic_order.contains(&i) {
            self.nic_order.push(i);
        }
        self.slaves[i].nic = mac;
    }

    /// `dev_set_mac_address` by the generic bonding code: the device's address and its NIC.
    fn set_dev(&mut self, i: usize, mac: MacAddr) {
        self.touch_addr(i, mac);
        self.touch_nic(i, mac);
    }

    /// `alb_set_slave_mac_addr`: tlb changes only the software address, alb programs the NIC.
    fn set_slave_mac(&mut self, i: usize, mac: MacAddr) {
        match self.mode {
            LbMode::Tlb => self.touch_addr(i, mac),
            LbMode::Alb => self.set_dev(i, mac),
        }
    }

    /// `alb_swap_mac_addr`.
    fn swap(&mut self, i: usize, j: usize) {
        let tmp = self.slaves[i].addr;
        let other = self.slaves[j].addr;
        self.set_slave_mac(i, other);
        self.set_slave_mac(j, tmp);
    }

    /// `bond_slave_has_mac`: the first member whose address is `mac`.
    fn has_mac(&self, mac: MacAddr) -> Option<usize> {
        self.slaves[..self.members].iter().position(|s| s.addr == mac)
    }

    fn index_of(&self, id: SlaveId) -> Option<usize> {
        self.slaves[..self.members].iter().position(|s| s.id == id)
    }

    fn learn(&mut self, i: usize, mac: MacAddr) {
        let l = Learning { slave: self.slaves[i].id, mac, strict: false };
        if !self.plan.learning.contains(&l) {
            self.plan.learning.push(l);
        }
    }

    fn update_clients(&mut self, i: usize) {
        let id = self.slaves[i].id;
        if self.mode == LbMode::Alb && !self.plan.update_clients.contains(&id) {
            self.plan.update_clients.push(id);
        }
    }

    /// `alb_fasten_mac_swap`: each usable slave of the swap announces its new MAC (learning
    /// packets) and, in alb, has its clients updated; if exactly one of them is disabled, the
    /// active slave must receive for the MAC the disabled one now has.
    fn fasten(&mut self, i: usize, j: usize) {
        let differ = self.slaves[i].usable != self.slaves[j].usable;
        let mut disabled = None;
        for k in [i, j] {
            if self.slaves[k].usable {
                let mac = self.slaves[k].addr;
                self.learn(k, mac);
                self.update_clients(k);
            } else {
                disabled = Some(k);
            }
        }
        if self.mode == LbMode::Alb && differ {
            if let Some(d) = disabled {
                self.plan.teach = Some(self.slaves[d].addr);
            }
        }
    }

    fn log(&mut self, level: LogLevel, i: usize, msg: String) {
        self.plan.logs.push(MacLog { level, slave: self.slaves[i].id, msg });
    }

    /// The changes, first-touched first; values back to where they started are dropped.
    fn finish(mut self) -> MacPlan {
        for &i in &self.addr_order {
            if self.slaves[i].addr != self.initial[i].0 {
                self.plan.assign.push((self.slaves[i].id, self.slaves[i].addr));
            }
        }
        for &i in &self.nic_order {
            if self.slaves[i].nic != self.initial[i].1 {
                self.plan.nic.push((self.slaves[i].id, self.slaves[i].nic));
            }
        }
        self.plan
    }
}

/// A slave joins (`bond_enslave` → `bond_alb_init_slave`). `existing` are the slaves already in
/// the bond (not `new`), `bond_mac` the bond's MAC after the generic step (a bond with a
/// random MAC takes its first slave's MAC before this), `active` the current active slave.
///
/// 1. The slave gets the bond MAC (generic step, both modes).
/// 2. alb programs the slave's own permanent MAC back; tlb only records it as `addr` (the NIC
///    keeps the bond MAC).
/// 3. Unless it is the first slave: a permanent MAC equal to the bond MAC, or already used by
///    another slave (after swaps), is replaced by the permanent MAC of the first slave whose
///    own permanent MAC no slave uses, with the kernel's warning. If there is none while some
///    slave holds the bond MAC, the enslave fails ([`MacError::NoFreeAddress`]) and the plan
///    restores the slave's permanent MAC.
pub fn plan_enslave(
    mode: LbMode,
    bond_mac: MacAddr,
    existing: &[MacSlave],
    new: &MacSlave,
    active: Option<SlaveId>,
) -> MacPlan {
    let mut all = existing.to_vec();
    all.push(new.clone());
    let mut w = Work::new(mode, all, existing.len());
    let n = existing.len();
    let perm = new.perm;
    w.set_dev(n, bond_mac);
    w.set_slave_mac(n, perm);
    if w.members == 0 {
        return w.finish();
    }
    if perm != bond_mac {
        if w.has_mac(w.slaves[n].addr).is_none() {
            return w.finish();
        }
        // Taken by another slave: go through the bond MAC case below.
        w.set_slave_mac(n, bond_mac);
    }
    let mut has_bond_addr = active.and_then(|a| w.index_of(a));
    let mut free = None;
    for i in 0..w.members {
        if w.has_mac(w.slaves[i].perm).is_none() {
            free = Some(i);
            break;
        }
        if has_bond_addr.is_none() && w.slaves[i].addr == bond_mac {
            has_bond_addr = Some(i);
        }
    }
    if let Some(f) = free {
        let (mac, name) = (w.slaves[f].perm, w.slaves[f].name.clone());
        w.set_slave_mac(n, mac);
        w.log(LogLevel::Warn, n, format!("the slave hw address is in use by the bond; giving it the hw address of {name}"));
    } else if has_bond_addr.is_some() {
        w.log(
            LogLevel::Err,
            n,
            "the slave hw address is in use by the bond; couldn't find a slave with a free hw address to give it (this should not have happened)".into(),
        );
        w.plan.error = Some(MacError::NoFreeAddress);
        // The failed enslave puts the slave's own MAC back (err_restore_mac).
        w.set_dev(n, perm);
    }
    w.finish()
}

/// The active slave changes from `old` to `new` (`bond_alb_handle_active_change`).
///
/// Nothing if `new` is `None` or equals `old`. Otherwise the slave to swap with is `old`, or
/// when there is none the slave holding the bond MAC:
///
/// * tlb first programs the new active NIC with the bond MAC (it may have flapped with its
///   own address);
/// * with a swap partner the two slaves exchange addresses, then each usable one sends
///   learning packets for its new MAC and (alb) has its clients updated; if one of them is
///   disabled, the active slave learns its MAC ([`MacPlan::teach`]);
/// * without one, the new active slave takes the bond MAC and sends learning packets for it.
pub fn plan_active_change(
    mode: LbMode,
    bond_mac: MacAddr,
    slaves: &[MacSlave],
    old: Option<SlaveId>,
    new: Option<SlaveId>,
) -> MacPlan {
    let mut w = Work::new(mode, slaves.to_vec(), slaves.len());
    if old == new {
        return w.finish();
    }
    let Some(n) = new.and_then(|id| w.index_of(id)) else { return w.finish() };
    let swap = old.and_then(|id| w.index_of(id)).or_else(|| w.has_mac(bond_mac));
    if mode == LbMode::Tlb {
        w.touch_nic(n, bond_mac);
    }
    match swap {
        Some(s) => {
            w.swap(s, n);
            w.fasten(s, n);
        }
        None => {
            w.set_slave_mac(n, bond_mac);
            w.learn(n, bond_mac);
        }
    }
    w.finish()
}

/// `leaving` is released; `remaining` are the other slaves (the kernel has already unlinked it
/// and cleared the active slave if it was the leaving one).
///
/// * If its permanent MAC is neither its current address nor the bond MAC, and another slave
///   uses it, the two swap (learning packets, client updates, as for an active change).
/// * Its NIC and address are then restored to its permanent MAC.
/// * If its permanent MAC is the bond MAC and slaves remain, the kernel warns that the address
///   is still in use by the bond.
pub fn plan_release(mode: LbMode, bond_mac: MacAddr, remaining: &[MacSlave], leaving: &MacSlave) -> MacPlan {
    let mut all = remaining.to_vec();
    all.push(leaving.clone());
    let mut w = Work::new(mode, all, remaining.len());
    let l = remaining.len();
    let perm = leaving.perm;
    if w.members > 0 && perm != leaving.addr && perm != bond_mac {
        if let Some(f) = w.has_mac(perm) {
            w.swap(l, f);
            w.fasten(l, f);
        }
    }
    if perm == bond_mac && w.members > 0 {
        w.log(
            LogLevel::Warn,
            l,
            format!(
                "the permanent HWaddr of slave - {perm} - is still in use by bond - set the HWaddr of slave to a different address to avoid conflicts"
            ),
        );
    }
    w.set_dev(l, perm);
    w.finish()
}

/// All slaves leave at once (the daemon stops, the bond is deleted): each one's NIC and
/// address go back to its permanent MAC. The kernel releases them one by one with `all` set
/// (no warning); its swaps in between cancel out, since every slave ends on its own MAC.
pub fn plan_release_all(mode: LbMode, slaves: &[MacSlave]) -> MacPlan {
    let mut w = Work::new(mode, slaves.to_vec(), slaves.len());
    for i in 0..slaves.len() {
        let perm = w.slaves[i].perm;
        w.set_dev(i, perm);
    }
    w.finish()
}

/// The bond's MAC is set to `new_mac` (`bond_alb_set_mac_address`).
///
/// * tlb programs every NIC with the new MAC (addresses kept); alb leaves the others alone.
/// * With an active slave: if some slave's address already is `new_mac` it swaps with the
///   active slave (as for an active change); otherwise the active slave takes `new_mac`,
///   sends learning packets and (alb) has its clients updated.
pub fn plan_bond_mac_change(mode: LbMode, new_mac: MacAddr, slaves: &[MacSlave], active: Option<SlaveId>) -> MacPlan {
    let mut w = Work::new(mode, slaves.to_vec(), slaves.len());
    if new_mac.is_multicast() || new_mac.is_zero() {
        w.plan.error = Some(MacError::InvalidAddress);
        return w.finish();
    }
    if mode == LbMode::Tlb {
        for i in 0..w.members {
            w.touch_nic(i, new_mac);
        }
    }
    let Some(a) = active.and_then(|id| w.index_of(id)) else { return w.finish() };
    match w.has_mac(new_mac) {
        Some(s) => {
            w.swap(s, a);
            w.fasten(s, a);
        }
        None => {
            w.set_slave_mac(a, new_mac);
            w.learn(a, new_mac);
            w.update_clients(a);
        }
    }
    w.finish()
}

/// The periodic learning packets (`bond_alb_monitor`, every `lp_interval`): every slave for its
/// own address. Strict everywhere in alb; in tlb the active slave's are not strict (it also
/// speaks for the other addresses of the bond's upper devices).
pub fn periodic_learning(mode: LbMode, slaves: &[MacSlave], active: Option<SlaveId>) -> Vec<Learning> {
    slaves
        .iter()
        .map(|s| Learning { slave: s.id, mac: s.addr, strict: mode == LbMode::Alb || Some(s.id) != active })
        .collect()
}

/// The log line to emit when programming an alb slave's MAC fails (the enslave then fails
/// with EOPNOTSUPP).
pub fn set_mac_failed_log(slave: SlaveId) -> MacLog {
    MacLog { level: LogLevel::Err, slave, msg: ALB_SET_MAC_FAILED.into() }
}

/// A learning packet (`alb_send_lp_vid`): 60 bytes, destination = source = `mac`, EtherType
/// 0x9000 (ETH_P_LOOPBACK), the rest zero (the kernel memsets its `struct learning_pkt`).
/// Its only purpose is to make the switch learn `mac` on the sending port.
pub fn learning_packet(mac: MacAddr) -> [u8; ETH_ZLEN] {
    let mut f = [0u8; ETH_ZLEN];
    f[0..6].copy_from_slice(&mac.0);
    f[6..12].copy_from_slice(&mac.0);
    f[12..14].copy_from_slice(&ETH_P_LOOPBACK.to_be_bytes());
    f
}

/// The tagged copy for a VLAN device on the bond: the same 60 bytes with a `tpid` (0x8100 or
/// 0x88a8) tag carrying `tci` inserted after the source MAC, as the NIC would insert the
/// kernel's metadata tag: 64 bytes.
pub fn learning_packet_tagged(mac: MacAddr, tpid: u16, tci: u16) -> Vec<u8> {
    let base = learning_packet(mac);
    let mut f = Vec::with_capacity(ETH_ZLEN + 4);
    f.extend_from_slice(&base[..12]);
    f.extend_from_slice(&tpid.to_be_bytes());
    f.extend_from_slice(&tci.to_be_bytes());
    f.extend_from_slice(&base[12..]);
    f
}

/// 802.1Q TPID, for [`learning_packet_tagged`].
pub const TPID_8021Q: u16 = ethertype::VLAN;
/// 802.1ad TPID, for [`learning_packet_tagged`].
pub const TPID_8021AD: u16 = ethertype::QINQ;

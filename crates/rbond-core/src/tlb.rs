//! Transmit load balancing of balance-tlb (5) and balance-alb (6): the kernel's
//! `tx_hashtbl` and per-slave `tlb_slave_info` (bond_alb.h constants, bond_alb.c: tlb_choose_channel; `bond_alb.c`).
//!
//! Sans-IO and allocation-free on the per-frame path: the table is a fixed array of 256
//! entries, and the per-slave loads live in a `Vec` that only grows when a slave index is seen
//! for the first time (i.e. after an enslave) and shrinks on release.
//!
//! # Integer widths
//!
//! The kernel keeps `tx_bytes`, `load_history`, the slave `load` and `unbalanced_load` as
//! `u32` (`struct tlb_client_info`, `struct tlb_slave_info`, `struct alb_bond_info`), and
//! computes both `speed << 20` and `load << 3` on those `u32`s before widening to `s64`
//! (`compute_gap`). We copy that exactly, wraps included: a 10 Gb/s slave's "capacity" is
//! `10000 << 20 mod 2^32 = 1 895 825 408`, which is less than a 2.5 Gb/s slave's
//! `2 621 440 000`. (The reference marks the width of `load × 8` as unverified; the kernel's
//! `load` field is a `u32`, so its shift wraps the same way.)
//!
//! # What the caller does
//!
//! * Per frame, either [`TxTable::transmit`] (whole decision: classification, table, fallback
//!   to the active slave, drop rule, source rewrite flag), or the pieces:
//!   [`TxTable::balance_index`] → [`TxTable::choose`] / [`TxTable::add_unbalanced`] →
//!   [`TxTable::xmit`].
//! * A frame sent on a slave other than the active one must get its Ethernet source MAC
//!   rewritten to that slave's MAC ([`needs_src_rewrite`], [`rewrite_src_mac`]).
//! * [`TxTable::tick`] at every monitor tick (or at [`TxTable::next_deadline`]);
//!   [`TxTable::force_rebalance`] when a slave is added or its link comes up;
//!   [`TxTable::slave_down`] when a link goes down; [`TxTable::slave_released`] on release;
//!   [`TxTable::active_changed`] when the current active slave changes.

use crate::frame::{ethertype, ipproto, parse_eth};
use crate::hash::{simple_hash, xmit_hash};
use crate::types::{Millis, SlaveIdx, XmitHashPolicy};

/// Entries in the transmit table (TLB_HASH_TABLE_SIZE): indices are 8-bit.
pub const TLB_HASH_TABLE_SIZE: usize = 256;
/// Period of the transmit rebalance (BOND_TLB_REBALANCE_INTERVAL = 10 s).
pub const TLB_REBALANCE_INTERVAL_MS: u64 = 10_000;
/// The same interval in seconds: the divisor that turns bytes per interval into bytes/s.
const REBALANCE_INTERVAL_S: u32 = 10;

const BROADCAST_MAC: [u8; 6] = [0xff; 6];
/// IPv6 all-nodes multicast MAC: alb treats it as IPv6's broadcast (`mac_v6_allmcast`).
const V6_ALLNODES_MAC: [u8; 6] = [0x33, 0x33, 0x00, 0x00, 0x00, 0x01];
const ICMPV6_NS: u8 = 135;
const ICMPV6_NA: u8 = 136;

/// One entry of the transmit table (`struct tlb_client_info`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TxEntry {
    /// The slave this entry's frames go to; `None` = unassigned.
    pub tx_slave: Option<SlaveIdx>,
    /// Bytes sent through this entry since it was last assigned (u32, wraps like the kernel's).
    pub tx_bytes: u32,
    /// Bytes/s the entry carried in its last rebalance period, plus one; added to the slave's
    /// load when the entry is assigned. 0 until the entry has lived through one rebalance.
    pub load_history: u32,
}

/// What the bond tells the table about one slave, in slave-list order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlbSlave {
    pub idx: SlaveIdx,
    /// ethtool speed in Mb/s (tlb/alb keep a slave without a known speed down).
    pub speed_mbps: u32,
    /// `bond_slave_can_tx`: up, link up, not inactive.
    pub usable: bool,
}

/// The outcome of the send step (`bond_do_alb_xmit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxVerdict {
    /// Send on `slave`; if `rewrite_src`, set the Ethernet source to that slave's MAC first.
    Send { slave: SlaveIdx, rewrite_src: bool },
    /// Nothing can carry the frame (no slave, or the chosen one cannot transmit).
    Drop,
}

/// How a frame is balanced (bond_alb.c: tlb_choose_channel), before the table is consulted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    NotBalanced,
    /// tlb: the index is the bond hash & 0xFF (the hash is needed in full for static lb).
    BondHash,
    /// alb: the index is the simple hash of the destination IP.
    Simple(u8),
}

/// The transmit load-balancing table of one bond.
#[derive(Clone, Debug)]
pub struct TxTable {
    entries: [TxEntry; TLB_HASH_TABLE_SIZE],
    /// `tlb_slave_info.load` per slave index: sum of the load_history of its entries (bytes/s).
    load: Vec<u32>,
    /// Bytes sent on the active slave outside the table in this period (`unbalanced_load`).
    unbalanced_load: u32,
    /// When the next periodic rebalance is due; `None` until the first tick.
    next_rebalance: Option<Millis>,
    /// A rebalance was ordered (slave added / came up): do it at the next tick.
    rebalance_pending: bool,
}

impl Default for TxTable {
    fn default() -> Self {
        Self::new()
    }
}

impl TxTable {
    /// An empty table (`tlb_initialize`): all entries unassigned, no history.
    pub fn new() -> Self {
        TxTable {
            entries: [TxEntry::default(); TLB_HASH_TABLE_SIZE],
            load: Vec::new(),
            unbalanced_load: 0,
            next_rebalance: None,
            rebalance_pending: false,
        }
    }

    // ----- classification ------------------------------------------------------------

    /// Which table index a frame balances on, or `None` if it is not balanced and goes to the
    /// active slave (bond_alb.c: tlb_choose_channel).
    ///
    /// * tlb: destination MAC not multicast/broadcast, and IPv4 or IPv6 other than NS/NA;
    ///   index = `xmit_hash(policy) & 0xFF`.
    /// * alb IPv4: not to ff:ff:ff:ff:ff:ff, not to 255.255.255.255, not IGMP (multicast IS
    ///   balanced); index = XOR of the 4 destination address bytes.
    /// * alb IPv6: not to the broadcast MAC nor 33:33:00:00:00:01, not NS/NA, source not `::`;
    ///   index = XOR of the 16 destination address bytes.
    /// * alb ARP goes to receive load balancing (not here); everything else: `None`.
    ///
    /// `policy` matters only for tlb. A VLAN tag counts as metadata (see [`crate::frame`]).
    pub fn balance_index(alb: bool, policy: XmitHashPolicy, frame: &[u8]) -> Option<u8> {
        match classify(alb, frame) {
            Class::NotBalanced => None,
            Class::BondHash => Some((xmit_hash(policy, frame) & 0xFF) as u8),
            Class::Simple(i) => Some(i),
        }
    }

    // ----- per-frame table use (tlb_dynamic_lb = 1) -------------------------------------

    /// `tlb_choose_channel`: the slave for entry `index`, assigning the least loaded usable
    /// slave if the entry is unassigned (its load grows by the entry's load_history), then
    /// counting `frame_len` into the entry. `None` when the entry is unassigned and no slave
    /// is usable.
    ///
    /// An entry already assigned keeps its slave even if that slave can no longer transmit:
    /// the send step ([`TxTable::xmit`]) then drops the frame and clears the slave's entries,
    /// as the kernel does.
    pub fn choose(&mut self, index: u8, frame_len: usize, slaves: &[TlbSlave]) -> Option<SlaveIdx> {
        let i = index as usize;
        let assigned = match self.entries[i].tx_slave {
            Some(s) => Some(s),
            None => {
                let s = self.least_loaded(slaves)?;
                self.entries[i].tx_slave = Some(s);
                let hist = self.entries[i].load_history;
                let slot = self.load_slot(s);
                *slot = slot.wrapping_add(hist);
                Some(s)
            }
        };
        // skb->len is a u32 in the kernel; the byte counter wraps at 2^32.
        self.entries[i].tx_bytes = self.entries[i].tx_bytes.wrapping_add(frame_len as u32);
        assigned
    }

    /// `tlb_get_least_loaded_slave`: the usable slave with the largest [`compute_gap`], the
    /// first in list order on ties.
    pub fn least_loaded(&self, slaves: &[TlbSlave]) -> Option<SlaveIdx> {
        let mut best: Option<(i64, SlaveIdx)> = None;
        for s in slaves.iter().filter(|s| s.usable) {
            let gap = compute_gap(s.speed_mbps, self.slave_load(s.idx));
            // Strictly greater: an equal gap later in the list does not win.
            if best.is_none_or(|(g, _)| gap > g) {
                best = Some((gap, s.idx));
            }
        }
        best.map(|(_, idx)| idx)
    }

    /// A frame that is not balanced (or found no slave) went to the active slave: its length
    /// counts as unbalanced load, which the active slave carries after the next rebalance.
    pub fn add_unbalanced(&mut self, len: usize) {
        self.unbalanced_load = self.unbalanced_load.wrapping_add(len as u32);
    }

    /// The send step (`bond_do_alb_xmit`) after classification and [`TxTable::choose`] (or
    /// [`static_choice`]):
    ///
    /// * no chosen slave → the active slave; with dynamic lb the length is added to the
    ///   unbalanced load (even when there is no active slave);
    /// * the slave can transmit → send, rewriting the source MAC if it is not the active one;
    /// * it cannot → drop, and with dynamic lb unassign all of that slave's entries (without
    ///   keeping history) and zero its load.
    pub fn xmit(
        &mut self,
        chosen: Option<SlaveIdx>,
        frame_len: usize,
        slaves: &[TlbSlave],
        active: Option<SlaveIdx>,
        dynamic_lb: bool,
    ) -> TxVerdict {
        let tx = match chosen {
            Some(s) => Some(s),
            None => {
                if dynamic_lb {
                    self.add_unbalanced(frame_len);
                }
                active
            }
        };
        match tx {
            Some(s) if can_tx(slaves, s) => {
                TxVerdict::Send { slave: s, rewrite_src: needs_src_rewrite(s, active) }
            }
            Some(s) => {
                if dynamic_lb {
                    self.tx_failed(s);
                }
                TxVerdict::Drop
            }
            None => TxVerdict::Drop,
        }
    }

    /// The whole transmit decision of tlb (`bond_tlb_xmit`) or alb without its ARP/RLB part
    /// (`bond_alb_xmit`): classification, table or static pick, then [`TxTable::xmit`].
    ///
    /// With static lb (`tlb_dynamic_lb=0`) a balanced frame goes to
    /// `usable[xmit_hash mod count]` in both modes (alb too uses the bond hash there, not the
    /// simple hash). alb ARP frames are returned as unbalanced here (to the active slave);
    /// the caller routes them through RLB first.
    pub fn transmit(
        &mut self,
        alb: bool,
        policy: XmitHashPolicy,
        dynamic_lb: bool,
        frame: &[u8],
        slaves: &[TlbSlave],
        active: Option<SlaveIdx>,
    ) -> TxVerdict {
        let class = classify(alb, frame);
        let chosen = if dynamic_lb {
            let index = match class {
                Class::NotBalanced => None,
                Class::BondHash => Some((xmit_hash(policy, frame) & 0xFF) as u8),
                Class::Simple(i) => Some(i),
            };
            index.and_then(|i| self.choose(i, frame.len(), slaves))
        } else if class != Class::NotBalanced {
            static_choice_in(xmit_hash(policy, frame), slaves)
        } else {
            None
        };
        self.xmit(chosen, frame.len(), slaves, active, dynamic_lb)
    }

    // ----- events ------------------------------------------------------------------------

    /// The monitor tick (every 100 ms in the kernel; any cadence works, the rebalance runs at
    /// the first tick at or after its deadline). Rebalances every 10 s, or at once after
    /// [`TxTable::force_rebalance`]. Returns whether it rebalanced.
    ///
    /// The first tick only starts the 10 s period (the kernel's counter starts at 0).
    pub fn tick(&mut self, now: Millis, active: Option<SlaveIdx>) -> bool {
        let due = match self.next_rebalance {
            None => {
                self.next_rebalance = Some(now.saturating_add(TLB_REBALANCE_INTERVAL_MS));
                false
            }
            Some(t) => now >= t,
        };
        if !(due || self.rebalance_pending) {
            return false;
        }
        self.rebalance(active);
        self.rebalance_pending = false;
        self.next_rebalance = Some(now.saturating_add(TLB_REBALANCE_INTERVAL_MS));
        true
    }

    /// When [`TxTable::tick`] has work next. 0 (= now) before the first tick and while a
    /// forced rebalance is pending.
    pub fn next_deadline(&self) -> Millis {
        match self.next_rebalance {
            Some(t) if !self.rebalance_pending => t,
            _ => 0,
        }
    }

    /// The periodic rebalance, now:
    ///
    /// * every assigned entry is unassigned, with `load_history = 1 + tx_bytes / 10` and
    ///   `tx_bytes = 0`;
    /// * every slave's load becomes 0, except the active slave's, which becomes
    ///   `unbalanced_load / 10`; only then (an active slave exists) is `unbalanced_load`
    ///   cleared.
    ///
    /// Entries that are unassigned at this point (never used, or unassigned by a link down)
    /// are left as they are, history and byte count included: the kernel walks each slave's
    /// list of entries, so it never reaches them.
    pub fn rebalance(&mut self, active: Option<SlaveIdx>) {
        for e in self.entries.iter_mut() {
            if e.tx_slave.is_some() {
                e.load_history = 1 + e.tx_bytes / REBALANCE_INTERVAL_S;
                e.tx_bytes = 0;
                e.tx_slave = None;
            }
        }
        for l in self.load.iter_mut() {
            *l = 0;
        }
        if let Some(a) = active {
            let per_s = self.unbalanced_load / REBALANCE_INTERVAL_S;
            *self.load_slot(a) = per_s;
            self.unbalanced_load = 0;
        }
    }

    /// A slave was added or its link came up: rebalance at the next tick.
    pub fn force_rebalance(&mut self) {
        self.rebalance_pending = true;
    }

    /// A slave was enslaved at index `idx` (the kernel appends, so normally `idx` = count):
    /// a zero load slot, later slots shift up, and a forced rebalance. Optional: the table
    /// also copes with unseen indices on its own.
    pub fn slave_added(&mut self, idx: SlaveIdx) {
        if idx < self.load.len() {
            self.load.insert(idx, 0);
            for e in self.entries.iter_mut() {
                if let Some(s) = e.tx_slave.as_mut() {
                    if *s >= idx {
                        *s += 1;
                    }
                }
            }
        } else {
            self.load.resize(idx + 1, 0);
        }
        self.force_rebalance();
    }

    /// Link down: unassign the slave's entries without touching their history or byte
    /// counts, and zero its load (`tlb_clear_slave(.., 0)`).
    pub fn slave_down(&mut self, idx: SlaveIdx) {
        self.clear_slave(idx, false);
    }

    /// The chosen slave could not transmit: the frame is dropped (by the caller) and the
    /// slave's entries are cleared as on link down. [`TxTable::xmit`] calls this itself.
    pub fn tx_failed(&mut self, idx: SlaveIdx) {
        self.clear_slave(idx, false);
    }

    /// Release of the slave at `idx`: its entries are cleared without history, and the
    /// entries and loads of later slaves move down one index, as the slave list does.
    pub fn slave_released(&mut self, idx: SlaveIdx) {
        self.clear_slave(idx, false);
        if idx < self.load.len() {
            self.load.remove(idx);
        }
        for e in self.entries.iter_mut() {
            if let Some(s) = e.tx_slave.as_mut() {
                if *s > idx {
                    *s -= 1;
                }
            }
        }
    }

    /// The current active slave changed from `old` to `new` (`bond_alb_handle_active_change`):
    /// both slaves' entries are unassigned **with** history saved and their loads zeroed.
    /// `old` is the previous active slave, or when there was none the slave holding the bond
    /// MAC. Nothing happens when `new` is `None` or equals `old`.
    pub fn active_changed(&mut self, old: Option<SlaveIdx>, new: Option<SlaveIdx>) {
        let Some(n) = new else { return };
        if old == Some(n) {
            return;
        }
        if let Some(o) = old {
            self.clear_slave(o, true);
        }
        self.clear_slave(n, true);
    }

    /// `tlb_clear_slave`: unassign every entry of slave `idx` (with `save_load`, turning its
    /// byte count into history first) and set the slave's load to 0.
    pub fn clear_slave(&mut self, idx: SlaveIdx, save_load: bool) {
        for e in self.entries.iter_mut() {
            if e.tx_slave == Some(idx) {
                if save_load {
                    e.load_history = 1 + e.tx_bytes / REBALANCE_INTERVAL_S;
                    e.tx_bytes = 0;
                }
                e.tx_slave = None;
            }
        }
        if let Some(l) = self.load.get_mut(idx) {
            *l = 0;
        }
    }

    // ----- inspection (status, tests) -----------------------------------------------------

    pub fn entry(&self, index: u8) -> &TxEntry {
        &self.entries[index as usize]
    }

    pub fn entries(&self) -> &[TxEntry; TLB_HASH_TABLE_SIZE] {
        &self.entries
    }

    /// The slave's current load in bytes/s (0 for an index the table has not seen).
    pub fn slave_load(&self, idx: SlaveIdx) -> u32 {
        self.load.get(idx).copied().unwrap_or(0)
    }

    pub fn unbalanced_load(&self) -> u32 {
        self.unbalanced_load
    }

    /// Entries currently assigned to `idx`.
    pub fn assigned_count(&self, idx: SlaveIdx) -> usize {
        self.entries.iter().filter(|e| e.tx_slave == Some(idx)).count()
    }

    /// The load slot of `idx`, growing the vector the first time an index is seen (after an
    /// enslave), so the steady state allocates nothing.
    fn load_slot(&mut self, idx: SlaveIdx) -> &mut u32 {
        if idx >= self.load.len() {
            self.load.resize(idx + 1, 0);
        }
        &mut self.load[idx]
    }
}

/// `compute_gap`: `(speed << 20) − (load << 3)`, both shifts in **32-bit** unsigned arithmetic
/// as in the kernel, the difference in 64-bit. Speeds of 4096 Mb/s and more wrap:
/// 10000 → 1 895 825 408, 25000 → 444 596 224, 4096 → 0.
pub fn compute_gap(speed_mbps: u32, load: u32) -> i64 {
    let capacity = speed_mbps << 20; // Mb/s → ~bit/s, truncated to 32 bits
    let used = load << 3; // bytes/s → bit/s, truncated to 32 bits
    capacity as i64 - used as i64
}

/// tlb_dynamic_lb=0: `usable[hash mod count]` (unsigned 32-bit modulo); `None` if empty.
pub fn static_choice(hash: u32, usable: &[SlaveIdx]) -> Option<SlaveIdx> {
    if usable.is_empty() {
        return None;
    }
    usable.get((hash % usable.len() as u32) as usize).copied()
}

/// [`static_choice`] over the usable members of `slaves`, without building the array.
fn static_choice_in(hash: u32, slaves: &[TlbSlave]) -> Option<SlaveIdx> {
    let count = slaves.iter().filter(|s| s.usable).count() as u32;
    if count == 0 {
        return None;
    }
    slaves.iter().filter(|s| s.usable).nth((hash % count) as usize).map(|s| s.idx)
}

/// A frame sent on `chosen` must carry `chosen`'s own MAC as its source unless `chosen` is the
/// active slave (which owns the bond MAC).
pub fn needs_src_rewrite(chosen: SlaveIdx, active: Option<SlaveIdx>) -> bool {
    active != Some(chosen)
}

/// Sets the Ethernet source address (bytes 6..12). Frames shorter than a header are left alone.
pub fn rewrite_src_mac(frame: &mut [u8], mac: crate::types::MacAddr) {
    if let Some(src) = frame.get_mut(6..12) {
        src.copy_from_slice(&mac.0);
    }
}

fn can_tx(slaves: &[TlbSlave], idx: SlaveIdx) -> bool {
    slaves.iter().any(|s| s.idx == idx && s.usable)
}

/// bond_alb.c: tlb_choose_channel balancing rules. Truncated headers follow the kernel's header pulls: tlb hashes a short
/// IPv4 frame anyway, alb does not balance an IPv4 frame without its 20-byte header, and an
/// IPv6 frame without its 40-byte header, or an ICMPv6 one without the 8-byte ICMPv6 header,
/// counts as neighbour discovery (`alb_determine_nd` returns true) and is not balanced.
fn classify(alb: bool, frame: &[u8]) -> Class {
    let Some(m) = parse_eth(frame) else { return Class::NotBalanced };
    let l3 = frame.get(m.l3_offset..).unwrap_or(&[]);
    if !alb {
        if m.dst.is_multicast() {
            return Class::NotBalanced;
        }
        return match m.ethertype {
            ethertype::IPV4 => Class::BondHash,
            ethertype::IPV6 if !ipv6_is_nd(l3) => Class::BondHash,
            _ => Class::NotBalanced,
        };
    }
    match m.ethertype {
        ethertype::IPV4 => {
            if m.dst.0 == BROADCAST_MAC || l3.len() < 20 {
                return Class::NotBalanced;
            }
            let daddr = &l3[16..20];
            if daddr == [0xff; 4] || l3[9] == ipproto::IGMP {
                return Class::NotBalanced;
            }
            Class::Simple(simple_hash(daddr))
        }
        ethertype::IPV6 => {
            if m.dst.0 == BROADCAST_MAC || m.dst.0 == V6_ALLNODES_MAC || ipv6_is_nd(l3) {
                return Class::NotBalanced;
            }
            // ipv6_is_nd returned false, so the 40-byte header is present.
            if l3[8..24] == [0u8; 16] {
                // Source `::`: a DAD probe; balancing it would fake duplicate-address hits.
                return Class::NotBalanced;
            }
            Class::Simple(simple_hash(&l3[24..40]))
        }
        _ => Class::NotBalanced,
    }
}

/// `alb_determine_nd` on the L3 bytes: NS or NA, or too short to tell.
fn ipv6_is_nd(l3: &[u8]) -> bool {
    if l3.len() < 40 {
        return true;
    }
    if l3[6] != ipproto::ICMPV6 {
        return false;
    }
    match l3.get(40..48) {
        Some(icmp) => icmp[0] == ICMPV6_NS || icmp[0] == ICMPV6_NA,
        None => true,
    }
}

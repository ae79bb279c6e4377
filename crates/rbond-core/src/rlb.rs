//! Receive load balancing of balance-alb (6), IPv4 only: the kernel's `rx_hashtbl` and the
//! `rlb_*` functions of `bond_alb.c` (bond_alb.h constants, bond_alb.c: rlb_*).
//!
//! An alb bond cannot make the switch spread the traffic *towards* it, so it spreads its
//! **clients** instead: every client is told (by ARP) the MAC of a different slave for the
//! bond's IP, and then sends to that slave. The table below remembers which client was given
//! which slave, and re-teaches clients when that changes.
//!
//! Sans-IO: events in ([`Rlb::tx_arp`], [`Rlb::rx_arp`], the slave events, [`Rlb::tick`]),
//! outputs queued for [`Rlb::poll_output`]. No clock; the only allocations are the frames the
//! bond originates (client updates) and log lines.
//!
//! # Slaves
//!
//! Slaves are named by a stable [`SlaveId`] that the caller chooses and never renumbers, and
//! every call that needs them takes the slave list **in enslave order** (`&[AlbSlave]`): the
//! round robin of [`Rlb::tx_arp`] and of the rebalance walks that order, as the kernel walks
//! its slave list.
//!
//! # What the caller does (the alb mode component)
//!
//! * **Outgoing ARP** (from the bond device, any VLAN above it): [`Rlb::tx_arp`] before the
//!   frame leaves. It rewrites the frame in place and returns the slave to send it on; `None`
//!   means "not RLB's business": send it like any unbalanced frame, on the active slave.
//!   The kernel also leaves alone ARP whose sender IP belongs to a bridge device above the bond
//!   (`rlb_arp_xmit`: `ip_dev_find` + `netif_is_any_bridge_master`); the core does not know the
//!   host's addresses, so the caller skips `tx_arp` for those.
//! * **Incoming ARP** on any slave, before receive filtering (bond_main.c: bond_should_deliver_exact_match step 1): [`Rlb::rx_arp`].
//! * **Slave events:** [`Rlb::slave_added`] and [`Rlb::slave_up`] (order a rebalance),
//!   [`Rlb::slave_down`] (link down: move its clients), [`Rlb::slave_removed`] (release).
//! * **Active slave change:** [`Rlb::active_changed`] first, then the MAC plan of
//!   [`crate::alb_mac`]; for a plan's `update_clients` call [`Rlb::update_slave_clients`],
//!   for its `teach` call [`Rlb::teach_disabled_mac`].
//! * **Monitor:** [`Rlb::tick`] every 100 ms (`bond_alb_monitor`), with the slaves' MACs as
//!   they are *now* (after any swap): client updates carry them.
//! * Drain [`Rlb::poll_output`] after each call.
//!
//! # Time
//!
//! The kernel counts monitor ticks; we take the caller's clock and express each counter as
//! "the n-th tick after the event", which with 100 ms ticks is "the first tick later than
//! event + (n − 1) × 100 ms":
//!
//! * update delay: the counter is set to 20 and the updates go out at the 21st tick, i.e. the
//!   first tick **strictly after** event + 2 s. After an update pass the counter is reset, so
//!   retry passes are 2.1 s apart, as in the kernel;
//! * promiscuity: dropped at the 100th tick after it was (last) set, the first tick strictly
//!   after set + 9.9 s.

use std::collections::VecDeque;
use std::net::Ipv4Addr;

use serde::Serialize;

use crate::frame::view::{ArpView, ARPOP_REPLY, ARPOP_REQUEST};
use crate::frame::{ethertype, parse_arp, parse_eth, ETH_ZLEN};
use crate::hash::simple_hash;
use crate::types::{MacAddr, Millis, SlaveId};

/// Entries in the client table (RLB_HASH_TABLE_SIZE): the index is the 8-bit simple hash.
pub const RLB_HASH_TABLE_SIZE: usize = 256;
/// Period of the alb monitor (`bond_alb_monitor`, ALB_TIMER_TICKS_PER_SEC = 10).
pub const ALB_TICK_MS: Millis = 100;
/// Pause before client updates after an outgoing request or an update pass
/// (RLB_UPDATE_DELAY = 2 s).
pub const RLB_UPDATE_DELAY_MS: Millis = 2_000;
/// ARP replies per client update (RLB_ARP_BURST_SIZE).
pub const RLB_ARP_BURST_SIZE: usize = 2;
/// Extra update passes after a slave failure/removal or a MAC swap (RLB_UPDATE_RETRY).
pub const RLB_UPDATE_RETRY: u8 = 3;
/// How long the active slave stays promiscuous after learning a disabled slave's MAC
/// (RLB_PROMISC_TIMEOUT = 10 s).
pub const RLB_PROMISC_TIMEOUT_MS: Millis = 10_000;

/// What RLB needs to know about one slave, given in slave-list order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlbSlave {
    pub id: SlaveId,
    /// The slave's own current MAC (the kernel's `slave->dev->dev_addr`): what its ARP replies
    /// and client updates carry. The active slave's is the bond MAC.
    pub mac: MacAddr,
    /// ethtool speed in Mb/s (alb keeps a slave without a known speed down).
    pub speed_mbps: u32,
    /// `bond_slave_can_tx`: device up and link UP (alb slaves are never "backup").
    pub usable: bool,
}

/// One entry of the client table (`struct rlb_client_info`). The kernel's names are
/// `ip_src`/`mac_src` for the server side (the bond) and `ip_dst`/`mac_dst` for the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RlbEntry {
    /// The entry holds a client (it is on the "used" list).
    pub assigned: bool,
    /// The bond's IP this client talks to (`ip_src`).
    pub server_ip: Ipv4Addr,
    /// The client (`ip_dst`); the entry's index is the simple hash of it.
    pub client_ip: Ipv4Addr,
    /// Sender MAC of the bond's ARP that created the entry, before any rewrite (`mac_src`):
    /// the bond's (or a VLAN device's) MAC. An incoming ARP for the server IP from another MAC
    /// purges the entry.
    pub server_mac: MacAddr,
    /// The client's MAC (`mac_dst`); the target hardware address of the bond's request
    /// (zero or broadcast) until the client's reply is seen.
    pub client_mac: MacAddr,
    /// The slave whose MAC this client is taught; `None` after its slave failed with no other
    /// usable slave left.
    pub slave: Option<SlaveId>,
    /// The client must be updated at the next update pass (`ntt`).
    pub ntt: bool,
    /// 802.1Q TCI of the ARP that assigned the entry; 0 = untagged (the kernel tests
    /// `vlan_id != 0`, so a priority tag with VID 0 and PCP 0 counts as untagged).
    pub vlan_tci: u16,
}

impl RlbEntry {
    const EMPTY: RlbEntry = RlbEntry {
        assigned: false,
        server_ip: Ipv4Addr::UNSPECIFIED,
        client_ip: Ipv4Addr::UNSPECIFIED,
        server_mac: MacAddr::ZERO,
        client_mac: MacAddr::ZERO,
        slave: None,
        ntt: false,
        vlan_tci: 0,
    };
}

/// A client as status shows it (`--json`): one per assigned entry, in table-index order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RlbClient {
    /// Table index = simple hash of the client IP.
    pub index: u8,
    pub client_ip: Ipv4Addr,
    /// `None` while only the bond's request has been seen (no unicast MAC yet).
    pub client_mac: Option<MacAddr>,
    pub server_ip: Ipv4Addr,
    pub slave: Option<SlaveId>,
    /// The 802.1Q TCI the client's updates are tagged with.
    pub vlan_tci: Option<u16>,
    /// An update is pending.
    pub update_pending: bool,
}

/// What the caller must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RlbOutput {
    /// Send `frame` (a complete Ethernet frame, VLAN tag in-band) on `slave`.
    Send { slave: SlaveId, frame: Vec<u8> },
    /// Turn promiscuous mode on or off on `slave` (the active slave, while it receives for a
    /// disabled slave's MAC: `rlb_teach_disabled_mac_on_primary`).
    Promisc { slave: SlaveId, on: bool },
    /// Send learning packets ([`crate::alb_mac::learning_packet`]) with source `mac` on
    /// `slave`, so the switch moves `mac` to that port. `strict`: tagged copies only for VLAN
    /// devices on the bond whose MAC is `mac` (`alb_send_learning_packets(.., strict_match)`).
    Learning { slave: SlaveId, mac: MacAddr, strict: bool },
    /// A kernel log line (netdev_err level) for the bond.
    Log { msg: String },
}

/// The receive load-balancing state of one alb bond (`struct alb_bond_info`, rlb part).
#[derive(Clone, Debug)]
pub struct Rlb {
    entries: [RlbEntry; RLB_HASH_TABLE_SIZE],
    /// Assigned entries, most recently assigned first (`rx_hashtbl_used_head` and the
    /// `used_next` chain). Its order decides the order of update frames and which client
    /// gets which slave in a redistribution, so it is kept exactly.
    used: Vec<u8>,
    /// The slave chosen last by the round robin (`rx_slave`).
    rx_slave: Option<SlaveId>,
    /// Some entry is marked (`rx_ntt`).
    rx_ntt: bool,
    /// No update pass until a tick later than this (`rlb_update_delay_counter`).
    update_delay_until: Option<Millis>,
    /// Update passes still to repeat (`rlb_update_retry_counter`).
    retry: u8,
    /// Redistribute all clients at the next tick (`rlb_rebalance`).
    rebalance: bool,
    /// The slave made promiscuous and when (`primary_is_promisc` + its timeout counter).
    promisc: Option<(SlaveId, Millis)>,
    out: VecDeque<RlbOutput>,
}

impl Default for Rlb {
    fn default() -> Self {
        Self::new()
    }
}

impl Rlb {
    /// An empty table (`rlb_initialize`).
    pub fn new() -> Self {
        Rlb {
            entries: [RlbEntry::EMPTY; RLB_HASH_TABLE_SIZE],
            used: Vec::with_capacity(RLB_HASH_TABLE_SIZE),
            rx_slave: None,
            rx_ntt: false,
            update_delay_until: None,
            retry: 0,
            rebalance: false,
            promisc: None,
            out: VecDeque::new(),
        }
    }

    // ----- frames from the bond ------------------------------------------------------------

    /// An ARP frame the bond is sending (`rlb_arp_xmit`). Returns the slave to send it on, or
    /// `None` to send it unbalanced on the active slave.
    ///
    /// Only ARP whose sender MAC is the bond's or a slave's (it originates on the bond or a
    /// VLAN device directly above it) is balanced:
    ///
    /// * **reply:** the client gets a slave ([`Rlb`] round robin, or its old slave for the same
    ///   server/client pair) and the ARP **sender MAC** becomes that slave's MAC, so the client
    ///   learns that slave for the bond's IP;
    /// * **request:** the target gets a placeholder entry (client MAC still unknown), the next
    ///   update pass waits 2 s, and every known client of the same server IP whose slave's MAC
    ///   is not the bond MAC is marked for update: the broadcast request just taught them all
    ///   the bond MAC. The request itself goes out on the chosen slave, sender MAC untouched.
    ///
    /// When the frame goes out on a slave other than `active`, its Ethernet source is set to
    /// that slave's MAC here (what `bond_do_alb_xmit` does for every balanced frame), so the
    /// frame is ready to send as it is.
    ///
    /// Frames that are not Ethernet/IPv4 ARP with 6-byte and 4-byte addresses are left alone
    /// (`None`); the kernel reads its fixed offsets without checking those fields.
    pub fn tx_arp(
        &mut self,
        frame: &mut [u8],
        slaves: &[AlbSlave],
        active: Option<SlaveId>,
        bond_mac: MacAddr,
        now: Millis,
    ) -> Option<SlaveId> {
        let meta = parse_eth(frame)?;
        let arp = parse_arp(frame)?;
        // bond_slave_has_mac_rcu(): the sender is us. The bond MAC always sits on one slave,
        // but between a release and the next active slave it may sit on none, so accept it
        // explicitly.
        if arp.sha != bond_mac && !slaves.iter().any(|s| s.mac == arp.sha) {
            return None;
        }
        let tci = meta.vlan_tci.unwrap_or(0);
        let chosen = match arp.op {
            ARPOP_REPLY => {
                let s = self.choose_channel(&arp, tci, slaves, active)?;
                let mac = mac_of(slaves, s)?;
                let sha = meta.l3_offset + 8;
                frame[sha..sha + 6].copy_from_slice(&mac.0);
                Some(s)
            }
            ARPOP_REQUEST => {
                let s = self.choose_channel(&arp, tci, slaves, active);
                // The replies must wait so that they undo the request's effect rather than
                // be undone by it.
                self.update_delay_until = Some(now.saturating_add(RLB_UPDATE_DELAY_MS));
                self.req_update_subnet_clients(arp.spa, slaves, bond_mac);
                s
            }
            _ => None,
        }?;
        if Some(chosen) != active {
            let mac = mac_of(slaves, chosen)?;
            frame[6..12].copy_from_slice(&mac.0);
        }
        Some(chosen)
    }

    /// `rlb_choose_channel`: the slave for the client `arp.tpa` of server `arp.spa`, creating
    /// or taking over its entry.
    fn choose_channel(
        &mut self,
        arp: &ArpView,
        vlan_tci: u16,
        slaves: &[AlbSlave],
        active: Option<SlaveId>,
    ) -> Option<SlaveId> {
        let idx = simple_hash(&arp.tpa.octets()) as usize;
        let e = self.entries[idx];
        if e.assigned {
            if e.server_ip == arp.spa && e.client_ip == arp.tpa {
                // Same pair: keep the slave, refresh the MACs.
                let e = &mut self.entries[idx];
                if arp.tha != MacAddr::BROADCAST {
                    e.client_mac = arp.tha;
                }
                e.server_mac = arp.sha;
                // The kernel returns the slave it has; a slave the caller now reports as
                // unusable without having told us (slave_down) is treated as none instead,
                // so the client is never pinned to a dead slave.
                if let Some(s) = e.slave.filter(|&s| is_usable(slaves, s)) {
                    return Some(s);
                }
            } else if let Some(a) = active {
                // Collision: another client owns the entry. Move it to the active slave (which
                // holds the bond MAC) and tell it so now, before its entry is reused.
                if e.slave != Some(a) {
                    self.entries[idx].slave = Some(a);
                    self.send_update(idx, slaves);
                }
            }
        }
        let s = self.next_rx_slave(slaves, None)?;
        let e = &mut self.entries[idx];
        e.server_ip = arp.spa;
        e.client_ip = arp.tpa;
        // For a request this is its target hardware address (zero from Linux, broadcast from
        // some stacks): not a valid unicast MAC, so no update until the client's reply.
        e.client_mac = arp.tha;
        e.server_mac = arp.sha;
        e.slave = Some(s);
        if is_valid_unicast(arp.tha) {
            e.ntt = true;
            self.rx_ntt = true;
        } else {
            e.ntt = false;
        }
        e.vlan_tci = vlan_tci;
        if !e.assigned {
            e.assigned = true;
            self.used.insert(0, idx as u8);
        }
        Some(s)
    }

    /// `rlb_req_update_subnet_clients`: after a broadcast request from `server_ip`, every
    /// client of it that is not on the bond MAC's slave and has a known MAC needs its slave's
    /// MAC back.
    fn req_update_subnet_clients(&mut self, server_ip: Ipv4Addr, slaves: &[AlbSlave], bond_mac: MacAddr) {
        for k in 0..self.used.len() {
            let idx = self.used[k] as usize;
            let e = self.entries[idx];
            let Some(s) = e.slave else {
                self.out.push_back(RlbOutput::Log {
                    msg: "found a client with no channel in the client's hash table".into(),
                });
                continue;
            };
            let on_bond_mac = mac_of(slaves, s) == Some(bond_mac);
            if e.server_ip == server_ip && !on_bond_mac && is_valid_unicast(e.client_mac) {
                self.entries[idx].ntt = true;
                self.rx_ntt = true;
            }
        }
    }

    // ----- frames from the wire ------------------------------------------------------------

    /// An ARP frame received on any slave (`rlb_arp_recv`), before receive filtering.
    ///
    /// * Entries whose server IP is the sender IP but whose server MAC differs are purged:
    ///   another host now uses that IP, and updates would hand its IP out with our MACs.
    /// * A reply from a known client to its server with a new MAC records the MAC and marks
    ///   the client for update (`rlb_update_entry_from_arp`).
    pub fn rx_arp(&mut self, frame: &[u8]) {
        let Some(arp) = parse_arp(frame) else { return };
        self.purge_server_ip(arp.spa, arp.sha);
        if arp.op == ARPOP_REPLY {
            let idx = simple_hash(&arp.spa.octets()) as usize;
            let e = &mut self.entries[idx];
            if e.assigned && e.server_ip == arp.tpa && e.client_ip == arp.spa && e.client_mac != arp.sha {
                e.client_mac = arp.sha;
                e.ntt = true;
                self.rx_ntt = true;
            }
        }
    }

    /// `rlb_purge_src_ip`.
    fn purge_server_ip(&mut self, ip: Ipv4Addr, mac: MacAddr) {
        let mut k = 0;
        while k < self.used.len() {
            let i = self.used[k];
            let e = &self.entries[i as usize];
            if e.server_ip == ip && e.server_mac != mac {
                self.delete_entry(i); // removes used[k]; the next one moves into k
            } else {
                k += 1;
            }
        }
    }

    /// `rlb_delete_table_entry`.
    fn delete_entry(&mut self, idx: u8) {
        self.used.retain(|&i| i != idx);
        self.entries[idx as usize] = RlbEntry::EMPTY;
    }

    // ----- slave events ----------------------------------------------------------------------

    /// A slave was enslaved (`bond_alb_init_slave`): redistribute at the next tick.
    pub fn slave_added(&mut self) {
        self.rebalance = true;
    }

    /// A slave's link came up (`bond_alb_handle_link_change(.., BOND_LINK_UP)`): redistribute
    /// at the next tick.
    pub fn slave_up(&mut self) {
        self.rebalance = true;
    }

    /// A slave's link went down (`rlb_clear_slave`): each of its clients moves to the next
    /// slave of the round robin and is updated, with retries. `mac` is the failed slave's
    /// current MAC; `slaves` should already show it unusable (it is skipped in any case).
    /// If it was not the active slave, the active slave goes promiscuous for 10 s and sends
    /// learning packets for `mac`, so frames still addressed to it are not lost.
    pub fn slave_down(
        &mut self,
        id: SlaveId,
        mac: MacAddr,
        slaves: &[AlbSlave],
        active: Option<SlaveId>,
        now: Millis,
    ) {
        self.clear_slave(id, mac, slaves, active, now);
    }

    /// A slave was released (`bond_alb_deinit_slave`): the round robin restarts and its clients
    /// move as for [`Rlb::slave_down`]. `mac` is the MAC the slave had when it left (after the
    /// swap of [`crate::alb_mac::plan_release`]); `slaves` are the remaining ones; `active` is
    /// `None` if the released slave was the active one (the kernel clears the active slave
    /// before this point).
    pub fn slave_removed(
        &mut self,
        id: SlaveId,
        mac: MacAddr,
        slaves: &[AlbSlave],
        active: Option<SlaveId>,
        now: Millis,
    ) {
        self.rx_slave = None;
        self.clear_slave(id, mac, slaves, active, now);
    }

    fn clear_slave(&mut self, id: SlaveId, mac: MacAddr, slaves: &[AlbSlave], active: Option<SlaveId>, now: Millis) {
        for k in 0..self.used.len() {
            let idx = self.used[k] as usize;
            if self.entries[idx].slave != Some(id) {
                continue;
            }
            match self.next_rx_slave(slaves, Some(id)) {
                Some(n) => {
                    let e = &mut self.entries[idx];
                    e.slave = Some(n);
                    if is_valid_unicast(e.client_mac) {
                        e.ntt = true;
                        self.rx_ntt = true;
                        // Clients that miss the update would keep sending to a dead port.
                        self.retry = RLB_UPDATE_RETRY;
                    }
                }
                None => self.entries[idx].slave = None,
            }
        }
        if active != Some(id) {
            self.teach_disabled_mac(active, mac, now);
        }
    }

    /// `rlb_teach_disabled_mac_on_primary`: the active slave receives for `mac` (a slave that
    /// cannot receive any more, or that got a MAC while disabled): promiscuous mode for
    /// 10 s (restarted if already on) and strict learning packets for `mac`.
    pub fn teach_disabled_mac(&mut self, active: Option<SlaveId>, mac: MacAddr, now: Millis) {
        let Some(a) = active else { return };
        match self.promisc {
            Some((s, _)) => self.promisc = Some((s, now)),
            None => {
                self.out.push_back(RlbOutput::Promisc { slave: a, on: true });
                self.promisc = Some((a, now));
            }
        }
        self.out.push_back(RlbOutput::Learning { slave: a, mac, strict: true });
    }

    /// The active slave changed to `new` (`bond_alb_handle_active_change`, its first step): a
    /// promiscuity set on the old one is dropped at once. Call before applying the MAC plan.
    pub fn active_changed(&mut self, new: Option<SlaveId>) {
        if let Some((p, _)) = self.promisc {
            if Some(p) != new {
                self.out.push_back(RlbOutput::Promisc { slave: p, on: false });
                self.promisc = None;
            }
        }
    }

    /// `rlb_req_update_slave_clients`: `slave`'s MAC changed (swap); all its clients with a
    /// known MAC are updated at the next pass, with retries.
    pub fn update_slave_clients(&mut self, slave: SlaveId) {
        let mut any = false;
        for &i in &self.used {
            let e = &mut self.entries[i as usize];
            if e.slave == Some(slave) && is_valid_unicast(e.client_mac) {
                e.ntt = true;
                any = true;
            }
        }
        if any {
            self.rx_ntt = true;
            self.retry = RLB_UPDATE_RETRY;
        }
    }

    // ----- monitor -----------------------------------------------------------------------------

    /// The rlb part of `bond_alb_monitor`, every 100 ms, in the kernel's order:
    ///
    /// 1. the active slave's promiscuity ends at the 100th tick after it was set;
    /// 2. a pending rebalance redistributes every client over the usable slaves;
    /// 3. if clients are marked and the update delay is over, an update pass: 2 ARP replies per
    ///    marked client from its slave. After a pass the delay restarts (2 s); while retries
    ///    are left the marks stay for another pass, else they are cleared.
    ///
    /// `slaves` with their MACs as they are now. Nothing happens without slaves.
    pub fn tick(&mut self, now: Millis, slaves: &[AlbSlave]) {
        if slaves.is_empty() {
            return;
        }
        if let Some((p, since)) = self.promisc {
            if now > since.saturating_add(RLB_PROMISC_TIMEOUT_MS - ALB_TICK_MS) {
                self.out.push_back(RlbOutput::Promisc { slave: p, on: false });
                self.promisc = None;
            }
        }
        if self.rebalance {
            self.rebalance = false;
            self.redistribute(slaves);
        }
        if self.rx_ntt {
            if self.update_delay_until.is_some_and(|t| now <= t) {
                return;
            }
            self.update_pass(slaves, now);
            if self.retry > 0 {
                self.retry -= 1;
            } else {
                self.rx_ntt = false;
            }
        }
    }

    /// `rlb_rebalance`: walk the clients (most recent first) giving each the next slave of the
    /// round robin; a client whose slave changes is marked if its MAC is not zero (a broadcast
    /// placeholder is marked too, and skipped by the update itself, as in the kernel).
    fn redistribute(&mut self, slaves: &[AlbSlave]) {
        let mut any = false;
        for k in 0..self.used.len() {
            let idx = self.used[k] as usize;
            let Some(n) = self.next_rx_slave(slaves, None) else { continue };
            let e = &mut self.entries[idx];
            if e.slave != Some(n) {
                e.slave = Some(n);
                if !e.client_mac.is_zero() {
                    e.ntt = true;
                    any = true;
                }
            }
        }
        if any {
            self.rx_ntt = true;
        }
    }

    /// `rlb_update_rx_clients`.
    fn update_pass(&mut self, slaves: &[AlbSlave], now: Millis) {
        for k in 0..self.used.len() {
            let idx = self.used[k] as usize;
            if self.entries[idx].ntt {
                self.send_update(idx, slaves);
                if self.retry == 0 {
                    self.entries[idx].ntt = false;
                }
            }
        }
        // Do not update again for 2 s, "so that not to confuse the clients".
        self.update_delay_until = Some(now.saturating_add(RLB_UPDATE_DELAY_MS));
    }

    /// `rlb_update_client`: 2 ARP replies teaching the client its slave's MAC. Nothing for an
    /// entry without a slave or a valid client MAC. A slave that cannot transmit is skipped
    /// too (the kernel's frames would die in its queue).
    fn send_update(&mut self, idx: usize, slaves: &[AlbSlave]) {
        let e = self.entries[idx];
        let Some(s) = e.slave else { return };
        if !is_valid_unicast(e.client_mac) {
            return;
        }
        let Some(sl) = slaves.iter().find(|x| x.id == s && x.usable) else { return };
        let tci = (e.vlan_tci != 0).then_some(e.vlan_tci);
        for _ in 0..RLB_ARP_BURST_SIZE {
            let frame = client_update_frame(sl.mac, e.server_ip, e.client_mac, e.client_ip, tci);
            self.out.push_back(RlbOutput::Send { slave: s, frame });
        }
    }

    /// `__rlb_next_rx_slave`: round robin among the fastest usable slaves. Walking the list in
    /// order, `before` is the fastest usable slave up to and including the last one chosen,
    /// `after` the fastest after it (first in list order on ties). `after` wins unless it does
    /// not exist or `before` is strictly faster. If the last chosen slave is unknown or not
    /// usable, everything counts as `before`: the fastest usable slave.
    fn next_rx_slave(&mut self, slaves: &[AlbSlave], exclude: Option<SlaveId>) -> Option<SlaveId> {
        let mut before: Option<&AlbSlave> = None;
        let mut after: Option<&AlbSlave> = None;
        let mut found = false;
        for s in slaves.iter().filter(|s| s.usable && Some(s.id) != exclude) {
            if !found {
                if before.is_none_or(|b| b.speed_mbps < s.speed_mbps) {
                    before = Some(s);
                }
            } else if after.is_none_or(|a| a.speed_mbps < s.speed_mbps) {
                after = Some(s);
            }
            if Some(s.id) == self.rx_slave {
                found = true;
            }
        }
        let pick = match (after, before) {
            (Some(a), Some(b)) if a.speed_mbps < b.speed_mbps => Some(b),
            (Some(a), _) => Some(a),
            (None, b) => b,
        }?;
        self.rx_slave = Some(pick.id);
        Some(pick.id)
    }

    // ----- outputs and inspection ----------------------------------------------------------

    /// The next thing to do, oldest first.
    pub fn poll_output(&mut self) -> Option<RlbOutput> {
        self.out.pop_front()
    }

    /// The clients, in table-index order (status, `--json`).
    pub fn clients(&self) -> Vec<RlbClient> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.assigned)
            .map(|(i, e)| RlbClient {
                index: i as u8,
                client_ip: e.client_ip,
                client_mac: is_valid_unicast(e.client_mac).then_some(e.client_mac),
                server_ip: e.server_ip,
                slave: e.slave,
                vlan_tci: (e.vlan_tci != 0).then_some(e.vlan_tci),
                update_pending: e.ntt,
            })
            .collect()
    }

    pub fn entry(&self, index: u8) -> &RlbEntry {
        &self.entries[index as usize]
    }

    /// Indices of the assigned entries, most recently assigned first.
    pub fn used_order(&self) -> &[u8] {
        &self.used
    }

    /// Clients currently assigned to `slave`.
    pub fn assigned_count(&self, slave: SlaveId) -> usize {
        self.used.iter().filter(|&&i| self.entries[i as usize].slave == Some(slave)).count()
    }

    /// Some client waits for an update pass.
    pub fn update_pending(&self) -> bool {
        self.rx_ntt
    }

    /// Update passes that will still be repeated.
    pub fn retries_left(&self) -> u8 {
        self.retry
    }

    /// The slave made promiscuous by RLB, if any.
    pub fn promisc_slave(&self) -> Option<SlaveId> {
        self.promisc.map(|(s, _)| s)
    }

    /// The slave the round robin chose last.
    pub fn last_chosen(&self) -> Option<SlaveId> {
        self.rx_slave
    }
}

/// `is_valid_ether_addr`: not multicast (broadcast included), not zero.
fn is_valid_unicast(m: MacAddr) -> bool {
    !m.is_multicast() && !m.is_zero()
}

fn mac_of(slaves: &[AlbSlave], id: SlaveId) -> Option<MacAddr> {
    slaves.iter().find(|s| s.id == id).map(|s| s.mac)
}

fn is_usable(slaves: &[AlbSlave], id: SlaveId) -> bool {
    slaves.iter().any(|s| s.id == id && s.usable)
}

/// A client update (`rlb_update_client` → `arp_create(ARPOP_REPLY, ..)`): an ARP reply from
/// the slave to the client, unicast.
///
/// * Ethernet: destination `client_mac`, source `slave_mac`, in-band 802.1Q tag if
///   `vlan_tci` is set (the kernel puts it in metadata; the NIC inserts it);
/// * ARP op 2: sender (`slave_mac`, `server_ip`), target (`client_mac`, `client_ip`);
/// * zero-padded to 60 bytes (`arp_create` builds 42 bytes and the NIC pads; rbond's packet
///   sockets send exactly what they are given, so the padding is done here, as for the other
///   control frames).
pub fn client_update_frame(
    slave_mac: MacAddr,
    server_ip: Ipv4Addr,
    client_mac: MacAddr,
    client_ip: Ipv4Addr,
    vlan_tci: Option<u16>,
) -> Vec<u8> {
    let mut f = Vec::with_capacity(ETH_ZLEN + 4);
    f.extend_from_slice(&client_mac.0);
    f.extend_from_slice(&slave_mac.0);
    if let Some(tci) = vlan_tci {
        f.extend_from_slice(&ethertype::VLAN.to_be_bytes());
        f.extend_from_slice(&tci.to_be_bytes());
    }
    f.extend_from_slice(&ethertype::ARP.to_be_bytes());
    f.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
    f.extend_from_slice(&ethertype::IPV4.to_be_bytes());
    f.extend_from_slice(&[6, 4]);
    f.extend_from_slice(&ARPOP_REPLY.to_be_bytes());
    f.extend_from_slice(&slave_mac.0);
    f.extend_from_slice(&server_ip.octets());
    f.extend_from_slice(&client_mac.0);
    f.extend_from_slice(&client_ip.octets());
    if f.len() < ETH_ZLEN {
        f.resize(ETH_ZLEN, 0);
    }
    f
}

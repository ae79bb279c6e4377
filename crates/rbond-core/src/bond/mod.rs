//! The bond: one state machine that takes events and emits actions (sans-IO).
//!
//! Events in: `enslave`, `release`, `set_option`, `set_admin_up`, `link_observed`
//! (carrier/speed seen by the driver), `tick(now)`, and per frame `tx_target` / `rx_verdict`.
//! Actions out: `poll_action()` yields MAC changes, carrier changes, frames to send and log
//! lines, which the driver carries out. `poll_timeout()` says when `tick` is due next.
//!
//! The per-frame calls (`tx_target`, `rx_verdict`) allocate nothing: the list of slaves that
//! can transmit is rebuilt only when a slave's state changes.

pub mod mii;
pub mod select;
pub mod slave;
mod status;
mod active;
mod admin;
mod carrier;
mod datapath;
mod monitor;

use crate::frame;
use crate::hash::xmit_hash;
use crate::options::{
    lookup, BondOptions, Errno, FailOverMac, Opt, OptError, SetContext,
};
use crate::tlb::{TlbSlave, TxTable};
use crate::types::*;
use mii::MiiCommit;
pub use slave::Slave;
use std::collections::VecDeque;

/// Where a frame from the bond device goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxTarget {
    Drop,
    Slave(SlaveIdx),
    /// A copy on every slave in [`Bond::tx_slaves`] (broadcast mode).
    AllUsable,
}

/// What happens to a frame received on a slave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RxVerdict {
    /// Hand it to the bond device.
    Deliver,
    /// Suppressed (inactive slave, or not for the bond).
    Drop,
    /// A LACPDU or marker for the 802.3ad machines (consumed, not delivered).
    Lacp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warn,
}

/// What the driver must do. Slaves are named (not indexed) so actions stay valid
/// whatever happens to the slave list afterwards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Program a slave's MAC address.
    SetSlaveMac { slave: String, mac: MacAddr },
    /// Program the bond device's MAC address.
    SetBondMac(MacAddr),
    /// Turn the bond device's carrier on or off.
    SetCarrier(bool),
    /// Send a control frame (no vnet header) on a slave.
    SendFrame { slave: String, frame: Vec<u8> },
    /// Announce the bond's addresses (gratuitous ARP / unsolicited NA, §6.6) on a slave,
    /// using the bond MAC. The driver knows the addresses; the core decides when.
    NotifyPeers { slave: String, mac: MacAddr },
    /// The current active slave changed (modes 1, 5, 6; informational).
    ActiveChanged { old: Option<String>, new: Option<String> },
    /// A kernel-style log line. `slave` adds the `(slave <if>): ` part.
    Log { level: Level, slave: Option<String>, msg: String },
}

/// Clone is for dry runs of several option writes (all or nothing); not for the data path.
#[derive(Clone)]
pub struct Bond {
    pub name: String,
    /// Kernel release shown in the /proc header.
    pub release: String,
    pub opts: BondOptions,
    pub mac: MacAddr,
    /// True while the bond MAC is the random one it was created with (§6.1).
    mac_random: bool,
    pub admin_up: bool,
    slaves: Vec<Slave>,
    curr_active: Option<SlaveIdx>,
    force_primary: bool,
    carrier: bool,
    /// Slaves that can transmit, in slave order (xor/802.3ad/broadcast/tlb use it).
    usable: Vec<SlaveIdx>,
    rr_counter: u32,
    rng: u32,
    next_mii: Option<Millis>,
    send_peer_notif: u32,
    tlb: TxTable,
    tlb_slaves: Vec<TlbSlave>,
    /// 802.3ad: the active aggregator as the LACP machines report it.
    ad_aggregator: Option<crate::status::AggregatorInfo>,
    actions: VecDeque<Action>,
    local_v4: Vec<std::net::Ipv4Addr>,
    local_v6: Vec<std::net::Ipv6Addr>,
    /// ARP monitor, mode 1 without an active slave: the slave probing this interval.
    arp_probe_rotor: Option<SlaveIdx>,
}

impl Bond {
    /// A new bond, administratively down, with the (random) MAC its device was created with.
    pub fn new(name: &str, mac: MacAddr, release: &str) -> Bond {
        Bond {
            name: name.to_string(),
            release: release.to_string(),
            opts: BondOptions::default(),
            mac,
            mac_random: true,
            admin_up: false,
            slaves: Vec::new(),
            curr_active: None,
            force_primary: false,
            carrier: false,
            usable: Vec::with_capacity(64),
            rr_counter: 0,
            rng: 0x9e37_79b9,
            next_mii: None,
            send_peer_notif: 0,
            tlb: TxTable::new(),
            tlb_slaves: Vec::new(),
            ad_aggregator: None,
            actions: VecDeque::new(),
            local_v4: Vec::new(),
            local_v6: Vec::new(),
            arp_probe_rotor: None,
        }
    }

    // ----- queries -------------------------------------------------------------------

    pub fn slaves(&self) -> &[Slave] {
        &self.slaves
    }
    pub fn slave_index(&self, name: &str) -> Option<SlaveIdx> {
        self.slaves.iter().position(|s| s.name == name)
    }
    pub fn active_slave(&self) -> Option<SlaveIdx> {
        self.curr_active
    }
    pub fn carrier(&self) -> bool {
        self.carrier
    }
    /// Slaves that can transmit now, in slave order.
    pub fn tx_slaves(&self) -> &[SlaveIdx] {
        &self.usable
    }
    /// The next action for the driver, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }
    /// When `tick` must be called next (None: no timer is running).
    pub fn poll_timeout(&self) -> Option<Millis> {
        let tlb = if self.admin_up && self.opts.mode.is_tlb() { Some(self.tlb.next_deadline()) } else { None };
        [self.next_mii, tlb, self.next_delay_deadline()].into_iter().flatten().min()
    }

    /// The earliest end of a running updelay/downdelay (MII monitor only).
    pub(super) fn next_delay_deadline(&self) -> Option<Millis> {
        if !self.admin_up || self.opts.miimon == 0 {
            return None;
        }
        self.slaves
            .iter()
            .filter(|s| matches!(s.link, LinkState::Fail | LinkState::Back))
            .map(|s| s.delay_until)
            .min()
    }

    pub(super) fn log(&mut self, level: Level, slave: Option<&str>, msg: String) {
        self.actions.push_back(Action::Log { level, slave: slave.map(str::to_string), msg });
    }

    pub(super) fn ctx(&self) -> SetContext {
        SetContext { has_slaves: !self.slaves.is_empty(), is_up: self.admin_up }
    }
}

mod arpmon;
pub(crate) use arpmon::{arpmon_rx, arpmon_tick};

//! The bond: one state machine that takes events and emits actions (sans-IO).
//!
//! Events in: `enslave`, `release`, option writes (`set_option`, `set_options`),
//! `set_admin_up`, `link_observed` (carrier/speed seen by the driver), `set_local_addrs`,
//! `tick(now)`, and per frame `tx` (a frame from the bond device) and `rx` (a frame received
//! on a slave; it also feeds the receive side of the link monitors and the mode's hook).
//! Actions out: `poll_action()` yields MAC changes, carrier changes, frames the bond sends on
//! its own (gratuitous ARP, unsolicited NA, ARP/NS probes) and log lines, which the driver
//! carries out. `poll_timeout()` says when `tick` is due next. Everything else is a query
//! without side effects.
//!
//! Slaves are known by their [`SlaveId`] (the driver's interface index) to the driver and in
//! actions; positions in the slave list stay inside the core.
//!
//! Mode-specific behaviour lives in one component per mode family (`mode/`); this module and
//! its siblings hold what all modes share: slaves, options, link monitors, the active slave.
//!
//! The per-frame calls (`tx`, `rx`) allocate nothing: the list of slaves that can transmit is
//! rebuilt only when a slave's state changes.

pub mod mii;
pub mod mode;
pub mod select;
pub mod slave;
mod active;
mod admin;
mod arpmon;
pub mod counters;
mod carrier;
mod datapath;
mod fastpath;
mod monitor;
mod status;

use crate::options::{BondOptions, SetContext};
use crate::types::*;
pub use mode::{RxDecision, TxDecision};
pub use fastpath::{FastPath, FastPathState, RxVerdict};
use mode::{ModeState, View};
pub use slave::Slave;
pub use counters::{CountersView, FailoverCause};
use std::collections::VecDeque;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warn,
}

/// What the driver must do. Slaves are named by their stable id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Program a slave's MAC address.
    SetSlaveMac { slave: SlaveId, mac: MacAddr },
    /// Program the bond device's MAC address.
    SetBondMac(MacAddr),
    /// Turn the bond device's carrier on or off.
    SetCarrier(bool),
    /// Send a frame the bond originates (no vnet header) on a slave: gratuitous ARP and
    /// unsolicited NA (bond_main.c: bond_should_notify_peers), ARP and NS probes (bond_main.c: bond_ab_arp_inspect, bond_arp_rcv).
    SendFrame { slave: SlaveId, frame: Vec<u8> },
    /// The current active slave changed (modes 1, 5, 6; informational), and why.
    ActiveChanged { old: Option<SlaveId>, new: Option<SlaveId>, cause: FailoverCause },
    /// Put a slave's NIC in or out of promiscuous mode (alb: the active slave receives for a
    /// disabled slave's MAC for 10 s, `rlb_teach_disabled_mac_on_primary`, bond_alb.c: rlb_*).
    SetPromisc { slave: SlaveId, on: bool },
    /// A kernel-style log line. `slave` adds the `(slave <if>): ` part.
    Log { level: Level, slave: Option<String>, msg: String },
}

/// Clone is for dry runs of option writes (all or nothing); not for the data path.
#[derive(Clone)]
pub struct Bond {
    name: String,
    /// Kernel release shown in the /proc header.
    release: String,
    opts: BondOptions,
    mac: MacAddr,
    /// True while the bond MAC is the random one it was created with (bonding.rst, mode).
    mac_random: bool,
    admin_up: bool,
    slaves: Vec<Slave>,
    curr_active: Option<SlaveIdx>,
    force_primary: bool,
    carrier: bool,
    /// Slaves that can transmit, in slave order, as positions and as ids.
    usable: Vec<SlaveIdx>,
    usable_ids: Vec<SlaveId>,
    rng: u32,
    /// The next tick of the link monitor (MII or ARP).
    next_mii: Option<Millis>,
    send_peer_notif: u32,
    /// The current mode's component.
    mode: ModeState,
    actions: VecDeque<Action>,
    local_v4: Vec<std::net::Ipv4Addr>,
    local_v6: Vec<std::net::Ipv6Addr>,
    /// ARP monitor, mode 1 without an active slave: the slave probing this interval.
    arp_probe_rotor: Option<SlaveIdx>,
    /// Failovers with their cause (observability; see counters.rs).
    counters: counters::CoreCounters,
}

impl Bond {
    /// A new bond, administratively down, with the (random) MAC its device was created with.
    pub fn new(name: &str, mac: MacAddr, release: &str) -> Bond {
        let opts = BondOptions::default();
        let rng = 0x9e37_79b9;
        Bond {
            name: name.to_string(),
            release: release.to_string(),
            mode: ModeState::new(opts.mode, rng),
            opts,
            mac,
            mac_random: true,
            admin_up: false,
            slaves: Vec::new(),
            curr_active: None,
            force_primary: false,
            carrier: false,
            usable: Vec::with_capacity(64),
            usable_ids: Vec::with_capacity(64),
            rng,
            next_mii: None,
            send_peer_notif: 0,
            actions: VecDeque::new(),
            local_v4: Vec::new(),
            local_v6: Vec::new(),
            arp_probe_rotor: None,
            counters: Default::default(),
        }
    }

    // ----- queries (no side effects) --------------------------------------------------

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn opts(&self) -> &BondOptions {
        &self.opts
    }
    pub fn mac(&self) -> MacAddr {
        self.mac
    }
    pub fn admin_up(&self) -> bool {
        self.admin_up
    }
    pub fn slaves(&self) -> &[Slave] {
        &self.slaves
    }
    pub fn slave(&self, id: SlaveId) -> Option<&Slave> {
        self.slaves.iter().find(|s| s.id == id)
    }
    /// The id of the slave called `name` now.
    pub fn slave_id(&self, name: &str) -> Option<SlaveId> {
        self.slaves.iter().find(|s| s.name == name).map(|s| s.id)
    }
    pub fn active_slave(&self) -> Option<SlaveId> {
        self.curr_active.map(|i| self.slaves[i].id)
    }
    pub fn carrier(&self) -> bool {
        self.carrier
    }
    /// Slaves that can transmit now, in slave order.
    pub fn tx_slaves(&self) -> &[SlaveId] {
        &self.usable_ids
    }
    /// The current mode's component (tables and LACP state, for status and tests).
    pub fn mode_state(&self) -> &ModeState {
        &self.mode
    }
    /// When `tick` must be called next (None: no timer is running).
    pub fn poll_timeout(&self) -> Option<Millis> {
        let mode = if self.admin_up { self.mode.ops().poll_timeout(&self.view()) } else { None };
        [self.next_mii, mode, self.next_delay_deadline()].into_iter().flatten().min()
    }

    // ----- what the driver must do ------------------------------------------------------

    /// The next action for the driver, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    // ----- shared helpers -----------------------------------------------------------------

    /// Position of slave `id` in the slave list.
    pub(crate) fn pos(&self, id: SlaveId) -> Option<SlaveIdx> {
        self.slaves.iter().position(|s| s.id == id)
    }
    pub(crate) fn pos_by_name(&self, name: &str) -> Option<SlaveIdx> {
        self.slaves.iter().position(|s| s.name == name)
    }

    /// The read-only picture a mode component gets.
    pub(crate) fn view(&self) -> View<'_> {
        View {
            opts: &self.opts,
            slaves: &self.slaves,
            active: self.curr_active,
            usable: &self.usable,
            usable_ids: &self.usable_ids,
        }
    }

    /// The mode component, the view it gets and the action queue, borrowed apart so a hook
    /// can change its own state while it reads the bond's.
    #[inline]
    pub(crate) fn parts(&mut self) -> (&mut ModeState, View<'_>, &mut VecDeque<Action>) {
        let view = View {
            opts: &self.opts,
            slaves: &self.slaves,
            active: self.curr_active,
            usable: &self.usable,
            usable_ids: &self.usable_ids,
        };
        (&mut self.mode, view, &mut self.actions)
    }

    /// The earliest end of a running updelay/downdelay (MII monitor only).
    pub(crate) fn next_delay_deadline(&self) -> Option<Millis> {
        if !self.admin_up || self.opts.miimon == 0 {
            return None;
        }
        self.slaves
            .iter()
            .filter(|s| matches!(s.link, LinkState::Fail | LinkState::Back))
            .map(|s| s.delay_until)
            .min()
    }

    pub(crate) fn log(&mut self, level: Level, slave: Option<&str>, msg: String) {
        self.actions.push_back(Action::Log { level, slave: slave.map(str::to_string), msg });
    }

    /// Brings `Slave::cur_mac` in line with what the mode component programmed (tlb/alb own
    /// their slaves' MACs, bond_alb.c: alb_set_slave_mac_addr, alb_swap_mac_addr).
    pub(crate) fn sync_mode_macs(&mut self) {
        for i in 0..self.slaves.len() {
            if let Some(m) = self.mode.ops().nic_mac(self.slaves[i].id) {
                self.slaves[i].cur_mac = m;
            }
        }
    }

    pub(crate) fn ctx(&self) -> SetContext {
        SetContext { has_slaves: !self.slaves.is_empty(), is_up: self.admin_up }
    }
}

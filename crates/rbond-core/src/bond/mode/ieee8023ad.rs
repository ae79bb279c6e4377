//! 802.3ad (mode 4), bond_3ad.c, IEEE 802.1AX and bond_main.c: bond_should_deliver_exact_match: the bond owns an LACP engine (`crate::lacp`, IEEE
//! 802.1AX clause 6) with one port per slave (PortId = SlaveId), and transmits over the ports
//! the engine has put in distribution in the active aggregator, by `xmit_hash_policy`.
//!
//! This file is the glue the kernel's `bond_3ad_*` entry points are in `bond_main.c`:
//! enslave/release (`bond_3ad_bind_slave`/`unbind_slave`), MII monitor commits
//! (`bond_3ad_handle_link_change`), speed/duplex changes
//! (`bond_3ad_adapter_speed_duplex_changed`), bond open/close, option writes
//! (`bond_3ad_update_ad_actor_settings`, `bond_3ad_update_lacp_rate`), received LACPDUs and
//! markers (`bond_3ad_lacpdu_recv`), and the 100 ms state machine tick. What the engine emits
//! becomes bond actions: frames to send (from the slave's permanent MAC, built by the engine),
//! log lines, and a resync of the slave flags, the transmit array and the carrier.
//!
//! Slave flags follow bond_main.c: bond_should_deliver_exact_match: a port the engine distributes on is `active`; every other port is
//! `backup`, and `inactive` (dropping what it receives) unless it is collecting.
//!
//! rbond's `lacp_fallback active-backup` (off by default): while the engine reports that no
//! port hears a partner ([`Lacp::fallback_active`]), the bond runs active-backup over its
//! ports instead of using one individual port's aggregator: the first port (in slave order)
//! whose link is up carries everything and keeps that role while its link stays up. The
//! first LACPDU heard on any port ends the fallback and the engine decides again.

use super::{ModeOps, RxDecision, TxDecision, View};
use crate::bond::{Action, Level, Slave};
use crate::frame;
use crate::lacp::{Lacp, LacpConfig, LacpCounters, LacpOutput, PortLink, RxOutcome};
use crate::options::{BondOptions, LacpFallback, LacpRate};
use crate::status::AggregatorInfo;
use crate::types::{Duplex, LinkState, MacAddr, Millis, SlaveId, SlaveIdx};
use std::collections::VecDeque;

#[derive(Clone, Debug)]
pub struct Ieee8023ad {
    /// Boxed: the engine is large and the other modes' components are small.
    lacp: Box<Lacp>,
    /// Something happened that may change flags, the transmit array or the carrier.
    dirty: bool,
    /// lacp_fallback active-backup: the port carrying the traffic while no partner answers.
    fallback_port: Option<SlaveId>,
}

impl Default for Ieee8023ad {
    fn default() -> Self {
        Ieee8023ad { lacp: Box::new(Lacp::new(LacpConfig::default(), MacAddr::ZERO)), dirty: false, fallback_port: None }
    }
}

/// The engine's configuration from the bond's options (bonding.rst, Bonding Driver Options rows of mode 4, plus
/// rbond's lacp_fallback and lacp_tx_redundancy).
pub fn lacp_config(o: &BondOptions) -> LacpConfig {
    LacpConfig {
        lacp_fast: o.lacp_rate == LacpRate::Fast,
        lacp_active: o.lacp_active,
        ad_select: o.ad_select,
        sys_prio: o.ad_actor_sys_prio,
        system: o.ad_actor_system,
        user_port_key: o.ad_user_port_key,
        coupled_control: o.coupled_control,
        min_links: o.min_links,
        fallback_ab: o.lacp_fallback == LacpFallback::ActiveBackup,
        fast_tx_redundancy: o.lacp_tx_redundancy,
    }
}

/// What the engine needs to know of a slave's link: the MII monitor's verdict (UP only once
/// committed, so updelay/downdelay apply to LACP as in the kernel) and the cached
/// speed/duplex (bond_3ad.c: __get_link_speed, ad key).
fn port_link(s: &Slave) -> PortLink {
    PortLink {
        up: s.link == LinkState::Up,
        speed_mbps: s.speed_mbps.filter(|&m| m != 0 && m != u32::MAX),
        full_duplex: s.duplex == Duplex::Full,
    }
}

impl Ieee8023ad {
    /// The LACP engine (read-only: status, counters, tests).
    pub fn lacp(&self) -> &Lacp {
        &self.lacp
    }
    /// Is this port in the transmit set: distributing in the active aggregator, or the
    /// lacp_fallback port?
    pub fn port_enabled(&self, id: SlaveId) -> bool {
        if self.fallback_port.is_some() || self.lacp.fallback_active() {
            return self.fallback_port == Some(id);
        }
        self.lacp.is_distributing(id.0)
    }
    pub fn active_aggregator(&self) -> Option<AggregatorInfo> {
        self.lacp.active_aggregator()
    }
    /// The port carrying the traffic while lacp_fallback is in effect.
    pub fn fallback_port(&self) -> Option<SlaveId> {
        self.fallback_port
    }
    pub fn counters(&self, id: SlaveId) -> Option<LacpCounters> {
        self.lacp.counters(id.0)
    }
    fn sync_port(&mut self, s: &Slave, now: Millis) {
        self.lacp.set_link(s.id.0, port_link(s), now);
        self.dirty = true;
    }
}

/// Log levels of the engine's lines, as the kernel prints them: the warnings of
/// `ad_agg_selection_logic`, `ad_port_selection_logic` and the loopback check are
/// `net_warn`/`slave_err`; the rest is debug-level chatter in the kernel.
fn level_of(msg: &str) -> Level {
    if msg.starts_with("Warning") || msg.contains("illegal loopback") || msg.starts_with("Check the configuration") || msg.contains("did not find") {
        Level::Warn
    } else {
        Level::Debug
    }
}

impl ModeOps for Ieee8023ad {
    fn usable(&self, s: &Slave) -> bool {
        s.can_tx() && self.port_enabled(s.id)
    }
    /// Carrier (IEEE 802.1AX-2020 6.4.14-6.4.17; bond_3ad.c: ad_agg_selection_logic): an active aggregator with at least `min_links` enabled ports (the
    /// engine's rule); under lacp_fallback, a fallback port.
    fn carrier(&self, _v: &View) -> bool {
        if self.fallback_port.is_some() || self.lacp.fallback_active() {
            return self.fallback_port.is_some();
        }
        self.lacp.carrier()
    }
    fn needs_speed(&self) -> bool {
        true
    }
    /// Backup until LACP enables the port.
    fn on_commit_up(&self, s: &mut Slave) {
        s.backup = !self.port_enabled(s.id);
    }
    fn down_marks_inactive(&self) -> bool {
        true
    }
    fn slave_added(&mut self, v: &View, i: SlaveIdx, now: Millis) {
        let s = &v.slaves[i];
        self.lacp.add_port(s.id.0, s.perm_hwaddr, port_link(s), now);
        self.dirty = true;
    }
    fn slave_removed(&mut self, v: &View, i: SlaveIdx, now: Millis) {
        let id = v.id(i);
        self.lacp.remove_port(id.0, now);
        if self.fallback_port == Some(id) {
            self.fallback_port = None;
        }
        self.dirty = true;
    }
    fn link_up(&mut self, v: &View, i: SlaveIdx, now: Millis) {
        self.sync_port(&v.slaves[i], now);
    }
    fn link_down(&mut self, v: &View, i: SlaveIdx, now: Millis) {
        self.sync_port(&v.slaves[i], now);
    }
    fn slave_observed(&mut self, v: &View, i: SlaveIdx, now: Millis) {
        // Only speed/duplex matter here; up/down reach the engine through the MII monitor.
        self.sync_port(&v.slaves[i], now);
    }
    fn admin_changed(&mut self, _v: &View, up: bool, now: Millis) {
        if up {
            self.lacp.bond_up(now);
        } else {
            self.lacp.bond_down(now);
        }
        self.dirty = true;
    }
    fn bond_mac_changed(&mut self, mac: MacAddr) {
        self.lacp.set_bond_mac(mac);
    }
    fn options_changed(&mut self, v: &View, now: Millis) {
        let cfg = lacp_config(v.opts);
        if cfg != *self.lacp.config() {
            self.lacp.set_config(cfg, now);
            self.dirty = true;
        }
    }
    fn tick(&mut self, _v: &View, now: Millis, _out: &mut VecDeque<Action>) {
        self.lacp.tick(now);
        self.dirty = true;
    }
    fn poll_timeout(&self, _v: &View) -> Option<Millis> {
        self.lacp.poll_timeout()
    }
    fn drain(&mut self, v: &View, out: &mut VecDeque<Action>) -> bool {
        let mut changed = std::mem::take(&mut self.dirty);
        while let Some(o) = self.lacp.poll_output() {
            match o {
                LacpOutput::Send { port, frame } => out.push_back(Action::SendFrame { slave: SlaveId(port), frame }),
                LacpOutput::PortChanged { .. } | LacpOutput::AggregatorChanged => changed = true,
                LacpOutput::Log { port, msg } => {
                    let slave = port.and_then(|p| v.slaves.iter().find(|s| s.id.0 == p)).map(|s| s.name.clone());
                    out.push_back(Action::Log { level: level_of(&msg), slave, msg });
                }
            }
        }
        // lacp_fallback: keep the fallback port while its link is up, else the first up port.
        let up = |s: &Slave| s.link == LinkState::Up && s.mii_link_up();
        let fb = if self.lacp.fallback_active() {
            let keep = self.fallback_port.filter(|&id| v.slaves.iter().any(|s| s.id == id && up(s)));
            keep.or_else(|| v.slaves.iter().find(|s| up(s)).map(|s| s.id))
        } else {
            None
        };
        if fb != self.fallback_port {
            let name = |id: Option<SlaveId>| id.and_then(|id| v.slaves.iter().find(|s| s.id == id)).map(|s| s.name.clone());
            let msg = match fb {
                Some(_) if self.fallback_port.is_none() => {
                    "lacp_fallback: no 802.3ad partner on any port, running active-backup".to_string()
                }
                Some(_) => "lacp_fallback: making interface the new active one".to_string(),
                None if self.lacp.fallback_active() => "lacp_fallback: no port with link up".to_string(),
                None => "lacp_fallback: an 802.3ad partner answered, back to LACP".to_string(),
            };
            out.push_back(Action::Log { level: Level::Info, slave: name(fb.or(self.fallback_port)), msg });
            self.fallback_port = fb;
            changed = true;
        }
        changed
    }
    fn port_flags(&self, s: &Slave) -> Option<(bool, bool)> {
        if self.fallback_port.is_some() || self.lacp.fallback_active() {
            let on = self.fallback_port == Some(s.id);
            return Some((on, on));
        }
        Some((self.lacp.is_distributing(s.id.0), self.lacp.is_collecting(s.id.0)))
    }
    #[inline]
    fn tx<'a>(&mut self, v: &View<'a>, frame: &mut [u8]) -> TxDecision<'a> {
        super::xor::hash_pick(v, frame)
    }
    /// LACPDUs and markers go to the engine on every port, enabled or not (IEEE 802.1AX-2020 6.4.2, 6.5.3), and never
    /// to the bond device; other Slow Protocols subtypes pass on as in the kernel.
    fn rx_hook(&mut self, v: &View, i: SlaveIdx, f: &[u8], now: Millis, _out: &mut VecDeque<Action>) -> Option<RxDecision> {
        if !frame::is_lacp(f) {
            return None;
        }
        let id = v.id(i);
        match self.lacp.rx(id.0, f, now) {
            RxOutcome::Consumed => {
                self.dirty = true;
                Some(RxDecision::Consumed)
            }
            RxOutcome::NotLacp => None,
        }
    }
}

//! The IEEE 802.1AX (formerly 802.3ad) Link Aggregation Control Protocol engine, sans-IO.
//!
//! Behaviour follows the Linux bonding driver (`drivers/net/bonding/bond_3ad.c`, reference
//! bond_3ad.c, IEEE 802.1AX) and IEEE 802.1AX-2014 clause 6. The caller feeds events stamped with its clock (ports
//! added and removed, link changes, received frames, ticks) and drains [`LacpOutput`]s: frames
//! to send, port and aggregator changes, kernel-style log lines. Nothing here reads a clock or
//! performs I/O.
//!
//! One file per machine, named after the standard: `receive`, `periodic`, `selection`, `mux`,
//! `transmit`, `churn`, `marker`; `pdu` encodes and validates frames, `key` computes port keys,
//! `port` holds the per-port variables, `state` the state bits and timers.
//!
//! # Timing
//! The engine ticks every 100 ms while the bond is up (bond_3ad.c: bond_3ad_state_machine_handler). Each tick: the aggregator
//! selection timer, then for each port in the order added: receive, periodic, port
//! selection, mux, transmit, churn; then BEGIN is cleared. A received LACPDU runs the receive
//! machine at once; what it causes to be sent leaves at a later tick.
//!
//! # Where rbond differs from the kernel (documented choices)
//! - Malformed LACPDUs (version 0, wrong TLV types/lengths) are counted as illegal and
//!   dropped; the kernel does not check them.
//! - At most 3 LACPDUs per second per port (802.1AX 6.4.16) on top of the kernel's 300 ms
//!   hold-off, and no LACPDUs while both ends are passive (802.1AX 6.4.13).
//! - [`LacpConfig::fast_tx_redundancy`] (off by default) sends the fast periodic LACPDU three
//!   times per second, see its documentation for why.
//! - [`LacpConfig::fallback_ab`] (off by default): see [`Lacp::fallback_active`].
//! - A port re-selected into a non-active aggregator announces its cleared Synchronization
//!   at once (NTT); the kernel waits for the next periodic LACPDU, which can be 30 s away
//!   once the port has defaulted.
//! - A changed `ad_user_port_key` applies to existing ports (the kernel uses it only for
//!   ports enslaved afterwards); a port whose key changes restarts (BEGIN).

pub mod key;
pub mod pdu;
pub mod state;

mod churn;
mod marker;
mod mux;
mod periodic;
mod port;
mod receive;
mod selection;
mod transmit;

use crate::options::AdSelect;
use crate::status::{AggregatorInfo, LacpPduDetails, SlaveAdInfo};
use crate::types::{MacAddr, Millis};
use pdu::{Classified, Lacpdu};
use port::{Aggregator, Port};
use state::*;
use std::collections::VecDeque;

/// A port identifier chosen by the caller (e.g. the ifindex); never renumbered.
pub type PortId = u32;

/// What the caller knows about a port's link (the MII monitor's view, speed and duplex from
/// ethtool).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortLink {
    pub up: bool,
    /// None when the driver does not report a speed (SPEED_UNKNOWN).
    pub speed_mbps: Option<u32>,
    pub full_duplex: bool,
}

/// The engine's configuration: the bond's 802.3ad options plus rbond extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LacpConfig {
    /// lacp_rate=fast: our Timeout bit, asking the partner to send every second.
    pub lacp_fast: bool,
    /// lacp_active: our Activity bit (newest-kernel semantics, bonding.rst, lacp_active).
    pub lacp_active: bool,
    pub ad_select: AdSelect,
    /// ad_actor_sys_prio.
    pub sys_prio: u16,
    /// ad_actor_system; zero = use the bond MAC.
    pub system: MacAddr,
    /// ad_user_port_key (10 bits).
    pub user_port_key: u16,
    pub coupled_control: bool,
    pub min_links: u32,
    /// rbond `lacp_fallback active-backup`: see [`Lacp::fallback_active`]. Off by default.
    pub fallback_ab: bool,
    /// rbond extension, off by default (kernel behaviour): while the partner asks for fast
    /// LACPDUs, send three per second (gaps of 300/300/400 ms, the 802.1AX 6.4.16 ceiling)
    /// instead of one.
    ///
    /// Why: the partner's current_while is 3 s and is restarted by each LACPDU. With one
    /// LACPDU per second, the third one races the 30th tick of that timer, so in practice two
    /// consecutive losses already expire the port (it leaves distribution for about a second,
    /// its churn machine restarts). At 30 % random loss that happens with probability
    /// 0.7 × 0.3² ≈ 6 % every second, i.e. dozens of times in 10 minutes: the field bug of
    /// kernel bonds and teamd. With three per second, expiry needs 8 consecutive losses:
    /// 0.7 × 0.3⁸ ≈ 4.6e-5 per LACPDU, about 8 % over 10 minutes (1800 LACPDUs) per direction,
    /// while a really silent partner is still detected within 3 s. Defaulting (a change of
    /// aggregator) needs 6 s of silence, 17 consecutive losses. Measured (tests/lacp_sim.rs):
    /// over 100 ten-minute runs with 30 % loss both ways on one link, 12 runs saw one short
    /// departure from distribution and none an aggregator change; at the kernel's rate every
    /// run did (66 departures per run on average). Nothing that keeps the 3 s detection and
    /// the 3-per-second ceiling can do better.
    pub fast_tx_redundancy: bool,
}

impl Default for LacpConfig {
    /// The kernel's defaults: slow, active, stable, priority 65535, the bond MAC, key 0,
    /// coupled control, min_links 0; rbond extensions off.
    fn default() -> Self {
        LacpConfig {
            lacp_fast: false,
            lacp_active: true,
            ad_select: AdSelect::Stable,
            sys_prio: 65535,
            system: MacAddr::ZERO,
            user_port_key: 0,
            coupled_control: true,
            min_links: 0,
            fallback_ab: false,
            fast_tx_redundancy: false,
        }
    }
}

/// Something the caller must do or may want to know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LacpOutput {
    /// Transmit this 124-byte frame on `port`.
    Send { port: PortId, frame: Vec<u8> },
    /// `is_collecting` / `is_distributing` of this port changed.
    PortChanged { port: PortId },
    /// The active aggregator, its ports, the carrier or the fallback state may have changed.
    AggregatorChanged,
    /// A log line in the kernel's words (without the `bond0: eth0:` prefix, which the caller
    /// adds).
    Log { port: Option<PortId>, msg: String },
}

/// What `rx` did with a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RxOutcome {
    /// A LACPDU or Marker PDU: it must not reach the bond device.
    Consumed,
    /// Anything else (including too-short and unknown-subtype Slow Protocols frames, which
    /// the kernel also passes on).
    NotLacp,
}

/// Per-port protocol counters (the kernel's `struct bond_3ad_stats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LacpCounters {
    pub lacpdu_rx: u64,
    pub lacpdu_tx: u64,
    pub marker_rx: u64,
    pub marker_tx: u64,
    pub marker_resp_rx: u64,
    pub marker_resp_tx: u64,
    /// Slow Protocols frames of another subtype.
    pub unknown_rx: u64,
    /// Marker PDUs with an unknown TLV type.
    pub marker_unknown_rx: u64,
    /// Bad PDUs: too short, bad version, bad TLV type or length.
    pub illegal_rx: u64,
}

/// Most ticks `tick` catches up on in one call; beyond that the clock jumped (suspend, a
/// stalled caller) and the engine resynchronises instead of replaying minutes of ticks.
const MAX_CATCH_UP_TICKS: u32 = 600;

/// The LACP engine of one bond.
#[derive(Clone, Debug)]
pub struct Lacp {
    cfg: LacpConfig,
    bond_mac: MacAddr,
    up: bool,
    /// BOND_AD_INFO(bond).system: fixed when the first port joins an empty engine and when
    /// the actor settings change.
    sys_mac: MacAddr,
    sys_prio: u16,
    /// Aggregator id counter; reset when a port joins an empty engine.
    aggregator_identifier: u16,
    /// Aggregator selection timer, ticks.
    agg_select_timer: u32,
    ports: Vec<Port>,
    aggs: Vec<Aggregator>,
    next_tick: Option<Millis>,
    tick_count: u64,
    carrier: bool,
    out: VecDeque<LacpOutput>,
    /// Last reported (active aggregator, carrier, fallback), for `AggregatorChanged`.
    reported: (Option<AggregatorInfo>, bool, bool),
}

impl Lacp {
    pub fn new(cfg: LacpConfig, bond_mac: MacAddr) -> Self {
        Lacp {
            sys_prio: cfg.sys_prio,
            sys_mac: if cfg.system.is_zero() { bond_mac } else { cfg.system },
            cfg,
            bond_mac,
            up: false,
            aggregator_identifier: 0,
            agg_select_timer: 0,
            ports: Vec::new(),
            aggs: Vec::new(),
            next_tick: None,
            tick_count: 0,
            carrier: false,
            out: VecDeque::new(),
            reported: (None, false, false),
        }
    }

    pub fn config(&self) -> &LacpConfig {
        &self.cfg
    }

    /// The actor system identity in use: (priority, MAC).
    pub fn system(&self) -> (u16, MacAddr) {
        (self.sys_prio, self.sys_mac)
    }

    fn idx(&self, id: PortId) -> Option<usize> {
        self.ports.iter().position(|p| p.id == id)
    }

    pub(super) fn log(&mut self, port: Option<PortId>, msg: String) {
        self.out.push_back(LacpOutput::Log { port, msg });
    }

    /// `bond_3ad_update_ad_actor_settings`: system from the config or the current bond MAC,
    /// copied to every port, which then tells its partner.
    fn update_actor_settings(&mut self) {
        self.sys_prio = self.cfg.sys_prio;
        self.sys_mac = if self.cfg.system.is_zero() { self.bond_mac } else { self.cfg.system };
        for p in &mut self.ports {
            p.actor_system = self.sys_mac;
            p.actor_system_priority = self.sys_prio;
            p.ntt = true;
        }
    }

    /// Apply a new configuration (bond_options.c option setters; bond_check_params): rate, activity and actor identity take
    /// effect at once and are announced (NTT); min_links updates the carrier; ad_select and
    /// coupled_control apply from the next selection / mux transition.
    pub fn set_config(&mut self, cfg: LacpConfig, _now: Millis) {
        let old = std::mem::replace(&mut self.cfg, cfg);
        let new = self.cfg.clone();
        for p in &mut self.ports {
            if old.lacp_fast != new.lacp_fast {
                set(&mut p.actor_oper_port_state, LACP_TIMEOUT, new.lacp_fast);
                p.ntt = true;
            }
            if old.lacp_active != new.lacp_active {
                set(&mut p.actor_admin_port_state, LACP_ACTIVITY, new.lacp_active);
                set(&mut p.actor_oper_port_state, LACP_ACTIVITY, new.lacp_active);
                p.ntt = true;
            }
        }
        if old.sys_prio != new.sys_prio || old.system != new.system {
            self.update_actor_settings();
        }
        if old.user_port_key != new.user_port_key {
            for i in 0..self.ports.len() {
                let p = &mut self.ports[i];
                let old_key = p.actor_oper_port_key;
                p.actor_admin_port_key = (new.user_port_key << 6) | (p.actor_admin_port_key & !key::USER_KEY_MASK);
                p.actor_oper_port_key = p.actor_admin_port_key;
                if p.actor_oper_port_key != old_key {
                    p.begin = true;
                    p.ntt = true;
                }
            }
        }
        if old.min_links != new.min_links {
            self.set_carrier();
        }
        self.flush();
    }

    /// The bond's MAC changed. It becomes the actor system the next time the identity is
    /// fixed: when a port joins an empty engine, or when ad_actor_* change (bond_3ad.c: __get_link_speed, ad key).
    pub fn set_bond_mac(&mut self, mac: MacAddr) {
        self.bond_mac = mac;
    }

    /// The bond was opened: the engine starts ticking; aggregator selection runs at the first
    /// tick (`bond_3ad_initiate_agg_selection(bond, 1)`).
    pub fn bond_up(&mut self, now: Millis) {
        if self.up {
            return;
        }
        self.up = true;
        self.agg_select_timer = AGG_SELECT_OPEN_TICKS;
        self.next_tick = Some(now + TICK_MS);
        self.flush();
    }

    /// The bond was closed: the engine stops; its state is kept (as the kernel keeps it) and
    /// resumes at the next `bond_up`.
    pub fn bond_down(&mut self, _now: Millis) {
        self.up = false;
        self.next_tick = None;
        self.flush();
    }

    /// Enslave a port (`bond_3ad_bind_slave`).
    pub fn add_port(&mut self, id: PortId, perm_mac: MacAddr, link: PortLink, now: Millis) {
        if self.idx(id).is_some() {
            return;
        }
        if self.ports.is_empty() {
            // The tick loop idles without ports; restart its phase from now.
            if self.up {
                self.next_tick = Some(now + TICK_MS);
            }
            // bond_3ad_initialize.
            self.aggregator_identifier = 0;
            self.sys_prio = self.cfg.sys_prio;
            self.sys_mac = if self.cfg.system.is_zero() { self.bond_mac } else { self.cfg.system };
            self.agg_select_timer = AGG_SELECT_ADD_TICKS;
        }
        let number = self.ports.last().map_or(1, |p| p.actor_port_number.wrapping_add(1));
        let mut p = Port::new(id, perm_mac, link, number, self.cfg.lacp_active, self.cfg.lacp_fast);
        p.actor_admin_port_key = self.cfg.user_port_key << 6;
        p.actor_system = self.sys_mac;
        p.actor_system_priority = self.sys_prio;
        self.ports.push(p);
        self.aggregator_identifier = self.aggregator_identifier.wrapping_add(1);
        self.aggs.push(Aggregator { aggregator_identifier: self.aggregator_identifier, ..Aggregator::default() });
        let i = self.ports.len() - 1;
        self.update_actor_keys(i, false);
        if self.up && self.next_tick.is_none() {
            self.next_tick = Some(now + TICK_MS);
        }
        self.flush();
    }

    /// Release a port (`bond_3ad_unbind_slave`): a final LACPDU with Synchronization,
    /// Collecting, Distributing and Aggregation cleared tells the partner; ports that shared
    /// its aggregator move to another one; the active aggregator is reselected if needed.
    pub fn remove_port(&mut self, id: PortId, _now: Millis) {
        let Some(r) = self.idx(id) else { return };
        {
            let p = &mut self.ports[r];
            p.actor_oper_port_state &= !(SYNCHRONIZATION | COLLECTING | DISTRIBUTING | AGGREGATION);
        }
        if self.ports[r].link.up {
            self.send_lacpdu(r);
        }
        let mut reselect = false;
        // The departing port's own aggregator.
        if !self.aggs[r].lag_ports.is_empty() {
            let others = self.aggs[r].lag_ports.iter().any(|&x| x != r);
            if others {
                // Move its ports to an empty aggregator (or one holding only the departing port).
                let target = (0..self.aggs.len())
                    .find(|&k| k != r && (self.aggs[k].lag_ports.is_empty() || self.aggs[k].lag_ports == [r]));
                match target {
                    Some(k) => {
                        if self.aggs[k].lag_ports == [r] && self.aggs[k].is_active {
                            self.log(Some(id), "Removing an active aggregator".into());
                            reselect = true;
                        }
                        let mut moved = self.aggs[r].clone();
                        moved.aggregator_identifier = self.aggs[k].aggregator_identifier;
                        self.aggs[k] = moved;
                        for n in 0..self.aggs[k].lag_ports.len() {
                            let i = self.aggs[k].lag_ports[n];
                            self.ports[i].aggregator = Some(k);
                        }
                        self.aggs[r].clear();
                        if reselect {
                            self.agg_selection_logic();
                        }
                    }
                    None => {
                        self.log(
                            Some(id),
                            "unbinding aggregator, and could not find a new aggregator for its ports".into(),
                        );
                        // The kernel leaves them pointing at freed memory; rbond makes them
                        // select again.
                        for n in 0..self.aggs[r].lag_ports.len() {
                            let i = self.aggs[r].lag_ports[n];
                            if i != r {
                                self.ports[i].aggregator = None;
                                self.ports[i].selected = false;
                            }
                        }
                        self.aggs[r].clear();
                    }
                }
            } else {
                let was_active = self.aggs[r].is_active;
                self.aggs[r].clear();
                if was_active {
                    self.log(Some(id), "Removing an active aggregator".into());
                    self.agg_selection_logic();
                }
            }
        }
        // Detach the port from whatever aggregator holds it now.
        for k in 0..self.aggs.len() {
            if let Some(pos) = self.aggs[k].lag_ports.iter().position(|&x| x == r) {
                self.aggs[k].lag_ports.remove(pos);
                if self.agg_active_ports(k) == 0 {
                    let was_active = self.aggs[k].is_active;
                    if self.aggs[k].lag_ports.is_empty() {
                        self.aggs[k].clear();
                    }
                    if was_active {
                        self.log(Some(id), "Removing an active aggregator".into());
                        self.agg_selection_logic();
                    }
                }
                break;
            }
        }
        // Drop the port and its aggregator; renumber indices.
        self.ports.remove(r);
        self.aggs.remove(r);
        let fix = |x: usize| if x > r { x - 1 } else { x };
        for p in &mut self.ports {
            p.aggregator = p.aggregator.filter(|&k| k != r).map(fix);
        }
        for a in &mut self.aggs {
            a.lag_ports.retain(|&x| x != r);
            for x in &mut a.lag_ports {
                *x = fix(*x);
            }
        }
        if self.ports.is_empty() {
            self.next_tick = if self.up { self.next_tick } else { None };
        }
        self.set_carrier();
        self.flush();
    }

    /// The caller's link observation for a port changed (`bond_3ad_handle_link_change` for up
    /// and down, `bond_3ad_adapter_speed_duplex_changed` for speed/duplex while up).
    pub fn set_link(&mut self, id: PortId, link: PortLink, _now: Millis) {
        let Some(i) = self.idx(id) else { return };
        let old = self.ports[i].link;
        self.ports[i].link = link;
        if old.up != link.up {
            let p = &mut self.ports[i];
            p.is_enabled = link.up;
            // The MII monitor makes a failed slave inactive, and a returning one backup
            // (bond_miimon_commit); LACP enables it again when appropriate.
            p.tx_enabled = false;
            if !link.up {
                p.rx_enabled = false;
            }
            self.update_actor_keys(i, !link.up);
            self.agg_selection_logic();
        } else if link.up && (old.speed_mbps != link.speed_mbps || old.full_duplex != link.full_duplex) {
            self.update_actor_keys(i, false);
        }
        self.flush();
    }

    /// A whole Ethernet frame received on port `id`. LACPDUs run the receive machine at once;
    /// Marker Information is answered at once (a `Send` output).
    pub fn rx(&mut self, id: PortId, frame: &[u8], _now: Millis) -> RxOutcome {
        let Some(i) = self.idx(id) else { return RxOutcome::NotLacp };
        let outcome = match pdu::classify(frame) {
            Classified::NotSlow => return RxOutcome::NotLacp,
            Classified::TooShort => {
                self.ports[i].counters.illegal_rx += 1;
                RxOutcome::NotLacp
            }
            Classified::Unknown(_) => {
                self.ports[i].counters.unknown_rx += 1;
                RxOutcome::NotLacp
            }
            Classified::Lacp(bytes) => {
                match Lacpdu::decode(bytes) {
                    Ok(pdu) => {
                        self.ports[i].counters.lacpdu_rx += 1;
                        if self.up {
                            self.rx_machine(i, Some(&pdu));
                        }
                    }
                    Err(_) => self.ports[i].counters.illegal_rx += 1,
                }
                RxOutcome::Consumed
            }
            Classified::Marker(bytes) => {
                self.marker_rx(i, bytes);
                RxOutcome::Consumed
            }
        };
        self.flush();
        outcome
    }

    /// Run every 100 ms tick that is due at `now`.
    pub fn tick(&mut self, now: Millis) {
        if !self.up {
            return;
        }
        let Some(mut next) = self.next_tick else { return };
        let mut n = 0;
        while next <= now {
            if n == MAX_CATCH_UP_TICKS {
                next = now + TICK_MS;
                break;
            }
            self.run_tick();
            next += TICK_MS;
            n += 1;
        }
        self.next_tick = Some(next);
        self.flush();
    }

    /// One engine tick (`bond_3ad_state_machine_handler`).
    fn run_tick(&mut self) {
        if self.ports.is_empty() {
            return;
        }
        self.tick_count += 1;
        if self.agg_select_timer != 0 {
            self.agg_select_timer -= 1;
            if self.agg_select_timer == 0 {
                self.agg_selection_logic();
                self.set_carrier();
            }
        }
        for i in 0..self.ports.len() {
            self.rx_machine(i, None);
            self.periodic_machine(i);
            self.port_selection_logic(i);
            self.mux_machine(i);
            self.tx_machine(i);
            self.churn_machine(i);
            self.ports[i].begin = false;
        }
    }

    /// When `tick` must next be called: while the bond is up and has ports.
    pub fn poll_timeout(&self) -> Option<Millis> {
        if self.up && !self.ports.is_empty() {
            self.next_tick
        } else {
            None
        }
    }

    pub fn poll_output(&mut self) -> Option<LacpOutput> {
        self.out.pop_front()
    }

    /// Is the port receiving for the bond (the kernel's slave not `inactive`)?
    pub fn is_collecting(&self, id: PortId) -> bool {
        self.idx(id).is_some_and(|i| self.collecting(i))
    }

    /// Is the port in the bond's transmit set (`bond_update_slave_arr` for 802.3ad: a port of
    /// the active aggregator, link up, enabled)?
    pub fn is_distributing(&self, id: PortId) -> bool {
        self.idx(id).is_some_and(|i| self.distributing(i))
    }

    fn collecting(&self, i: usize) -> bool {
        let p = &self.ports[i];
        self.up && p.link.up && p.rx_enabled
    }

    fn distributing(&self, i: usize) -> bool {
        let p = &self.ports[i];
        self.up && p.link.up && p.tx_enabled && p.aggregator.is_some_and(|k| self.aggs[k].is_active)
    }

    /// The bond carrier (IEEE 802.1AX-2020 6.4.14-6.4.17; bond_3ad.c: ad_agg_selection_logic): an active aggregator with at least min_links ports up.
    pub fn carrier(&self) -> bool {
        self.up && self.carrier
    }

    /// rbond `lacp_fallback active-backup`: true when enabled, the bond is up, no port hears
    /// a partner (none is CURRENT or EXPIRED) and at least one port has given up waiting
    /// (DEFAULTED, or LACP disabled by half duplex). The bond then runs active-backup over its
    /// ports (which one is active is the bond's choice). It turns false the moment a LACPDU
    /// arrives on any port.
    pub fn fallback_active(&self) -> bool {
        self.cfg.fallback_ab
            && self.up
            && !self.ports.iter().any(|p| matches!(p.sm_rx_state, RxState::Current | RxState::Expired))
            && self.ports.iter().any(|p| matches!(p.sm_rx_state, RxState::Defaulted | RxState::LacpDisabled))
    }

    /// The active aggregator as /proc shows it (`bond_3ad_get_active_agg_info`).
    pub fn active_aggregator(&self) -> Option<AggregatorInfo> {
        let k = self.get_active_agg()?;
        let a = &self.aggs[k];
        Some(AggregatorInfo {
            id: a.aggregator_identifier,
            num_ports: self.agg_active_ports(k) as u16,
            actor_key: a.actor_oper_aggregator_key,
            partner_key: a.partner_oper_aggregator_key,
            partner_mac: a.partner_system,
        })
    }

    /// The port's 802.3ad lines of the status text.
    pub fn port_status(&self, id: PortId) -> Option<SlaveAdInfo> {
        let p = &self.ports[self.idx(id)?];
        Some(SlaveAdInfo {
            aggregator_id: p.aggregator.map(|k| self.aggs[k].aggregator_identifier),
            actor_churn_state: p.sm_churn_actor_state.text(),
            partner_churn_state: p.sm_churn_partner_state.text(),
            actor_churned_count: p.churn_actor_count,
            partner_churned_count: p.churn_partner_count,
            actor: LacpPduDetails {
                system_priority: p.actor_system_priority,
                system_mac: p.actor_system,
                key: p.actor_oper_port_key,
                port_priority: p.actor_port_priority,
                port_number: p.actor_port_number,
                port_state: p.actor_oper_port_state,
            },
            partner: LacpPduDetails {
                system_priority: p.partner_oper.system_priority,
                system_mac: p.partner_oper.system,
                key: p.partner_oper.key,
                port_priority: p.partner_oper.port_priority,
                port_number: p.partner_oper.port_number,
                port_state: p.partner_oper.port_state,
            },
        })
    }

    pub fn counters(&self, id: PortId) -> Option<LacpCounters> {
        self.idx(id).map(|i| self.ports[i].counters)
    }

    /// Emit `PortChanged` / `AggregatorChanged` for what changed since the last call.
    fn flush(&mut self) {
        for i in 0..self.ports.len() {
            let now = (self.collecting(i), self.distributing(i));
            if now != self.ports[i].reported {
                self.ports[i].reported = now;
                let port = self.ports[i].id;
                self.out.push_back(LacpOutput::PortChanged { port });
            }
        }
        let now = (self.active_aggregator(), self.carrier(), self.fallback_active());
        if now != self.reported {
            self.reported = now;
            self.out.push_back(LacpOutput::AggregatorChanged);
        }
    }
}

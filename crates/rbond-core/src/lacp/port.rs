//! Per-port and per-aggregator variables, named as 802.1AX 6.4.7/6.4.8 and the kernel's
//! `struct port` / `struct aggregator` name them.

use super::state::*;
use super::{LacpCounters, PortId, PortLink};
use crate::types::MacAddr;

/// One aggregation port.
#[derive(Clone, Debug)]
pub(crate) struct Port {
    pub id: PortId,
    pub perm_mac: MacAddr,
    pub link: PortLink,
    // Actor.
    pub actor_port_number: u16,
    pub actor_port_priority: u16,
    pub actor_system: MacAddr,
    pub actor_system_priority: u16,
    pub actor_admin_port_key: u16,
    pub actor_oper_port_key: u16,
    pub actor_admin_port_state: u8,
    pub actor_oper_port_state: u8,
    // Partner.
    pub partner_admin: PortParams,
    pub partner_oper: PortParams,
    /// Port_Enabled: the link is up (kernel `is_enabled`).
    pub is_enabled: bool,
    // sm_vars.
    pub begin: bool,
    pub lacp_enabled: bool,
    pub selected: bool,
    pub ready_n: bool,
    pub ready: bool,
    pub matched: bool,
    pub churned: bool,
    /// Need To Transmit.
    pub ntt: bool,
    // Machines and their timers (ticks).
    pub sm_rx_state: RxState,
    pub sm_rx_timer_counter: u16,
    pub sm_periodic_state: PeriodicState,
    pub sm_periodic_timer_counter: u16,
    /// Position in the 3-3-4 tick cycle of redundant fast transmission.
    pub periodic_phase: u8,
    pub sm_mux_state: MuxState,
    pub sm_mux_timer_counter: u16,
    pub sm_tx_timer_counter: u16,
    /// Engine tick numbers of the last LACPDUs sent (≤ 3 per Fast_Periodic_Time).
    pub tx_history: [Option<u64>; MAX_TX_PER_FAST_PERIODIC],
    pub sm_churn_actor_state: ChurnState,
    pub sm_churn_actor_timer_counter: u16,
    pub sm_churn_partner_state: ChurnState,
    pub sm_churn_partner_timer_counter: u16,
    pub churn_actor_count: u32,
    pub churn_partner_count: u32,
    /// Index of the aggregator the port is attached to.
    pub aggregator: Option<usize>,
    /// The kernel slave flags driven by `__enable_port` / `__disable_port`: transmit allowed
    /// (`!backup`) and receive allowed (`!inactive`).
    pub tx_enabled: bool,
    pub rx_enabled: bool,
    pub counters: LacpCounters,
    pub unknown_speed_logged: bool,
    /// Last collecting/distributing values reported through `PortChanged`.
    pub reported: (bool, bool),
}

impl Port {
    /// `ad_initialize_port` plus the identity part of `bond_3ad_bind_slave`.
    pub fn new(id: PortId, perm_mac: MacAddr, link: PortLink, number: u16, lacp_active: bool, lacp_fast: bool) -> Port {
        let mut admin_state = AGGREGATION;
        if lacp_active {
            admin_state |= LACP_ACTIVITY;
        }
        let mut oper_state = admin_state;
        if lacp_fast {
            oper_state |= LACP_TIMEOUT;
        }
        Port {
            id,
            perm_mac,
            link,
            actor_port_number: number,
            actor_port_priority: 0xff,
            actor_system: MacAddr::ZERO,
            actor_system_priority: 0,
            actor_admin_port_key: 0,
            actor_oper_port_key: 0,
            actor_admin_port_state: admin_state,
            actor_oper_port_state: oper_state,
            partner_admin: PortParams::PARTNER_ADMIN_DEFAULT,
            partner_oper: PortParams::PARTNER_ADMIN_DEFAULT,
            is_enabled: link.up,
            begin: true,
            lacp_enabled: true,
            selected: false,
            ready_n: false,
            ready: false,
            matched: false,
            churned: false,
            ntt: false,
            sm_rx_state: RxState::Dummy,
            sm_rx_timer_counter: 0,
            sm_periodic_state: PeriodicState::NoPeriodic,
            sm_periodic_timer_counter: 0,
            periodic_phase: 0,
            sm_mux_state: MuxState::Dummy,
            sm_mux_timer_counter: 0,
            sm_tx_timer_counter: TX_HOLDOFF_TICKS,
            tx_history: [None; MAX_TX_PER_FAST_PERIODIC],
            sm_churn_actor_state: ChurnState::Monitor,
            sm_churn_actor_timer_counter: 0,
            sm_churn_partner_state: ChurnState::Monitor,
            sm_churn_partner_timer_counter: 0,
            churn_actor_count: 0,
            churn_partner_count: 0,
            aggregator: None,
            tx_enabled: false,
            rx_enabled: false,
            counters: LacpCounters::default(),
            unknown_speed_logged: false,
            reported: (false, false),
        }
    }

    /// `__record_default`: partner := admin defaults, set Defaulted.
    pub fn record_default(&mut self) {
        self.partner_oper = self.partner_admin;
        self.actor_oper_port_state |= DEFAULTED;
    }
}

/// One aggregator; each port owns one (`SLAVE_AD_INFO(slave)->aggregator`), stored at the same
/// index as its owner.
#[derive(Clone, Debug, Default)]
pub(crate) struct Aggregator {
    pub aggregator_identifier: u16,
    pub is_individual: bool,
    pub actor_admin_aggregator_key: u16,
    pub actor_oper_aggregator_key: u16,
    pub partner_system: MacAddr,
    pub partner_system_priority: u16,
    pub partner_oper_aggregator_key: u16,
    pub is_active: bool,
    /// Attached ports (indices), most recently attached first like the kernel's `lag_ports`
    /// list: "the aggregator's first port" (bandwidth) is `lag_ports[0]`.
    pub lag_ports: Vec<usize>,
}

impl Aggregator {
    /// `ad_clear_agg`: everything but the identifier.
    pub fn clear(&mut self) {
        let id = self.aggregator_identifier;
        *self = Aggregator { aggregator_identifier: id, ..Aggregator::default() };
    }
}

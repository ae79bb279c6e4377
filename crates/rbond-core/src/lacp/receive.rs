//! Receive machine (IEEE 802.1AX-2014 6.4.12; kernel `ad_rx_machine`, IEEE 802.1AX-2020 6.4.12).

use super::pdu::Lacpdu;
use super::state::*;
use super::Lacp;

impl Lacp {
    /// Run the receive machine of port `i`, with a received LACPDU or (each tick) without.
    pub(super) fn rx_machine(&mut self, i: usize, pdu: Option<&Lacpdu>) {
        let p = &mut self.ports[i];
        let last = p.sm_rx_state;
        if p.begin {
            p.sm_rx_state = RxState::Initialize;
            p.churned = true;
        } else if !p.is_enabled {
            p.sm_rx_state = RxState::PortDisabled;
        } else if pdu.is_some() && matches!(last, RxState::Expired | RxState::Defaulted | RxState::Current) {
            if last != RxState::Current {
                p.churned = true;
            }
            p.sm_rx_timer_counter = 0;
            p.sm_rx_state = RxState::Current;
        } else if p.sm_rx_timer_counter != 0 && {
            p.sm_rx_timer_counter -= 1;
            p.sm_rx_timer_counter == 0
        } {
            // current_while expired.
            match p.sm_rx_state {
                RxState::Expired => p.sm_rx_state = RxState::Defaulted,
                RxState::Current => p.sm_rx_state = RxState::Expired,
                _ => {}
            }
        } else if p.sm_rx_state == RxState::PortDisabled && p.is_enabled {
            p.sm_rx_state = if p.lacp_enabled { RxState::Expired } else { RxState::LacpDisabled };
        }

        if p.sm_rx_state == last && pdu.is_none() {
            return;
        }
        match p.sm_rx_state {
            RxState::Initialize => {
                p.lacp_enabled = p.actor_oper_port_key & super::key::DUPLEX_KEY_MASK != 0;
                p.selected = false;
                p.record_default();
                p.actor_oper_port_state &= !EXPIRED;
                // INITIALIZE moves on to PORT_DISABLED unconditionally (UCT).
                p.sm_rx_state = RxState::PortDisabled;
                p.matched = false;
            }
            RxState::PortDisabled => p.matched = false,
            RxState::LacpDisabled => {
                p.selected = false;
                p.record_default();
                p.partner_oper.port_state &= !AGGREGATION;
                p.matched = true;
                p.actor_oper_port_state &= !EXPIRED;
            }
            RxState::Expired => {
                // 802.1AX-2014 Figure 6-18: partner out of sync, short timeout assumed.
                p.matched = false;
                p.partner_oper.port_state &= !SYNCHRONIZATION;
                p.partner_oper.port_state |= LACP_TIMEOUT;
                p.sm_rx_timer_counter = SHORT_TIMEOUT_TICKS;
                p.actor_oper_port_state |= EXPIRED;
                p.churned = true;
            }
            RxState::Defaulted => {
                // __update_default_selected, then __record_default.
                if !same_partner(&p.partner_admin, &p.partner_oper) {
                    p.selected = false;
                }
                p.record_default();
                p.matched = true;
                p.actor_oper_port_state &= !EXPIRED;
            }
            RxState::Current => {
                let Some(pdu) = pdu else { return };
                if pdu.actor.system == p.actor_system {
                    let id = p.id;
                    self.log(Some(id), "An illegal loopback occurred on slave".into());
                    self.log(
                        Some(id),
                        "Check the configuration to verify that all adapters are connected to 802.3ad compliant switch ports"
                            .into(),
                    );
                    return;
                }
                // __update_selected: a different partner means reselection.
                let a = &pdu.actor;
                if !same_partner(a, &p.partner_oper) {
                    p.selected = false;
                }
                // __update_ntt: the partner's view of us is stale.
                let pp = &pdu.partner;
                let bits = LACP_ACTIVITY | LACP_TIMEOUT | SYNCHRONIZATION | AGGREGATION;
                if pp.port_number != p.actor_port_number
                    || pp.port_priority != p.actor_port_priority
                    || pp.system != p.actor_system
                    || pp.system_priority != p.actor_system_priority
                    || pp.key != p.actor_oper_port_key
                    || (pp.port_state & bits) != (p.actor_oper_port_state & bits)
                {
                    p.ntt = true;
                }
                // __record_pdu with __choose_matched.
                p.matched = (pp.port_number == p.actor_port_number
                    && pp.port_priority == p.actor_port_priority
                    && pp.system == p.actor_system
                    && pp.system_priority == p.actor_system_priority
                    && pp.key == p.actor_oper_port_key
                    && (pp.port_state & AGGREGATION) == (p.actor_oper_port_state & AGGREGATION))
                    || (a.port_state & AGGREGATION) == 0;
                p.partner_oper = *a;
                p.actor_oper_port_state &= !DEFAULTED;
                set(
                    &mut p.partner_oper.port_state,
                    SYNCHRONIZATION,
                    p.matched && has(a.port_state, SYNCHRONIZATION),
                );
                p.sm_rx_timer_counter = if has(p.actor_oper_port_state, LACP_TIMEOUT) {
                    SHORT_TIMEOUT_TICKS
                } else {
                    LONG_TIMEOUT_TICKS
                };
                p.actor_oper_port_state &= !EXPIRED;
            }
            RxState::Dummy => {}
        }
    }
}

/// `__update_selected` / `__update_default_selected`: the partner is the same one when its
/// port, port priority, system, system priority, key and Aggregation bit are (IEEE 802.1AX
/// 6.4.9, updateSelected); otherwise the port must select its aggregator again.
fn same_partner(a: &PortParams, o: &PortParams) -> bool {
    a.port_number == o.port_number
        && a.port_priority == o.port_priority
        && a.system == o.system
        && a.system_priority == o.system_priority
        && a.key == o.key
        && (a.port_state & AGGREGATION) == (o.port_state & AGGREGATION)
}

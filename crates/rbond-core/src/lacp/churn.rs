//! Churn Detection machines (IEEE 802.1AX-2014 6.4.17; kernel `ad_churn_machine`, IEEE 802.1AX-2020 6.4.14-6.4.17; bond_3ad.c: ad_agg_selection_logic).
//! Informational only: they feed the churn lines of the status text.

use super::state::*;
use super::Lacp;

impl Lacp {
    pub(super) fn churn_machine(&mut self, i: usize) {
        let p = &mut self.ports[i];
        if p.churned {
            p.churned = false;
            p.sm_churn_actor_state = ChurnState::Monitor;
            p.sm_churn_partner_state = ChurnState::Monitor;
            p.sm_churn_actor_timer_counter = CHURN_TICKS;
            p.sm_churn_partner_timer_counter = CHURN_TICKS;
            return;
        }
        if p.sm_churn_actor_timer_counter != 0 {
            p.sm_churn_actor_timer_counter -= 1;
            if p.sm_churn_actor_timer_counter == 0 && p.sm_churn_actor_state == ChurnState::Monitor {
                if has(p.actor_oper_port_state, SYNCHRONIZATION) {
                    p.sm_churn_actor_state = ChurnState::NoChurn;
                } else {
                    p.churn_actor_count += 1;
                    p.sm_churn_actor_state = ChurnState::Churn;
                }
            }
        }
        if p.sm_churn_partner_timer_counter != 0 {
            p.sm_churn_partner_timer_counter -= 1;
            if p.sm_churn_partner_timer_counter == 0 && p.sm_churn_partner_state == ChurnState::Monitor {
                if has(p.partner_oper.port_state, SYNCHRONIZATION) {
                    p.sm_churn_partner_state = ChurnState::NoChurn;
                } else {
                    p.churn_partner_count += 1;
                    p.sm_churn_partner_state = ChurnState::Churn;
                }
            }
        }
    }
}

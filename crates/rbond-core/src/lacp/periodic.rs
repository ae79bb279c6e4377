//! Periodic Transmission machine (IEEE 802.1AX-2014 6.4.13; kernel `ad_periodic_machine`,
//! IEEE 802.1AX-2020 6.4.13, newest-kernel passive semantics of bonding.rst, lacp_active).

use super::state::*;
use super::Lacp;

/// Gaps, in ticks, between periodic LACPDUs when redundant fast transmission is on: three per
/// Fast_Periodic_Time, the most 802.1AX 6.4.16 allows.
const REDUNDANT_GAPS: [u16; 3] = [3, 3, 4];

impl Lacp {
    pub(super) fn periodic_machine(&mut self, i: usize) {
        let redundant = self.cfg.fast_tx_redundancy;
        let p = &mut self.ports[i];
        let last = p.sm_periodic_state;
        if p.begin
            || !p.lacp_enabled
            || !p.is_enabled
            || (!has(p.actor_oper_port_state, LACP_ACTIVITY) && !has(p.partner_oper.port_state, LACP_ACTIVITY))
        {
            p.sm_periodic_state = PeriodicState::NoPeriodic;
        } else if p.sm_periodic_timer_counter != 0 {
            p.sm_periodic_timer_counter -= 1;
            if p.sm_periodic_timer_counter == 0 {
                p.sm_periodic_state = PeriodicState::PeriodicTx;
            } else {
                let partner_fast = has(p.partner_oper.port_state, LACP_TIMEOUT);
                match p.sm_periodic_state {
                    PeriodicState::FastPeriodic if !partner_fast => p.sm_periodic_state = PeriodicState::SlowPeriodic,
                    PeriodicState::SlowPeriodic if partner_fast => {
                        p.sm_periodic_timer_counter = 0;
                        p.sm_periodic_state = PeriodicState::PeriodicTx;
                    }
                    _ => {}
                }
            }
        } else {
            match p.sm_periodic_state {
                PeriodicState::NoPeriodic => p.sm_periodic_state = PeriodicState::FastPeriodic,
                PeriodicState::PeriodicTx => {
                    p.sm_periodic_state = if has(p.partner_oper.port_state, LACP_TIMEOUT) {
                        PeriodicState::FastPeriodic
                    } else {
                        PeriodicState::SlowPeriodic
                    }
                }
                _ => {}
            }
        }

        if p.sm_periodic_state != last {
            match p.sm_periodic_state {
                PeriodicState::NoPeriodic => p.sm_periodic_timer_counter = 0,
                PeriodicState::FastPeriodic => {
                    // One tick less: PERIODIC_TX itself takes a tick.
                    let gap = if redundant {
                        let g = REDUNDANT_GAPS[p.periodic_phase as usize % REDUNDANT_GAPS.len()];
                        p.periodic_phase = (p.periodic_phase + 1) % REDUNDANT_GAPS.len() as u8;
                        g
                    } else {
                        FAST_PERIODIC_TICKS
                    };
                    p.sm_periodic_timer_counter = gap - 1;
                }
                PeriodicState::SlowPeriodic => p.sm_periodic_timer_counter = SLOW_PERIODIC_TICKS - 1,
                PeriodicState::PeriodicTx => p.ntt = true,
            }
        }
    }
}

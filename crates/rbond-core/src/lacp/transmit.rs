//! Transmit machine (IEEE 802.1AX-2014 6.4.16; kernel `ad_tx_machine`, IEEE 802.1AX-2020 6.4.14-6.4.17; bond_3ad.c: ad_agg_selection_logic).

use super::pdu::{self, Lacpdu};
use super::state::*;
use super::{Lacp, LacpOutput};

impl Lacp {
    /// Each tick: once the hold-off has run out, send a LACPDU if NTT is set and LACP is
    /// enabled, then hold off for 3 ticks. Two rules beyond the kernel:
    /// - at most 3 LACPDUs in any 10 ticks (802.1AX 6.4.16: "no more than three LACPDUs in any
    ///   Fast_Periodic_Time"; the kernel's 300 ms hold-off alone would allow a 4th at 900 ms);
    /// - nothing is sent while both Actor and Partner are passive (802.1AX 6.4.13: passive
    ///   with passive exchanges no LACPDUs). The kernel still sends its event-driven LACPDUs
    ///   then; NTT stays set so the first LACPDU goes out as soon as an active partner speaks.
    pub(super) fn tx_machine(&mut self, i: usize) {
        let tick = self.tick_count;
        let p = &mut self.ports[i];
        if p.sm_tx_timer_counter != 0 {
            p.sm_tx_timer_counter -= 1;
            if p.sm_tx_timer_counter != 0 {
                return;
            }
        }
        let both_passive =
            !has(p.actor_oper_port_state, LACP_ACTIVITY) && !has(p.partner_oper.port_state, LACP_ACTIVITY);
        let window_ok = match p.tx_history[MAX_TX_PER_FAST_PERIODIC - 1] {
            Some(oldest) => tick >= oldest + FAST_PERIODIC_TICKS as u64,
            None => true,
        };
        if p.ntt && p.lacp_enabled && !both_passive && window_ok {
            self.send_lacpdu(i);
            let p = &mut self.ports[i];
            p.ntt = false;
            p.sm_tx_timer_counter = TX_HOLDOFF_TICKS;
            p.tx_history.rotate_right(1);
            p.tx_history[0] = Some(tick);
        }
    }

    /// `__update_lacpdu_from_port`: the LACPDU port `i` would send now.
    pub(super) fn lacpdu_of(&self, i: usize) -> Lacpdu {
        let p = &self.ports[i];
        Lacpdu {
            version: 1,
            actor: PortParams {
                system_priority: p.actor_system_priority,
                system: p.actor_system,
                key: p.actor_oper_port_key,
                port_priority: p.actor_port_priority,
                port_number: p.actor_port_number,
                port_state: p.actor_oper_port_state,
            },
            partner: p.partner_oper,
            collector_max_delay: 0,
        }
    }

    /// `ad_lacpdu_send`: queue the frame, sourced from the port's permanent MAC.
    pub(super) fn send_lacpdu(&mut self, i: usize) {
        let bytes = self.lacpdu_of(i).encode();
        let p = &mut self.ports[i];
        p.counters.lacpdu_tx += 1;
        let frame = pdu::frame(p.perm_mac, &bytes);
        let port = p.id;
        self.out.push_back(LacpOutput::Send { port, frame });
    }
}

//! Mux machine (IEEE 802.1AX-2014 6.4.15; kernel `ad_mux_machine`, IEEE 802.1AX-2020 6.4.15), with
//! coupled control (COLLECTING_DISTRIBUTING) or, when `coupled_control` is off, independent
//! COLLECTING and DISTRIBUTING states.

use super::state::*;
use super::Lacp;

impl Lacp {
    fn agg_is_active(&self, i: usize) -> bool {
        self.ports[i].aggregator.is_some_and(|k| self.aggs[k].is_active)
    }

    fn port_agg_has_partner(&self, i: usize) -> bool {
        self.ports[i].aggregator.is_some_and(|k| self.agg_has_partner(k))
    }

    /// `__enable_port`: the slave becomes active (transmits and receives) if its link is up.
    pub(super) fn enable_port(&mut self, i: usize) {
        let p = &mut self.ports[i];
        if p.link.up {
            p.tx_enabled = true;
            p.rx_enabled = true;
        }
    }

    /// `__disable_port`: backup and inactive.
    pub(super) fn disable_port(&mut self, i: usize) {
        let p = &mut self.ports[i];
        p.tx_enabled = false;
        p.rx_enabled = false;
    }

    /// "Stop": only a port whose aggregator has a partner is disabled.
    fn disable_collecting_distributing(&mut self, i: usize) {
        if self.port_agg_has_partner(i) {
            self.disable_port(i);
        }
    }

    fn enable_collecting_distributing(&mut self, i: usize) {
        if self.agg_is_active(i) {
            self.enable_port(i);
        }
    }

    fn enable_collecting(&mut self, i: usize) {
        if self.agg_is_active(i) && self.ports[i].link.up {
            self.ports[i].rx_enabled = true;
        }
    }

    fn disable_distributing(&mut self, i: usize) {
        if self.port_agg_has_partner(i) {
            self.ports[i].tx_enabled = false;
        }
    }

    fn set_ready_of(&mut self, i: usize) {
        if let Some(k) = self.ports[i].aggregator {
            let r = self.agg_ports_are_ready(k);
            self.set_agg_ports_ready(k, r);
        }
    }

    pub(super) fn mux_machine(&mut self, i: usize) {
        let coupled = self.cfg.coupled_control;
        let timer_running = self.agg_select_timer != 0;
        let last = self.ports[i].sm_mux_state;
        if self.ports[i].begin {
            self.ports[i].sm_mux_state = MuxState::Detached;
        } else {
            let active = self.agg_is_active(i);
            let p = &self.ports[i];
            let selected = p.selected;
            let partner_sync = has(p.partner_oper.port_state, SYNCHRONIZATION);
            let partner_coll = has(p.partner_oper.port_state, COLLECTING);
            let actor_sync = has(p.actor_oper_port_state, SYNCHRONIZATION);
            match p.sm_mux_state {
                MuxState::Dummy => {}
                MuxState::Detached => {
                    if selected {
                        self.ports[i].sm_mux_state = MuxState::Waiting;
                    }
                }
                MuxState::Waiting => {
                    if !selected {
                        self.ports[i].ready_n = false;
                        self.set_ready_of(i);
                        self.ports[i].sm_mux_state = MuxState::Detached;
                    } else {
                        let p = &mut self.ports[i];
                        if p.sm_mux_timer_counter != 0 {
                            p.sm_mux_timer_counter -= 1;
                            if p.sm_mux_timer_counter == 0 {
                                p.ready_n = true;
                            }
                        }
                        self.set_ready_of(i);
                        let p = &mut self.ports[i];
                        if p.ready && p.sm_mux_timer_counter == 0 {
                            p.sm_mux_state = MuxState::Attached;
                        }
                    }
                }
                MuxState::Attached => {
                    if selected && partner_sync && !timer_running {
                        if active {
                            self.ports[i].sm_mux_state =
                                if coupled { MuxState::CollectingDistributing } else { MuxState::Collecting };
                        }
                    } else if !selected {
                        self.ports[i].ready_n = false;
                        self.set_ready_of(i);
                        self.ports[i].sm_mux_state = MuxState::Detached;
                    } else if active {
                        self.ports[i].actor_oper_port_state |= SYNCHRONIZATION;
                    }
                }
                MuxState::CollectingDistributing => {
                    if !selected || !partner_sync || !actor_sync {
                        self.ports[i].sm_mux_state = MuxState::Attached;
                    } else if active && !self.ports[i].tx_enabled {
                        // Make sure a collecting-distributing port of the active aggregator
                        // is enabled (e.g. after it was disabled by a reselection).
                        self.enable_port(i);
                    }
                }
                MuxState::Collecting => {
                    if !selected || !partner_sync || !actor_sync {
                        self.ports[i].sm_mux_state = MuxState::Attached;
                    } else if partner_coll {
                        self.ports[i].sm_mux_state = MuxState::Distributing;
                    } else if active && !self.ports[i].rx_enabled {
                        self.enable_collecting(i);
                    }
                }
                MuxState::Distributing => {
                    if !selected || !partner_coll || !partner_sync || !actor_sync {
                        self.ports[i].sm_mux_state = MuxState::Collecting;
                    } else if active && !self.ports[i].tx_enabled {
                        self.enable_port(i);
                    }
                }
            }
        }

        let now_state = self.ports[i].sm_mux_state;
        if now_state == last {
            return;
        }
        let active = self.agg_is_active(i);
        match now_state {
            MuxState::Detached => {
                self.ports[i].actor_oper_port_state &= !SYNCHRONIZATION;
                self.disable_collecting_distributing(i);
                let p = &mut self.ports[i];
                p.actor_oper_port_state &= !(COLLECTING | DISTRIBUTING);
                p.ntt = true;
            }
            MuxState::Waiting => self.ports[i].sm_mux_timer_counter = WAIT_WHILE_TICKS,
            MuxState::Attached => {
                let p = &mut self.ports[i];
                set(&mut p.actor_oper_port_state, SYNCHRONIZATION, active);
                p.actor_oper_port_state &= !(COLLECTING | DISTRIBUTING);
                self.disable_collecting_distributing(i);
                self.ports[i].ntt = true;
            }
            MuxState::CollectingDistributing => {
                self.ports[i].actor_oper_port_state |= COLLECTING | DISTRIBUTING | SYNCHRONIZATION;
                self.enable_collecting_distributing(i);
                self.ports[i].ntt = true;
            }
            MuxState::Collecting => {
                let p = &mut self.ports[i];
                p.actor_oper_port_state |= COLLECTING | SYNCHRONIZATION;
                p.actor_oper_port_state &= !DISTRIBUTING;
                self.enable_collecting(i);
                self.disable_distributing(i);
                self.ports[i].ntt = true;
            }
            MuxState::Distributing => {
                self.ports[i].actor_oper_port_state |= DISTRIBUTING | SYNCHRONIZATION;
                self.enable_collecting_distributing(i);
            }
            MuxState::Dummy => {}
        }
    }
}

//! Selection Logic (IEEE 802.1AX-2014 6.4.14): port selection (kernel
//! `ad_port_selection_logic`, IEEE 802.1AX-2020 6.4.14) and active-aggregator selection
//! (`ad_agg_selection_logic`, `ad_agg_selection_test`, IEEE 802.1AX-2020 6.4.14-6.4.17; bond_3ad.c: ad_agg_selection_logic) with ad_select
//! stable | bandwidth | count, and the bond carrier (`bond_3ad_set_carrier`).

use super::key::{link_speed_mbps, DUPLEX_KEY_MASK};
use super::state::*;
use super::Lacp;
use crate::options::AdSelect;

impl Lacp {
    /// `__agg_active_ports`: ports of aggregator `k` whose link is up ("Number of ports").
    pub(super) fn agg_active_ports(&self, k: usize) -> u32 {
        self.aggs[k].lag_ports.iter().filter(|&&i| self.ports[i].is_enabled).count() as u32
    }

    pub(super) fn agg_has_partner(&self, k: usize) -> bool {
        !self.aggs[k].partner_system.is_zero()
    }

    /// `agg_device_up`: some port of the aggregator is running with carrier.
    fn agg_device_up(&self, k: usize) -> bool {
        self.aggs[k].lag_ports.iter().any(|&i| self.ports[i].link.up)
    }

    /// `__get_agg_bandwidth`: active ports × Mb/s of the aggregator's first port.
    fn agg_bandwidth(&self, k: usize) -> u64 {
        match self.aggs[k].lag_ports.first() {
            Some(&first) => self.agg_active_ports(k) as u64 * link_speed_mbps(&self.ports[first].link),
            None => 0,
        }
    }

    /// `__get_active_agg`: the first aggregator, in port order, marked active.
    pub(super) fn get_active_agg(&self) -> Option<usize> {
        self.aggs.iter().position(|a| a.is_active)
    }

    pub(super) fn agg_ports_are_ready(&self, k: usize) -> bool {
        self.aggs[k].lag_ports.iter().all(|&i| self.ports[i].ready_n)
    }

    pub(super) fn set_agg_ports_ready(&mut self, k: usize, ready: bool) {
        for n in 0..self.aggs[k].lag_ports.len() {
            let i = self.aggs[k].lag_ports[n];
            self.ports[i].ready = ready;
        }
    }

    /// Port selection for port `i` (does nothing while it is SELECTED).
    pub(super) fn port_selection_logic(&mut self, i: usize) {
        if self.ports[i].selected {
            return;
        }
        // Leave the former aggregator; an aggregator left empty is reset.
        if let Some(k) = self.ports[i].aggregator.take() {
            if let Some(pos) = self.aggs[k].lag_ports.iter().position(|&x| x == i) {
                self.aggs[k].lag_ports.remove(pos);
                if self.aggs[k].lag_ports.is_empty() {
                    self.aggs[k].clear();
                }
            }
        }
        let mut free = None;
        let mut found = None;
        let p = &self.ports[i];
        for (k, a) in self.aggs.iter().enumerate() {
            if a.lag_ports.is_empty() {
                if free.is_none() {
                    free = Some(k);
                }
                continue;
            }
            if a.actor_oper_aggregator_key == p.actor_oper_port_key
                && a.partner_system == p.partner_oper.system
                && a.partner_system_priority == p.partner_oper.system_priority
                && a.partner_oper_aggregator_key == p.partner_oper.key
                && !p.partner_oper.system.is_zero()
                && !a.is_individual
            {
                found = Some(k);
                break;
            }
        }
        let k = if let Some(k) = found {
            self.aggs[k].lag_ports.insert(0, i);
            k
        } else if let Some(k) = free {
            let p = &self.ports[i];
            let a = &mut self.aggs[k];
            a.is_individual = p.actor_oper_port_key & DUPLEX_KEY_MASK == 0;
            a.actor_admin_aggregator_key = p.actor_admin_port_key;
            a.actor_oper_aggregator_key = p.actor_oper_port_key;
            a.partner_system = p.partner_oper.system;
            a.partner_system_priority = p.partner_oper.system_priority;
            a.partner_oper_aggregator_key = p.partner_oper.key;
            a.lag_ports = vec![i];
            k
        } else {
            let (id, n) = (self.ports[i].id, self.ports[i].actor_port_number);
            self.log(Some(id), format!("Port {n} did not find a suitable aggregator"));
            return;
        };
        self.ports[i].aggregator = Some(k);
        self.ports[i].selected = true;
        let r = self.agg_ports_are_ready(k);
        self.set_agg_ports_ready(k, r);
        self.agg_selection_logic();
        if !self.aggs[k].is_active && has(self.ports[i].actor_oper_port_state, SYNCHRONIZATION) {
            self.ports[i].actor_oper_port_state &= !SYNCHRONIZATION;
            // The partner must learn that we are out of sync (802.1AX-2014 6.4.7, NTT on a
            // change of the actor's state). The kernel clears the bit without NTT; when this
            // happens as a port defaults (re-selected within the same tick, so the mux
            // stays ATTACHED and sets no NTT), the partner kept distributing on the link
            // until its own timeout, seconds later.
            self.ports[i].ntt = true;
        }
    }

    /// `ad_agg_selection_test`: the better of `best` and `curr`.
    fn agg_selection_test(&self, best: Option<usize>, curr: usize) -> usize {
        let Some(best) = best else { return curr };
        let (b, c) = (&self.aggs[best], &self.aggs[curr]);
        if !c.is_individual && b.is_individual {
            return curr;
        }
        if c.is_individual && !b.is_individual {
            return best;
        }
        match (self.agg_has_partner(curr), self.agg_has_partner(best)) {
            (true, false) => return curr,
            (false, true) => return best,
            _ => {}
        }
        if self.cfg.ad_select == AdSelect::Count {
            let (nc, nb) = (self.agg_active_ports(curr), self.agg_active_ports(best));
            if nc > nb {
                return curr;
            }
            if nc < nb {
                return best;
            }
        }
        if self.agg_bandwidth(curr) > self.agg_bandwidth(best) {
            return curr;
        }
        best
    }

    /// Choose the active aggregator, then update the carrier.
    pub(super) fn agg_selection_logic(&mut self) {
        let active = self.get_active_agg();
        let mut best = active.filter(|&a| self.agg_device_up(a));
        for k in 0..self.aggs.len() {
            self.aggs[k].is_active = false;
            if self.agg_active_ports(k) > 0 && self.agg_device_up(k) {
                best = Some(self.agg_selection_test(best, k));
            }
        }
        if let (Some(b), Some(a)) = (best, active) {
            // stable: keep the old active aggregator while it still has ports up and a partner
            // (or neither it nor the best has one), unless it has key 0 and the best has not.
            if self.cfg.ad_select == AdSelect::Stable
                && !self.aggs[a].lag_ports.is_empty()
                && self.agg_active_ports(a) > 0
                && (self.agg_has_partner(a) || !self.agg_has_partner(b))
                && !(self.aggs[a].actor_oper_aggregator_key == 0 && self.aggs[b].actor_oper_aggregator_key != 0)
            {
                best = None;
                self.aggs[a].is_active = true;
            }
        }
        if best.is_some() && best == active {
            best = None;
            self.aggs[active.unwrap_or_default()].is_active = true;
        }
        if let Some(b) = best {
            if self.aggs[b].is_individual {
                self.log(
                    None,
                    "Warning: No 802.3ad response from the link partner for any adapters in the bond".into(),
                );
            }
            self.aggs[b].is_active = true;
            if let Some(a) = active {
                for n in 0..self.aggs[a].lag_ports.len() {
                    let i = self.aggs[a].lag_ports[n];
                    self.disable_port(i);
                }
            }
        }
        // A partnerless active aggregator carries traffic at once.
        if let Some(a) = self.get_active_agg() {
            if !self.agg_has_partner(a) {
                for n in 0..self.aggs[a].lag_ports.len() {
                    let i = self.aggs[a].lag_ports[n];
                    self.enable_port(i);
                }
            }
        }
        self.set_carrier();
    }

    /// `bond_3ad_set_carrier`: on iff there is an active aggregator with at least `min_links`
    /// ports up.
    pub(super) fn set_carrier(&mut self) {
        self.carrier = match self.get_active_agg() {
            Some(a) if !self.ports.is_empty() => self.agg_active_ports(a) >= self.cfg.min_links,
            _ => false,
        };
    }
}

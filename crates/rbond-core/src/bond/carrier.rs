//! The bond's carrier, the list of slaves that can transmit, and the 802.3ad inputs.

use super::*;

impl Bond {
    // ----- carrier and the tx array ------------------------------------------------------

    pub(super) fn carrier_now(&self) -> bool {
        if self.opts.mode == Mode::Ieee8023ad {
            let enabled = self.slaves.iter().filter(|s| s.ad_enabled && s.link == LinkState::Up).count() as u32;
            self.ad_aggregator.is_some() && enabled >= self.opts.min_links.max(1)
        } else {
            self.slaves.iter().any(|s| s.link == LinkState::Up)
        }
    }

    pub(super) fn update_carrier(&mut self) {
        let c = self.carrier_now();
        if c != self.carrier {
            self.carrier = c;
            self.actions.push_back(Action::SetCarrier(c));
        }
    }

    pub(super) fn rebuild_usable(&mut self) {
        self.usable.clear();
        let mode = self.opts.mode;
        for (i, s) in self.slaves.iter().enumerate() {
            let ok = match mode {
                Mode::Ieee8023ad => s.can_tx() && s.ad_enabled,
                Mode::BalanceTlb | Mode::BalanceAlb => {
                    s.obs.admin_up && s.obs.carrier && s.link == LinkState::Up
                }
                _ => s.can_tx(),
            };
            if ok {
                self.usable.push(i);
            }
        }
        if mode.is_tlb() {
            self.tlb_slaves.clear();
            for (i, s) in self.slaves.iter().enumerate() {
                self.tlb_slaves.push(TlbSlave {
                    idx: i,
                    speed_mbps: s.speed_mbps.unwrap_or(0),
                    usable: self.usable.contains(&i),
                });
            }
        }
    }

    // ----- 802.3ad inputs (the LACP machines come in a later issue) --------------------

    /// The LACP machines enable or disable a port (COLL_DIST in the active aggregator, §4.8).
    pub fn ad_set_port_enabled(&mut self, name: &str, enabled: bool) {
        if let Some(i) = self.slave_index(name) {
            self.slaves[i].ad_enabled = enabled;
            if enabled {
                self.set_slave_active(i);
            } else {
                self.set_slave_inactive(i);
            }
            self.rebuild_usable();
            self.update_carrier();
        }
    }

    /// The active aggregator, as the LACP machines report it.
    pub fn ad_set_active_aggregator(&mut self, agg: Option<crate::status::AggregatorInfo>) {
        self.ad_aggregator = agg;
        self.update_carrier();
    }
}

//! The bond's carrier and the list of slaves that can transmit; both follow the mode's rules.

use super::*;

impl Bond {
    pub(super) fn carrier_now(&self) -> bool {
        self.mode.ops().carrier(&self.view())
    }

    pub(super) fn update_carrier(&mut self) {
        let c = self.carrier_now();
        if c != self.carrier {
            self.carrier = c;
            self.actions.push_back(Action::SetCarrier(c));
        }
    }

    /// Rebuilds the transmit array (positions and ids) after a slave's state changed.
    pub(super) fn rebuild_usable(&mut self) {
        self.usable.clear();
        self.usable_ids.clear();
        for (i, s) in self.slaves.iter().enumerate() {
            if self.mode.ops().usable(s) {
                self.usable.push(i);
                self.usable_ids.push(s.id);
            }
        }
        let (mode, v, _) = self.parts();
        mode.ops_mut().usable_changed(&v);
    }

    // ----- 802.3ad inputs from the LACP machines -------------------------------------------

    /// The LACP machines enable or disable a port (COLL_DIST in the active aggregator, §4.8).
    pub fn ad_set_port_enabled(&mut self, id: SlaveId, enabled: bool) {
        let Some(i) = self.pos(id) else { return };
        let Some(ad) = self.mode.as_8023ad_mut() else { return };
        ad.set_port_enabled(id, enabled);
        if enabled {
            self.set_slave_active(i);
        } else {
            self.set_slave_inactive(i);
        }
        self.rebuild_usable();
        self.update_carrier();
    }

    /// The active aggregator, as the LACP machines report it.
    pub fn ad_set_active_aggregator(&mut self, agg: Option<crate::status::AggregatorInfo>) {
        if let Some(ad) = self.mode.as_8023ad_mut() {
            ad.set_active_aggregator(agg);
        }
        self.update_carrier();
    }
}

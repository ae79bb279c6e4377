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

    // ----- the mode's own machines (802.3ad LACP) ---------------------------------------

    /// Collects what the mode's machines produced (frames, log lines) and, when they changed
    /// anything, re-derives the slave flags the mode decides (bond_main.c: bond_should_deliver_exact_match), the transmit array and
    /// the carrier.
    pub(super) fn mode_sync(&mut self) {
        let (mode, v, out) = self.parts();
        if !mode.ops_mut().drain(&v, out) {
            return;
        }
        let asa = self.opts.all_slaves_active;
        for i in 0..self.slaves.len() {
            if let Some((tx, rx)) = self.mode.ops().port_flags(&self.slaves[i]) {
                let s = &mut self.slaves[i];
                s.backup = !tx;
                s.inactive = !rx && !asa;
            }
        }
        self.rebuild_usable();
        self.update_carrier();
    }

    /// A fresh component for the current mode, told the options and the bond MAC.
    pub(super) fn fresh_mode(&mut self, now: Millis) {
        self.mode = ModeState::new(self.opts.mode, self.rng);
        self.mode.ops_mut().bond_mac_changed(self.mac);
        self.mode_options_changed(now);
    }

    pub(super) fn mode_options_changed(&mut self, now: Millis) {
        let (mode, v, _) = self.parts();
        mode.ops_mut().options_changed(&v, now);
    }
}

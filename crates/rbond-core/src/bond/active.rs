//! The current active slave: slave flags, the selection of §6.4 and what a change does
//! (fail_over_mac §6.5, peer notification §6.6).

use super::*;

impl Bond {
    // ----- slave flags (the kernel's bond_set_slave_{active,inactive}_flags) ------------

    /// State active and receiving.
    pub(crate) fn set_slave_active(&mut self, i: SlaveIdx) {
        let s = &mut self.slaves[i];
        s.backup = false;
        s.inactive = false;
    }

    /// Not the one that carries the traffic: backup state (except tlb/alb, whose slaves
    /// always read `active`), and receive suppressed unless all_slaves_active.
    pub(crate) fn set_slave_inactive(&mut self, i: SlaveIdx) {
        let (tlb, asa) = (self.opts.mode.is_tlb(), self.opts.all_slaves_active);
        let s = &mut self.slaves[i];
        if !tlb {
            s.backup = true;
        }
        s.inactive = !asa;
    }

    // ----- active slave --------------------------------------------------------------

    pub(super) fn primary_idx(&self) -> Option<SlaveIdx> {
        if !self.opts.mode.uses_primary() {
            return None;
        }
        self.opts.primary.as_deref().and_then(|p| self.slave_index(p))
    }

    /// Re-runs the active slave choice (§6.4) and applies a change.
    pub(super) fn reselect(&mut self, now: Millis) {
        let primary = self.primary_idx();
        let current = self.curr_active;
        let reselect = self.opts.primary_reselect;
        let (best, promote) = select::find_best_slave(select::SelectInput {
            slaves: &self.slaves,
            primary,
            current,
            reselect,
            force_primary: &mut self.force_primary,
        });
        if let (Some(b), true) = (best, promote) {
            // A BACK slave is promoted at once when nothing else is usable; the kernel
            // reports how long it had been in its updelay.
            let s = &mut self.slaves[b];
            let elapsed = now.saturating_sub(s.phase_since);
            s.link = LinkState::Up;
            s.delay_until = now;
            s.last_link_up = now;
            if self.opts.mode.uses_primary() {
                let n = s.name.clone();
                self.log(Level::Info, Some(&n), format!("making interface the new active one {elapsed} ms earlier"));
            }
        }
        if best != current {
            self.change_active(best, now);
        }
        self.rebuild_usable();
        self.update_carrier();
    }

    /// bond_change_active_slave: flags, MACs, peer notification (§6.4 failover actions).
    pub(super) fn change_active(&mut self, new: Option<SlaveIdx>, now: Millis) {
        let old = self.curr_active;
        let mode = self.opts.mode;
        let old_name = old.and_then(|o| self.slaves.get(o)).map(|s| s.name.clone());
        let new_name = new.map(|n| self.slaves[n].name.clone());
        if mode.uses_primary() {
            if let Some(o) = old.filter(|&o| o < self.slaves.len()) {
                self.set_slave_inactive(o);
            }
            if let Some(n) = new {
                self.set_slave_active(n);
                self.slaves[n].last_link_up = now;
            }
        }
        self.curr_active = new;
        if mode.is_tlb() {
            self.tlb.active_changed(old, new);
        }
        if mode == Mode::ActiveBackup {
            if let Some(n) = new {
                self.apply_fail_over_mac(old, n);
            }
            if new.is_some() && self.admin_up {
                let delay = self.opts.peer_notif_delay.max(1);
                self.send_peer_notif = self.opts.num_peer_notif as u32 * delay;
                self.peer_notify_now();
                // A failover may happen between ticks (a link event, or a delay ending);
                // the kernel's always falls on a tick. Restart the tick grid here so the
                // next notifications come one monitor interval apart, as the kernel's do.
                if self.next_mii.is_some() {
                    self.next_mii = Some(now + self.monitor_interval() as u64);
                }
            }
        }
        if mode.uses_primary() {
            match &new_name {
                Some(n) => self.log(Level::Info, Some(n), "making interface the new active one".into()),
                None if old.is_some() => {
                    self.log(Level::Warn, None, "now running without any active interface!".into())
                }
                None => {}
            }
        }
        if old_name != new_name {
            self.actions.push_back(Action::ActiveChanged { old: old_name, new: new_name });
        }
    }

    pub(super) fn apply_fail_over_mac(&mut self, old: Option<SlaveIdx>, new: SlaveIdx) {
        match self.opts.fail_over_mac {
            FailOverMac::None => {}
            FailOverMac::Active => {
                // The bond takes the new active slave's MAC.
                let m = self.slaves[new].cur_mac;
                if m != self.mac {
                    self.mac = m;
                    self.actions.push_back(Action::SetBondMac(m));
                }
            }
            FailOverMac::Follow => {
                // The new active gets the bond MAC; the old one gets the new one's MAC.
                let bond_mac = self.mac;
                let holder = old
                    .filter(|&o| o < self.slaves.len() && o != new)
                    .or_else(|| self.slaves.iter().position(|s| s.cur_mac == bond_mac).filter(|&h| h != new));
                let new_prev = self.slaves[new].cur_mac;
                if new_prev == bond_mac {
                    return;
                }
                let new_name = self.slaves[new].name.clone();
                self.set_slave_mac(&new_name, bond_mac);
                if let Some(h) = holder {
                    let hn = self.slaves[h].name.clone();
                    self.set_slave_mac(&hn, new_prev);
                }
            }
        }
    }

    pub(super) fn should_notify_peers(&self) -> bool {
        let delay = self.opts.peer_notif_delay.max(1);
        self.send_peer_notif != 0
            && self.send_peer_notif.is_multiple_of(delay)
            && self.carrier_now()
            && self.curr_active.is_some()
    }

    pub(super) fn peer_notify_now(&mut self) {
        if self.send_peer_notif == 0 {
            return;
        }
        if self.should_notify_peers() {
            let s = &self.slaves[self.curr_active.unwrap()];
            self.actions.push_back(Action::NotifyPeers { slave: s.name.clone(), mac: self.mac });
        }
        self.send_peer_notif -= 1;
    }

    pub(super) fn peer_notify_tick(&mut self) {
        if self.send_peer_notif == 0 {
            return;
        }
        if self.opts.miimon > 0 {
            // The MII monitor decrements every tick.
            self.peer_notify_now();
        } else if self.should_notify_peers() {
            // The ARP monitor decrements only when it sends (§6.6).
            self.peer_notify_now();
        }
    }
}

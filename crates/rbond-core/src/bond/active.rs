//! The current active slave: slave flags, the selection of bond_main.c: bond_find_best_slave and what a change does
//! (fail_over_mac bond_main.c: bond_do_fail_over_mac, peer notification bond_main.c: bond_should_notify_peers).

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
        let (backup, asa) = (self.mode.ops().inactive_means_backup(), self.opts.all_slaves_active);
        let s = &mut self.slaves[i];
        if backup {
            s.backup = true;
        }
        s.inactive = !asa;
    }

    // ----- active slave --------------------------------------------------------------

    pub(super) fn primary_idx(&self) -> Option<SlaveIdx> {
        if !self.mode.ops().uses_primary() {
            return None;
        }
        self.opts.primary.as_deref().and_then(|p| self.pos_by_name(p))
    }

    /// Re-runs the active slave choice (bond_main.c: bond_find_best_slave) and applies a change.
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
            if self.mode.ops().uses_primary() {
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

    /// bond_change_active_slave: flags, the mode's tables, then in mode 1 fail_over_mac and
    /// peer notification (bond_main.c: bond_find_best_slave failover actions).
    pub(super) fn change_active(&mut self, new: Option<SlaveIdx>, now: Millis) {
        let old = self.curr_active;
        let uses_primary = self.mode.ops().uses_primary();
        let old_id = old.and_then(|o| self.slaves.get(o)).map(|s| s.id);
        let new_id = new.map(|n| self.slaves[n].id);
        if uses_primary {
            if let Some(o) = old.filter(|&o| o < self.slaves.len()) {
                self.set_slave_inactive(o);
            }
            if let Some(n) = new {
                self.set_slave_active(n);
                self.slaves[n].last_link_up = now;
            }
        }
        self.curr_active = new;
        let (mode, v, out) = self.parts();
        let m = mode.ops_mut();
        m.active_changed(&v, old, new);
        m.active_moved(&v, old, new, now, out);
        self.sync_mode_macs();
        if self.mode.ops().announces_failover() {
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
        if uses_primary {
            match new {
                Some(n) => {
                    let name = self.slaves[n].name.clone();
                    self.log(Level::Info, Some(&name), "making interface the new active one".into())
                }
                None if old.is_some() => {
                    self.log(Level::Warn, None, "now running without any active interface!".into())
                }
                None => {}
            }
        }
        if old_id != new_id {
            let old_up = old.and_then(|o| self.slaves.get(o)).is_some_and(|s| s.link == LinkState::Up && s.mii_link_up());
            let (cause, old_id) = self.count_failover(old_id, old_up, new_id);
            self.actions.push_back(Action::ActiveChanged { old: old_id, new: new_id, cause });
        }
        self.counters.hint = None;
        self.counters.released = None;
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
            let id = self.slaves[self.curr_active.expect("checked by should_notify_peers")].id;
            self.announce(id);
        }
        self.send_peer_notif -= 1;
    }

    /// One peer notification (bond_main.c: bond_should_notify_peers): for each address of the bond a gratuitous ARP
    /// (IPv4) or an unsolicited NA (IPv6), from the bond MAC, on slave `id`.
    fn announce(&mut self, id: SlaveId) {
        let mac = self.mac;
        for &a in &self.local_v4 {
            self.actions.push_back(Action::SendFrame { slave: id, frame: crate::frame::gratuitous_arp(mac, a) });
        }
        for &a in &self.local_v6 {
            self.actions.push_back(Action::SendFrame { slave: id, frame: crate::frame::unsolicited_na(mac, a, false) });
        }
    }

    pub(super) fn peer_notify_tick(&mut self) {
        if self.send_peer_notif == 0 {
            return;
        }
        if self.opts.miimon > 0 {
            // The MII monitor decrements every tick.
            self.peer_notify_now();
        } else if self.should_notify_peers() {
            // The ARP monitor decrements only when it sends (bond_main.c: bond_should_notify_peers).
            self.peer_notify_now();
        }
    }
}

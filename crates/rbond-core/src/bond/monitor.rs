//! Link monitoring over time: the MII monitor's schedule, passes and commits (bond_main.c: bond_miimon_inspect), the
//! link observations the driver feeds in, and the ARP monitor's tick (`arpmon.rs`, bond_main.c: bond_ab_arp_inspect, bond_arp_rcv).

use super::*;
use super::mii::MiiCommit;

impl Bond {
    // ----- link monitoring -----------------------------------------------------------

    /// The interval of whichever link monitor runs (MII or ARP), 0 for none.
    pub(super) fn monitor_interval(&self) -> u32 {
        if self.opts.miimon > 0 {
            self.opts.miimon
        } else {
            self.opts.arp_interval
        }
    }

    pub(super) fn schedule_monitors(&mut self, now: Millis) {
        let interval = self.monitor_interval();
        self.next_mii = if interval > 0 && !self.slaves.is_empty() { Some(now + interval as u64) } else { None };
    }

    /// The driver saw a slave's link (netlink event or poll). With the MII monitor on, a
    /// change runs an inspection at once instead of waiting for the next tick: failover
    /// starts at the event, and up/down delays still count whole miimon steps from it.
    pub fn link_observed(&mut self, id: SlaveId, obs: LinkObservation, now: Millis) {
        let Some(i) = self.pos(id) else { return };
        let before = self.slaves[i].mii_link_up();
        self.slaves[i].obs = obs;
        if obs.speed_mbps.is_some() {
            // Speed/duplex are re-cached at carrier events, never cleared by link loss.
            self.slaves[i].update_speed_duplex();
        }
        let v = View { opts: &self.opts, slaves: &self.slaves, active: self.curr_active, usable: &self.usable, usable_ids: &self.usable_ids };
        self.mode.ops_mut().slave_observed(&v, i, now);
        // Without the MII monitor (none, or the ARP monitor) a carrier change only changes
        // whether the slave can transmit.
        if self.opts.miimon > 0 && self.admin_up && before != self.slaves[i].mii_link_up() {
            // Inspect this slave now instead of at the next tick: failover starts at the
            // event. Other slaves' delay counters are untouched, and this slave's delay
            // counts whole miimon ticks of the regular schedule from here.
            self.mii_pass(i..i + 1, now);
        } else {
            self.rebuild_usable();
        }
        self.mode_sync();
    }

    /// Time passes: runs whatever monitor is due.
    pub fn tick(&mut self, now: Millis) {
        if self.next_mii.is_none_or(|t| now < t) && self.next_delay_deadline().is_some_and(|d| d <= now) {
            // A delay started by a link event ends between two ticks: commit just those slaves.
            for i in 0..self.slaves.len() {
                let s = &self.slaves[i];
                if matches!(s.link, LinkState::Fail | LinkState::Back) && s.delay_until <= now {
                    self.mii_pass(i..i + 1, now);
                }
            }
        }
        if let Some(t) = self.next_mii {
            if now >= t {
                // The kernel decides on the tick's peer notification before it commits the
                // tick's link changes, so a failover in this tick is not notified twice.
                self.peer_notify_tick();
                if self.opts.miimon > 0 {
                    self.mii_tick(now);
                } else {
                    self.arp_tick(now);
                }
                let iv = self.monitor_interval() as u64;
                // Stay on the grid; skip missed slots rather than bursting.
                let mut next = t + iv;
                if next <= now {
                    next = now + iv;
                }
                self.next_mii = Some(next);
            }
        }
        if self.admin_up && self.mode.ops().poll_timeout(&self.view()).is_some_and(|t| t <= now) {
            let (mode, v, out) = self.parts();
            mode.ops_mut().tick(&v, now, out);
            self.mode_sync();
        }
    }

    /// One MII monitor pass over all slaves (inspect, then commit, then reselect).
    pub(super) fn mii_tick(&mut self, now: Millis) {
        self.mii_pass(0..self.slaves.len(), now);
    }

    /// The MII monitor over some slaves: inspect, commit, then reselect if needed.
    pub(super) fn mii_pass(&mut self, which: std::ops::Range<SlaveIdx>, now: Millis) {
        let (up, down, miimon) = (self.opts.updelay, self.opts.downdelay, self.opts.miimon);
        let mut reselect = false;
        let mut logs = Vec::new();
        for i in which {
            let ignore_updelay = self.mode.ops().ignore_updelay(&self.view());
            let role = self.mode.ops().log_role(&self.view(), i);
            let link_up = self.slaves[i].mii_link_up();
            let p = mii::MiiParams { updelay: up, downdelay: down, miimon, ignore_updelay, role };
            let commit = mii::inspect(&mut self.slaves[i], link_up, &p, now, &mut logs);
            let name = self.slaves[i].name.clone();
            for l in logs.drain(..) {
                self.log(Level::Info, Some(&name), l);
            }
            match commit {
                Some(MiiCommit::Up) => reselect |= self.commit_up(i, now),
                Some(MiiCommit::Down) => reselect |= self.commit_down(i, now),
                None => {}
            }
        }
        if reselect {
            self.reselect(now);
        }
        self.rebuild_usable();
        self.update_carrier();
        self.mode_sync();
    }

    /// Commit to UP (bond_main.c: bond_miimon_inspect). Returns whether the active slave must be reselected.
    pub(super) fn commit_up(&mut self, i: SlaveIdx, now: Millis) -> bool {
        let needs_speed = self.mode.ops().needs_speed();
        let s = &mut self.slaves[i];
        s.update_speed_duplex();
        if needs_speed && s.speed_mbps.is_none() {
            s.link = LinkState::Down;
            let n = s.name.clone();
            self.log(Level::Warn, Some(&n), "failed to get link speed/duplex".into());
            return false;
        }
        s.link = LinkState::Up;
        s.last_link_up = now;
        // The mode's flags: 802.3ad waits for LACP, mode 1 for the selection, the others are
        // active (bond_set_active_slave: the state only; tlb/alb keep their receive flag).
        self.mode.ops().on_commit_up(s);
        let msg = format!(
            "link status definitely up, {} Mbps {} duplex",
            s.speed_mbps.unwrap_or(0),
            if s.duplex == Duplex::Full { "full" } else { "half" }
        );
        let n = s.name.clone();
        self.log(Level::Info, Some(&n), msg);
        let (mode, v, out) = self.parts();
        let m = mode.ops_mut();
        m.link_up(&v, i, now);
        m.link_changed(&v, i, true, now, out);
        self.up_triggers_reselect(i)
    }

    /// Reselection triggers when slave `i` comes up (bond_main.c: bond_find_best_slave): it is the primary, it has a
    /// higher prio than the active slave, or there is no active slave.
    pub(crate) fn up_triggers_reselect(&self, i: SlaveIdx) -> bool {
        match self.curr_active {
            None => true,
            Some(a) => Some(i) == self.primary_idx() || self.slaves[i].prio > self.slaves[a].prio,
        }
    }

    pub(super) fn commit_down(&mut self, i: SlaveIdx, now: Millis) -> bool {
        self.slaves[i].link = LinkState::Down;
        self.slaves[i].link_failure_count += 1;
        if self.mode.ops().down_marks_inactive() {
            self.set_slave_inactive(i);
        }
        let n = self.slaves[i].name.clone();
        self.log(Level::Info, Some(&n), "link status definitely down, disabling slave".into());
        let (mode, v, out) = self.parts();
        let m = mode.ops_mut();
        m.link_down(&v, i, now);
        m.link_changed(&v, i, false, now, out);
        // Only the active slave's failure is a reselection trigger (bond_main.c: bond_find_best_slave).
        self.curr_active == Some(i)
    }

    /// The ARP monitor (bond_main.c: bond_ab_arp_inspect, bond_arp_rcv) for modes 0–3: see `arpmon.rs`.
    pub(super) fn arp_tick(&mut self, now: Millis) {
        let changed = arpmon::arpmon_tick(self, now);
        if changed {
            self.reselect(now);
        }
        self.rebuild_usable();
        self.update_carrier();
    }

    /// The bond's addresses, as the driver sees them: the ARP/NS monitor's probe sources
    /// and what validation checks replies against (bond_main.c: bond_ab_arp_inspect, bond_arp_rcv).
    pub fn set_local_addrs(&mut self, v4: &[std::net::Ipv4Addr], v6: &[std::net::Ipv6Addr]) {
        self.local_v4.clear();
        self.local_v4.extend_from_slice(v4);
        self.local_v6.clear();
        self.local_v6.extend_from_slice(v6);
    }
}

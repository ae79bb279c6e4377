//! Administrative events: bring the bond up/down, its MAC, enslave and release, option
//! writes (the sysfs and `ip link` equivalents, bond_options.c) and per-slave settings.

use super::*;
use crate::options::{lookup, target_list_items, Errno, Opt, OptError};

impl Bond {
    /// `ip link set <bond> up|down`.
    pub fn set_admin_up(&mut self, up: bool, now: Millis) {
        if up == self.admin_up {
            return;
        }
        self.admin_up = up;
        if up {
            self.schedule_monitors(now);
            // Like bond_open: take the current link states, then choose the active slave.
            self.mii_tick(now);
            if self.curr_active.is_none() {
                self.reselect(now);
            }
        } else {
            self.next_mii = None;
            self.send_peer_notif = 0;
        }
        let v = View { opts: &self.opts, slaves: &self.slaves, active: self.curr_active, usable: &self.usable, usable_ids: &self.usable_ids };
        self.mode.ops_mut().admin_changed(&v, up, now);
        self.update_carrier();
        self.mode_sync();
    }

    /// The administrator sets the bond's MAC address (`ip link set bond0 address ...`).
    pub fn set_bond_mac(&mut self, mac: MacAddr) {
        if self.mode.ops().bond_mac_follows_active(&self.opts) {
            // fail_over_mac=active: a manual change is silently ignored (bond_main.c: bond_do_fail_over_mac); the device
            // gets its MAC back.
            self.actions.push_back(Action::SetBondMac(self.mac));
            return;
        }
        self.mac = mac;
        self.mac_random = false;
        self.mode.ops_mut().bond_mac_changed(mac);
        self.actions.push_back(Action::SetBondMac(mac));
        let (mode, v, out) = self.parts();
        if mode.ops_mut().admin_set_bond_mac(&v, mac, out) {
            // tlb/alb: the active slave takes it, by a swap if another slave has it (bond_alb.c: alb_set_slave_mac_addr, alb_swap_mac_addr).
            self.sync_mode_macs();
            return;
        }
        for i in 0..self.slaves.len() {
            self.set_slave_mac(i, mac);
        }
    }

    pub(crate) fn set_slave_mac(&mut self, i: SlaveIdx, mac: MacAddr) {
        self.slaves[i].cur_mac = mac;
        self.actions.push_back(Action::SetSlaveMac { slave: self.slaves[i].id, mac });
    }

    /// The driver saw slave `id` renamed (`ip link set eth0 name ren0`): status, logs and
    /// name-based commands follow the new name; the id stays.
    pub fn rename_slave(&mut self, id: SlaveId, new_name: &str) {
        if let Some(i) = self.pos(id) {
            self.slaves[i].name = new_name.to_string();
        }
    }

    /// Enslaves an interface whose existence the driver has checked. `id` is the driver's
    /// stable id for it (its ifindex), `perm` its MAC now, `obs` its link. Returns the
    /// kernel's notes.
    pub fn enslave(&mut self, id: SlaveId, name: &str, perm: MacAddr, obs: LinkObservation, now: Millis) -> Result<Vec<String>, OptError> {
        let opt = "slaves";
        if name == self.name {
            return Err(OptError::new(opt, Errno::EPERM, vec!["Error: Cannot enslave bond to itself.".into()]));
        }
        if self.pos(id).is_some() || self.pos_by_name(name).is_some() {
            return Err(OptError::new(
                opt,
                Errno::EBUSY,
                vec![
                    format!("(slave {name}): Error: Device is in use and cannot be enslaved"),
                    format!("option {opt}: unable to set because the bond device is up"),
                ],
            ));
        }
        let mut notes = Vec::new();
        if self.slaves.is_empty() && self.mac_random {
            // The bond takes the first slave's MAC (bonding.rst, mode).
            self.mac = perm;
            self.mac_random = false;
            self.mode.ops_mut().bond_mac_changed(perm);
            self.actions.push_back(Action::SetBondMac(perm));
        }
        let mut s = Slave::new(id, name, perm, obs, now);
        let monitor_on = self.opts.miimon > 0 || self.opts.arp_interval > 0;
        s.link = if !monitor_on || s.mii_link_up() { LinkState::Up } else { LinkState::Down };
        if s.link == LinkState::Up && self.opts.miimon > 0 && self.opts.updelay > 0 {
            s.link = LinkState::Back;
            s.delay_until = now + self.opts.updelay_ms() as u64;
        }
        // Modes that need the speed (4, 5, 6) keep a slave without one down (the kernel's
        // bond_enslave with bond_needs_speed_duplex).
        if self.mode.ops().needs_speed() && s.speed_mbps.is_none() && s.link == LinkState::Up {
            s.link = LinkState::Down;
            notes.push("failed to get link speed/duplex".into());
        }
        s.last_link_up = now;
        self.slaves.push(s);
        let i = self.slaves.len() - 1;
        // Modes 0, 2, 3 start new slaves active; the others as backups (or not receiving)
        // until the selection (or LACP) activates one.
        if self.mode.ops().new_slave_active() {
            self.set_slave_active(i);
        } else {
            self.set_slave_inactive(i);
        }
        let bond_mac = self.mac;
        let (mode, v, out) = self.parts();
        if mode.ops_mut().enslave_macs(&v, i, bond_mac, now, out) {
            self.sync_mode_macs();
        } else if !self.mode.ops().slaves_keep_own_mac(&self.opts) {
            self.set_slave_mac(i, self.mac);
        }
        if self.mode.ops().uses_primary() && self.opts.primary.as_deref() == Some(name) {
            self.force_primary = true;
        }
        let (mode, v, _) = self.parts();
        mode.ops_mut().slave_added(&v, i, now);
        if self.admin_up && self.next_mii.is_none() {
            self.schedule_monitors(now);
        }
        self.reselect(now);
        self.update_carrier();
        self.mode_sync();
        // Logged after the selection, from the state the slave ended up in (as the kernel).
        let s = &self.slaves[i];
        let msg = format!(
            "Enslaving as {} interface with {} link",
            if s.backup { "a backup" } else { "an active" },
            if s.link == LinkState::Down { "a down" } else { "an up" }
        );
        self.log(Level::Info, Some(name), msg);
        Ok(notes)
    }

    /// `echo -<ifname> > .../slaves`: releases the slave called `name`, or refuses as the
    /// kernel does when it is not our slave.
    pub fn release_named(&mut self, name: &str, now: Millis) -> Result<SlaveId, OptError> {
        let id = self.slave_id(name).ok_or_else(|| OptError::new("slaves", Errno::EINVAL, vec![format!("option slaves: invalid value (-{name})")]))?;
        self.release(id, now);
        Ok(id)
    }

    /// Releases slave `id` (nothing happens for an unknown id); the driver restores its
    /// device. The slave's permanent MAC comes back as an action unless the mode never
    /// changed it.
    pub fn release(&mut self, id: SlaveId, now: Millis) {
        let Some(i) = self.pos(id) else { return };
        let was_active = self.curr_active == Some(i);
        let (mode, v, out) = self.parts();
        let m = mode.ops_mut();
        m.slave_removed(&v, i, now);
        // tlb/alb restore the MACs themselves (a swap back may be needed first, bond_alb.c: alb_set_slave_mac_addr, alb_swap_mac_addr).
        let restore = !m.release_macs(&v, i, now, out) && m.restores_mac_on_release(v.opts);
        let s = self.slaves.remove(i);
        self.curr_active = match self.curr_active {
            Some(c) if c == i => None,
            Some(c) if c > i => Some(c - 1),
            c => c,
        };
        if restore {
            self.actions.push_back(Action::SetSlaveMac { slave: s.id, mac: s.perm_hwaddr });
        }
        if was_active {
            // The active slave is gone: the change of active slave that follows is its release.
            self.counters.hint = Some(counters::FailoverCause::Released);
            self.counters.released = Some((s.id, s.name.clone()));
        }
        let how = if was_active { "Releasing active interface" } else { "Releasing backup interface" };
        self.log(Level::Info, Some(&s.name), how.into());
        self.arp_probe_rotor = None;
        if self.slaves.is_empty() {
            self.after_last_release();
        }
        self.reselect(now);
        self.sync_mode_macs();
        if self.counters.released.is_some() {
            // No slave took over: the active slave changed from the released one to none.
            let (cause, old) = self.count_failover(None, false, None);
            self.actions.push_back(Action::ActiveChanged { old, new: None, cause });
        }
        self.update_carrier();
        self.mode_sync();
    }

    /// The kernel gives a bond without slaves a new random MAC (bonding.rst, mode), so the bond does not
    /// keep the address of the NIC that just got it back.
    pub(super) fn after_last_release(&mut self) {
        self.next_mii = None;
        self.mac = self.random_mac();
        self.mac_random = true;
        self.mode.ops_mut().bond_mac_changed(self.mac);
        self.actions.push_back(Action::SetBondMac(self.mac));
    }

    /// A random locally administered unicast MAC from the core's PRNG (seeded by the driver).
    pub(super) fn random_mac(&mut self) -> MacAddr {
        let a = self.next_random();
        let b = self.next_random();
        let mut m = [0u8; 6];
        m[..4].copy_from_slice(&a.to_le_bytes());
        m[4..].copy_from_slice(&b.to_le_bytes()[..2]);
        m[0] = (m[0] & 0xfe) | 0x02;
        MacAddr(m)
    }

    /// Seeds the PRNG used for packets_per_slave=0 and random MACs (the core reads no
    /// randomness itself).
    pub fn seed_rng(&mut self, seed: u32) {
        self.rng = seed | 1;
        if self.slaves.is_empty() {
            self.fresh_mode(0);
        }
    }

    pub(super) fn next_random(&mut self) -> u32 {
        // xorshift32: cheap, and good enough to pick MACs.
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        x
    }

    /// Deleting the bond: every slave goes at once, with its MAC restored, and without the
    /// failovers (selection, peer notification) that releasing them one by one would cause.
    pub fn release_all(&mut self) {
        let restore = self.mode.ops().restores_mac_on_release(&self.opts);
        let slaves = std::mem::take(&mut self.slaves);
        for s in slaves {
            if restore {
                self.actions.push_back(Action::SetSlaveMac { slave: s.id, mac: s.perm_hwaddr });
            }
            self.log(Level::Info, Some(&s.name), "Releasing backup interface".into());
        }
        self.curr_active = None;
        self.send_peer_notif = 0;
        self.fresh_mode(0);
        if self.admin_up {
            // The new component starts closed; the bond is still open.
            let v = View { opts: &self.opts, slaves: &self.slaves, active: self.curr_active, usable: &self.usable, usable_ids: &self.usable_ids };
            self.mode.ops_mut().admin_changed(&v, true, 0);
        }
        self.after_last_release();
        self.rebuild_usable();
        self.update_carrier();
    }

    /// A sysfs-style write to one option (bond_options.c). Enslaving and releasing
    /// (`slaves`) need the driver and go through `enslave`/`release` instead.
    pub fn set_option(&mut self, name: &str, value: &str, now: Millis) -> Result<Vec<String>, OptError> {
        let d = lookup(name).ok_or_else(|| crate::options::unknown_option(name))?;
        match d.id {
            Opt::ActiveSlave => {
                self.opts.precheck(d, &self.ctx())?;
                self.set_active_slave(value, now).map(|_| Vec::new())
            }
            Opt::QueueId => self.set_queue_id(value).map(|_| Vec::new()),
            Opt::Slaves => Err(OptError::new(name, Errno::EINVAL, vec!["option slaves: handled by the daemon".into()])),
            _ => {
                let old = self.opts.clone();
                let w = self.opts.set(name, value, &self.ctx())?;
                self.after_option_change(d.id, &old, now);
                Ok(w)
            }
        }
    }

    /// One write in `ip link` form: as sysfs, except that a target option given without a
    /// leading `+`/`-` is a comma-separated list that replaces the targets.
    fn set_option_iplink(&mut self, name: &str, value: &str, now: Millis) -> Result<Vec<String>, OptError> {
        let Some(d) = lookup(name) else { return Err(crate::options::unknown_option(name)) };
        if target_list_items(d.id, value).is_none() {
            return self.set_option(name, value, now);
        }
        self.opts.precheck(d, &self.ctx())?;
        let old = self.opts.clone();
        let w = self.opts.set_target_list(name, value)?;
        self.after_option_change(d.id, &old, now);
        Ok(w)
    }

    /// Several writes, all or nothing (`ip link add/set ... type bond` with options, or
    /// `rbond up` on a running bond): they are tried on a copy of the bond first, so a
    /// refusal changes nothing. Returns the warnings of all writes.
    pub fn set_options(&mut self, writes: &[(String, String)], now: Millis) -> Result<Vec<String>, OptError> {
        self.check_options(writes, now)?;
        let mut warnings = Vec::new();
        for (k, v) in writes {
            warnings.extend(self.set_option_iplink(k, v, now)?);
        }
        Ok(warnings)
    }

    /// The dry run of `set_options`: what the writes would say, changing nothing.
    pub fn check_options(&self, writes: &[(String, String)], now: Millis) -> Result<Vec<String>, OptError> {
        let mut dry = self.clone();
        dry.actions.clear();
        let mut warnings = Vec::new();
        for (k, v) in writes {
            warnings.extend(dry.set_option_iplink(k, v, now)?);
        }
        Ok(warnings)
    }

    /// The dry run for a bond that does not exist yet: `writes` on a fresh bond.
    pub fn check_new(name: &str, writes: &[(String, String)]) -> Result<Vec<String>, OptError> {
        Bond::new(name, MacAddr::ZERO, "").check_options(writes, 0)
    }

    pub(super) fn after_option_change(&mut self, id: Opt, old: &BondOptions, now: Millis) {
        if self.opts.mode != old.mode {
            // The mode is only written without slaves: a fresh component.
            self.fresh_mode(now);
            if self.admin_up {
                let v = View { opts: &self.opts, slaves: &self.slaves, active: self.curr_active, usable: &self.usable, usable_ids: &self.usable_ids };
                self.mode.ops_mut().admin_changed(&v, true, now);
            }
            self.rebuild_usable();
        } else {
            self.mode_options_changed(now);
        }
        match id {
            Opt::Miimon | Opt::ArpInterval | Opt::Mode
                if (old.miimon != self.opts.miimon || old.arp_interval != self.opts.arp_interval) =>
            {
                self.next_mii = None;
                if self.admin_up {
                    self.schedule_monitors(now);
                }
            }
            Opt::Primary => {
                // A primary that is enslaved becomes active if its link is up, whatever
                // primary_reselect says (bond_options.c option setters; bond_check_params).
                self.force_primary = self.primary_idx().is_some();
                self.reselect(now);
            }
            Opt::PrimaryReselect => self.reselect(now),
            Opt::AllSlavesActive => {
                let asa = self.opts.all_slaves_active;
                let tlb = !self.mode.ops().inactive_means_backup();
                let active = self.curr_active;
                for (i, s) in self.slaves.iter_mut().enumerate() {
                    s.inactive = (s.backup || (tlb && Some(i) != active)) && !asa;
                }
            }
            Opt::MinLinks => self.update_carrier(),
            _ => {}
        }
        self.mode_sync();
    }

    pub(super) fn set_active_slave(&mut self, value: &str, now: Millis) -> Result<(), OptError> {
        let name = value.split('\n').next().unwrap_or("").trim();
        let opt = "active_slave";
        if name.is_empty() {
            // The kernel clears the pointer and re-selects; the old active slave is then
            // demoted by the usual failover if another slave wins.
            let old = self.curr_active.take();
            self.counters.hint = Some(counters::FailoverCause::Manual);
            self.reselect(now);
            self.counters.hint = None;
            if let Some(o) = old.filter(|&o| Some(o) != self.curr_active) {
                self.set_slave_inactive(o);
                self.rebuild_usable();
            }
            return Ok(());
        }
        let Some(i) = self.pos_by_name(name) else {
            return Err(OptError::new(
                opt,
                Errno::EINVAL,
                vec![format!("(slave {name}): Device is not bonding slave"), format!("option {opt}: invalid value ({name})")],
            ));
        };
        if Some(i) == self.curr_active {
            self.log(Level::Info, Some(name), "Setting as active slave".into());
            return Ok(());
        }
        let s = &self.slaves[i];
        if self.curr_active.is_none() || !s.mii_link_up() || s.link != LinkState::Up {
            return Err(OptError::new(
                opt,
                Errno::EINVAL,
                vec![
                    format!("Could not set as active slave; either {name} is down or the link is down"),
                    format!("option {opt}: invalid value ({name})"),
                ],
            ));
        }
        self.log(Level::Info, Some(name), "Setting as active slave".into());
        self.counters.hint = Some(counters::FailoverCause::Manual);
        self.change_active(Some(i), now);
        // The old active slave is a backup now and the new one is not: the transmit array
        // follows (as after any reselection).
        self.rebuild_usable();
        Ok(())
    }

    pub(super) fn set_queue_id(&mut self, value: &str) -> Result<(), OptError> {
        let opt = "queue_id";
        let text = value.split('\n').next().unwrap_or("").trim();
        let bad = |why: &str| {
            OptError::new(opt, Errno::EPERM, vec![format!("option {opt}: {why} ({text}); expected <ifname>:<queue id>")])
        };
        let (ifname, q) = text.rsplit_once(':').ok_or_else(|| bad("invalid value"))?;
        let qid: u16 = q.parse().map_err(|_| bad("invalid queue id"))?;
        if qid > 16 {
            return Err(bad("queue id above the bond's 16 tx queues"));
        }
        let i = self.pos_by_name(ifname).ok_or_else(|| bad("not a slave of this bond"))?;
        if qid != 0 && self.slaves.iter().enumerate().any(|(j, s)| j != i && s.queue_id == qid) {
            return Err(bad("queue id already used by another slave"));
        }
        self.slaves[i].queue_id = qid;
        Ok(())
    }

    /// Per-slave `prio` (netlink IFLA_BOND_SLAVE_PRIO); re-runs the selection.
    pub fn set_slave_prio(&mut self, name: &str, prio: i32, now: Millis) -> Result<(), OptError> {
        let i = self.pos_by_name(name).ok_or_else(|| {
            OptError::new("prio", Errno::EINVAL, vec![format!("(slave {name}): Device is not our slave")])
        })?;
        self.slaves[i].prio = prio;
        self.reselect(now);
        Ok(())
    }
}

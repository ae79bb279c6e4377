//! Administrative events: bring the bond up/down, its MAC, enslave and release, option
//! writes (the sysfs equivalents, reference §1) and per-slave settings.

use super::*;

impl Bond {
    // ----- admin events --------------------------------------------------------------

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
        self.update_carrier();
    }

    /// The administrator sets the bond's MAC address (`ip link set bond0 address ...`).
    pub fn set_bond_mac(&mut self, mac: MacAddr) {
        if self.opts.mode == Mode::ActiveBackup && self.opts.fail_over_mac == FailOverMac::Active {
            // fail_over_mac=active: a manual change is silently ignored (§6.5); the device
            // gets its MAC back.
            self.actions.push_back(Action::SetBondMac(self.mac));
            return;
        }
        self.mac = mac;
        self.mac_random = false;
        self.actions.push_back(Action::SetBondMac(mac));
        let names: Vec<String> = self.slaves.iter().map(|s| s.name.clone()).collect();
        for n in names {
            self.set_slave_mac(&n, mac);
        }
    }

    pub(super) fn set_slave_mac(&mut self, name: &str, mac: MacAddr) {
        if let Some(i) = self.slave_index(name) {
            self.slaves[i].cur_mac = mac;
        }
        self.actions.push_back(Action::SetSlaveMac { slave: name.to_string(), mac });
    }

    pub(super) fn slaves_keep_own_mac(&self) -> bool {
        self.opts.mode == Mode::ActiveBackup && self.opts.fail_over_mac != FailOverMac::None
    }

    /// Enslaves an interface whose existence the driver has checked. `perm` is its MAC
    /// now; `obs` its link. Returns the kernel's notes.
    pub fn enslave(&mut self, name: &str, perm: MacAddr, obs: LinkObservation, now: Millis) -> Result<Vec<String>, OptError> {
        let opt = "slaves";
        if name == self.name {
            return Err(OptError::new(opt, Errno::EPERM, vec!["Error: Cannot enslave bond to itself.".into(),]));
        }
        if self.slave_index(name).is_some() {
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
        let first = self.slaves.is_empty();
        if first && self.mac_random {
            // The bond takes the first slave's MAC (§6.1).
            self.mac = perm;
            self.mac_random = false;
            self.actions.push_back(Action::SetBondMac(perm));
        }
        let mut s = Slave::new(name, perm, obs, now);
        let monitor_on = self.opts.miimon > 0 || self.opts.arp_interval > 0;
        s.link = if !monitor_on || s.mii_link_up() { LinkState::Up } else { LinkState::Down };
        if s.link == LinkState::Up && self.opts.miimon > 0 && self.opts.updelay > 0 {
            s.link = LinkState::Back;
            s.delay_until = now + self.opts.updelay_ms() as u64;
        }
        if self.opts.mode.is_tlb() && s.speed_mbps.is_none() && s.link == LinkState::Up {
            s.link = LinkState::Down;
            notes.push("failed to get link speed/duplex".into());
        }
        s.last_link_up = now;
        self.slaves.push(s);
        let i = self.slaves.len() - 1;
        // Modes 1 and 4 start new slaves as backups, tlb/alb as not receiving; the others
        // are active at once. The selection below activates the chosen one.
        if matches!(self.opts.mode, Mode::BalanceRr | Mode::BalanceXor | Mode::Broadcast) {
            self.set_slave_active(i);
        } else {
            self.set_slave_inactive(i);
        }
        if !self.slaves_keep_own_mac() {
            let mac = self.mac;
            self.set_slave_mac(name, mac);
        }
        if self.opts.mode.uses_primary() && self.opts.primary.as_deref() == Some(name) {
            self.force_primary = true;
        }
        if self.opts.mode.is_tlb() {
            self.tlb.slave_added(i);
            self.tlb.force_rebalance();
        }
        if self.admin_up && self.next_mii.is_none() {
            self.schedule_monitors(now);
        }
        self.reselect(now);
        self.update_carrier();
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

    /// Releases a slave; the driver restores its permanent MAC and device state.
    pub fn release(&mut self, name: &str, now: Millis) -> Result<(), OptError> {
        let Some(i) = self.slave_index(name) else {
            return Err(OptError::new("slaves", Errno::EINVAL, vec![format!("option slaves: invalid value (-{name})")]));
        };
        let was_active = self.curr_active == Some(i);
        let s = self.slaves.remove(i);
        if self.opts.mode.is_tlb() {
            self.tlb.slave_released(i);
        }
        self.curr_active = match self.curr_active {
            Some(c) if c == i => None,
            Some(c) if c > i => Some(c - 1),
            c => c,
        };
        let restore = !(self.opts.mode == Mode::ActiveBackup && self.opts.fail_over_mac == FailOverMac::Active);
        if restore {
            self.actions.push_back(Action::SetSlaveMac { slave: s.name.clone(), mac: s.perm_hwaddr });
        }
        let how = if was_active { "Releasing active interface" } else { "Releasing backup interface" };
        self.log(Level::Info, Some(name), how.into());
        self.arp_probe_rotor = None;
        if self.slaves.is_empty() {
            self.after_last_release();
        }
        self.reselect(now);
        self.update_carrier();
        Ok(())
    }

    /// The kernel gives a bond without slaves a new random MAC (§6.1), so the bond does not
    /// keep the address of the NIC that just got it back.
    pub(super) fn after_last_release(&mut self) {
        self.next_mii = None;
        self.mac = self.random_mac();
        self.mac_random = true;
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
    }

    pub(super) fn next_random(&mut self) -> u32 {
        // xorshift32: cheap, and good enough to spread frames and pick MACs.
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
        let keep_mac = self.opts.mode == Mode::ActiveBackup && self.opts.fail_over_mac == FailOverMac::Active;
        let slaves = std::mem::take(&mut self.slaves);
        for s in slaves {
            if !keep_mac {
                self.actions.push_back(Action::SetSlaveMac { slave: s.name.clone(), mac: s.perm_hwaddr });
            }
            self.log(Level::Info, Some(&s.name), "Releasing backup interface".into());
        }
        self.curr_active = None;
        self.send_peer_notif = 0;
        self.tlb = TxTable::new();
        self.after_last_release();
        self.rebuild_usable();
        self.update_carrier();
    }

    /// A sysfs-style write to one option (reference §1). Enslaving and releasing
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

    /// `ip link add ... arp_ip_target a,b` (replace the list).
    pub fn set_target_list(&mut self, name: &str, list: &str, now: Millis) -> Result<Vec<String>, OptError> {
        let old = self.opts.clone();
        let w = self.opts.set_target_list(name, list)?;
        self.after_option_change(Opt::ArpIpTarget, &old, now);
        Ok(w)
    }

    pub(super) fn after_option_change(&mut self, id: Opt, old: &BondOptions, now: Millis) {
        match id {
            Opt::Miimon | Opt::ArpInterval | Opt::Mode
                if (old.miimon != self.opts.miimon || old.arp_interval != self.opts.arp_interval) => {
                    self.next_mii = None;
                    if self.admin_up {
                        self.schedule_monitors(now);
                    }
                }
            Opt::Primary => {
                // A primary that is enslaved becomes active if its link is up, whatever
                // primary_reselect says (§1.3).
                self.force_primary = self.primary_idx().is_some();
                self.reselect(now);
            }
            Opt::PrimaryReselect => self.reselect(now),
            Opt::AllSlavesActive => {
                let asa = self.opts.all_slaves_active;
                let tlb = self.opts.mode.is_tlb();
                let active = self.curr_active;
                for (i, s) in self.slaves.iter_mut().enumerate() {
                    s.inactive = (s.backup || (tlb && Some(i) != active)) && !asa;
                }
            }
            Opt::MinLinks => self.update_carrier(),
            _ => {}
        }
    }

    pub(super) fn set_active_slave(&mut self, value: &str, now: Millis) -> Result<(), OptError> {
        let name = value.split('\n').next().unwrap_or("").trim();
        let opt = "active_slave";
        if name.is_empty() {
            // The kernel clears the pointer and re-selects; the old active slave is then
            // demoted by the usual failover if another slave wins.
            let old = self.curr_active.take();
            self.reselect(now);
            if let Some(o) = old.filter(|&o| Some(o) != self.curr_active) {
                self.set_slave_inactive(o);
                self.rebuild_usable();
            }
            return Ok(());
        }
        let Some(i) = self.slave_index(name) else {
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
        self.change_active(Some(i), now);
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
        let i = self.slave_index(ifname).ok_or_else(|| bad("not a slave of this bond"))?;
        if qid != 0 && self.slaves.iter().enumerate().any(|(j, s)| j != i && s.queue_id == qid) {
            return Err(bad("queue id already used by another slave"));
        }
        self.slaves[i].queue_id = qid;
        Ok(())
    }

    /// Per-slave `prio` (netlink IFLA_BOND_SLAVE_PRIO); re-runs the selection.
    pub fn set_slave_prio(&mut self, name: &str, prio: i32, now: Millis) -> Result<(), OptError> {
        let i = self.slave_index(name).ok_or_else(|| {
            OptError::new("prio", Errno::EINVAL, vec![format!("(slave {name}): Device is not our slave")])
        })?;
        self.slaves[i].prio = prio;
        self.reselect(now);
        Ok(())
    }
}

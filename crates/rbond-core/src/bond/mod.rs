//! The bond: one state machine that takes events and emits actions (sans-IO).
//!
//! Events in: `enslave`, `release`, `set_option`, `set_admin_up`, `link_observed`
//! (carrier/speed seen by the driver), `tick(now)`, and per frame `tx_target` / `rx_verdict`.
//! Actions out: `poll_action()` yields MAC changes, carrier changes, frames to send and log
//! lines, which the driver carries out. `poll_timeout()` says when `tick` is due next.
//!
//! The per-frame calls (`tx_target`, `rx_verdict`) allocate nothing: the list of slaves that
//! can transmit is rebuilt only when a slave's state changes.

pub mod mii;
pub mod select;
pub mod slave;
mod status;

use crate::frame;
use crate::hash::xmit_hash;
use crate::options::{
    lookup, BondOptions, Errno, FailOverMac, Opt, OptError, SetContext,
};
use crate::tlb::{TlbSlave, TxTable};
use crate::types::*;
use mii::MiiCommit;
pub use slave::Slave;
use std::collections::VecDeque;

/// Where a frame from the bond device goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxTarget {
    Drop,
    Slave(SlaveIdx),
    /// A copy on every slave in [`Bond::tx_slaves`] (broadcast mode).
    AllUsable,
}

/// What happens to a frame received on a slave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RxVerdict {
    /// Hand it to the bond device.
    Deliver,
    /// Suppressed (inactive slave, or not for the bond).
    Drop,
    /// A LACPDU or marker for the 802.3ad machines (consumed, not delivered).
    Lacp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warn,
}

/// What the driver must do. Slaves are named (not indexed) so actions stay valid
/// whatever happens to the slave list afterwards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Program a slave's MAC address.
    SetSlaveMac { slave: String, mac: MacAddr },
    /// Program the bond device's MAC address.
    SetBondMac(MacAddr),
    /// Turn the bond device's carrier on or off.
    SetCarrier(bool),
    /// Send a control frame (no vnet header) on a slave.
    SendFrame { slave: String, frame: Vec<u8> },
    /// Announce the bond's addresses (gratuitous ARP / unsolicited NA, §6.6) on a slave,
    /// using the bond MAC. The driver knows the addresses; the core decides when.
    NotifyPeers { slave: String, mac: MacAddr },
    /// The current active slave changed (modes 1, 5, 6; informational).
    ActiveChanged { old: Option<String>, new: Option<String> },
    /// A kernel-style log line. `slave` adds the `(slave <if>): ` part.
    Log { level: Level, slave: Option<String>, msg: String },
}

/// Clone is for dry runs of several option writes (all or nothing); not for the data path.
#[derive(Clone)]
pub struct Bond {
    pub name: String,
    /// Kernel release shown in the /proc header.
    pub release: String,
    pub opts: BondOptions,
    pub mac: MacAddr,
    /// True while the bond MAC is the random one it was created with (§6.1).
    mac_random: bool,
    pub admin_up: bool,
    slaves: Vec<Slave>,
    curr_active: Option<SlaveIdx>,
    force_primary: bool,
    carrier: bool,
    /// Slaves that can transmit, in slave order (xor/802.3ad/broadcast/tlb use it).
    usable: Vec<SlaveIdx>,
    rr_counter: u32,
    rng: u32,
    next_mii: Option<Millis>,
    send_peer_notif: u32,
    tlb: TxTable,
    tlb_slaves: Vec<TlbSlave>,
    /// 802.3ad: the active aggregator as the LACP machines report it.
    ad_aggregator: Option<crate::status::AggregatorInfo>,
    actions: VecDeque<Action>,
    local_v4: Vec<std::net::Ipv4Addr>,
    /// ARP monitor, mode 1 without an active slave: the slave probing this interval.
    arp_probe_rotor: Option<SlaveIdx>,
}

impl Bond {
    /// A new bond, administratively down, with the (random) MAC its device was created with.
    pub fn new(name: &str, mac: MacAddr, release: &str) -> Bond {
        Bond {
            name: name.to_string(),
            release: release.to_string(),
            opts: BondOptions::default(),
            mac,
            mac_random: true,
            admin_up: false,
            slaves: Vec::new(),
            curr_active: None,
            force_primary: false,
            carrier: false,
            usable: Vec::with_capacity(64),
            rr_counter: 0,
            rng: 0x9e37_79b9,
            next_mii: None,
            send_peer_notif: 0,
            tlb: TxTable::new(),
            tlb_slaves: Vec::new(),
            ad_aggregator: None,
            actions: VecDeque::new(),
            local_v4: Vec::new(),
            arp_probe_rotor: None,
        }
    }

    // ----- queries -------------------------------------------------------------------

    pub fn slaves(&self) -> &[Slave] {
        &self.slaves
    }
    pub fn slave_index(&self, name: &str) -> Option<SlaveIdx> {
        self.slaves.iter().position(|s| s.name == name)
    }
    pub fn active_slave(&self) -> Option<SlaveIdx> {
        self.curr_active
    }
    pub fn carrier(&self) -> bool {
        self.carrier
    }
    /// Slaves that can transmit now, in slave order.
    pub fn tx_slaves(&self) -> &[SlaveIdx] {
        &self.usable
    }
    /// The next action for the driver, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }
    /// When `tick` must be called next (None: no timer is running).
    pub fn poll_timeout(&self) -> Option<Millis> {
        let tlb = if self.admin_up && self.opts.mode.is_tlb() { Some(self.tlb.next_deadline()) } else { None };
        [self.next_mii, tlb, self.next_delay_deadline()].into_iter().flatten().min()
    }

    /// The earliest end of a running updelay/downdelay (MII monitor only).
    fn next_delay_deadline(&self) -> Option<Millis> {
        if !self.admin_up || self.opts.miimon == 0 {
            return None;
        }
        self.slaves
            .iter()
            .filter(|s| matches!(s.link, LinkState::Fail | LinkState::Back))
            .map(|s| s.delay_until)
            .min()
    }

    fn log(&mut self, level: Level, slave: Option<&str>, msg: String) {
        self.actions.push_back(Action::Log { level, slave: slave.map(str::to_string), msg });
    }

    fn ctx(&self) -> SetContext {
        SetContext { has_slaves: !self.slaves.is_empty(), is_up: self.admin_up }
    }

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

    fn set_slave_mac(&mut self, name: &str, mac: MacAddr) {
        if let Some(i) = self.slave_index(name) {
            self.slaves[i].cur_mac = mac;
        }
        self.actions.push_back(Action::SetSlaveMac { slave: name.to_string(), mac });
    }

    fn slaves_keep_own_mac(&self) -> bool {
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
    fn after_last_release(&mut self) {
        self.next_mii = None;
        self.mac = self.random_mac();
        self.mac_random = true;
        self.actions.push_back(Action::SetBondMac(self.mac));
    }

    /// A random locally administered unicast MAC from the core's PRNG (seeded by the driver).
    fn random_mac(&mut self) -> MacAddr {
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

    fn next_random(&mut self) -> u32 {
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

    fn after_option_change(&mut self, id: Opt, old: &BondOptions, now: Millis) {
        match id {
            Opt::Miimon | Opt::ArpInterval | Opt::Mode => {
                if old.miimon != self.opts.miimon || old.arp_interval != self.opts.arp_interval {
                    self.next_mii = None;
                    if self.admin_up {
                        self.schedule_monitors(now);
                    }
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

    fn set_active_slave(&mut self, value: &str, now: Millis) -> Result<(), OptError> {
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

    fn set_queue_id(&mut self, value: &str) -> Result<(), OptError> {
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

    // ----- link monitoring -----------------------------------------------------------

    /// The interval of whichever link monitor runs (MII or ARP), 0 for none.
    fn monitor_interval(&self) -> u32 {
        if self.opts.miimon > 0 {
            self.opts.miimon
        } else {
            self.opts.arp_interval
        }
    }

    fn schedule_monitors(&mut self, now: Millis) {
        let interval = self.monitor_interval();
        self.next_mii = if interval > 0 && !self.slaves.is_empty() { Some(now + interval as u64) } else { None };
    }

    /// The driver saw a slave's link (netlink event or poll). With the MII monitor on, a
    /// change runs an inspection at once instead of waiting for the next tick: failover
    /// starts at the event, and up/down delays still count whole miimon steps from it.
    pub fn link_observed(&mut self, name: &str, obs: LinkObservation, now: Millis) {
        let Some(i) = self.slave_index(name) else { return };
        let before = self.slaves[i].mii_link_up();
        self.slaves[i].obs = obs;
        if obs.speed_mbps.is_some() {
            // Speed/duplex are re-cached at carrier events, never cleared by link loss.
            self.slaves[i].update_speed_duplex();
        }
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
        if self.admin_up && self.opts.mode.is_tlb() && self.opts.tlb_dynamic_lb {
            let active = self.curr_active;
            self.tlb.tick(now, active);
        }
    }

    /// One MII monitor pass over all slaves (inspect, then commit, then reselect).
    fn mii_tick(&mut self, now: Millis) {
        self.mii_pass(0..self.slaves.len(), now);
    }

    /// The MII monitor over some slaves: inspect, commit, then reselect if needed.
    fn mii_pass(&mut self, which: std::ops::Range<SlaveIdx>, now: Millis) {
        let (up, down, miimon) = (self.opts.updelay, self.opts.downdelay, self.opts.miimon);
        let mut reselect = false;
        let mut logs = Vec::new();
        for i in which {
            let ignore_updelay = if self.opts.mode == Mode::ActiveBackup {
                self.curr_active.is_none()
            } else {
                self.usable.is_empty()
            };
            let role = match (self.opts.mode == Mode::ActiveBackup, self.curr_active == Some(i)) {
                (false, _) => "",
                (true, true) => "active ",
                (true, false) => "backup ",
            };
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
    }

    /// Commit to UP (§7.1). Returns whether the active slave must be reselected.
    fn commit_up(&mut self, i: SlaveIdx, now: Millis) -> bool {
        let mode = self.opts.mode;
        let s = &mut self.slaves[i];
        s.update_speed_duplex();
        if matches!(mode, Mode::Ieee8023ad | Mode::BalanceTlb | Mode::BalanceAlb) && s.speed_mbps.is_none() {
            s.link = LinkState::Down;
            let n = s.name.clone();
            self.log(Level::Warn, Some(&n), "failed to get link speed/duplex".into());
            return false;
        }
        s.link = LinkState::Up;
        s.last_link_up = now;
        match mode {
            // 802.3ad: backup until LACP enables the port; mode 1: the selection decides.
            Mode::Ieee8023ad => s.backup = !s.ad_enabled,
            Mode::ActiveBackup => {}
            // bond_set_active_slave: the state only (tlb/alb keep their receive flag).
            _ => s.backup = false,
        }
        let msg = format!(
            "link status definitely up, {} Mbps {} duplex",
            s.speed_mbps.unwrap_or(0),
            if s.duplex == Duplex::Full { "full" } else { "half" }
        );
        let n = s.name.clone();
        self.log(Level::Info, Some(&n), msg);
        if mode.is_tlb() {
            self.tlb.force_rebalance();
        }
        self.up_triggers_reselect(i)
    }

    /// Reselection triggers when slave `i` comes up (§6.4): it is the primary, it has a
    /// higher prio than the active slave, or there is no active slave.
    pub(crate) fn up_triggers_reselect(&self, i: SlaveIdx) -> bool {
        match self.curr_active {
            None => true,
            Some(a) => Some(i) == self.primary_idx() || self.slaves[i].prio > self.slaves[a].prio,
        }
    }

    fn commit_down(&mut self, i: SlaveIdx, _now: Millis) -> bool {
        let mode = self.opts.mode;
        self.slaves[i].link = LinkState::Down;
        self.slaves[i].link_failure_count += 1;
        if matches!(mode, Mode::ActiveBackup | Mode::Ieee8023ad) {
            self.set_slave_inactive(i);
        }
        let n = self.slaves[i].name.clone();
        self.log(Level::Info, Some(&n), "link status definitely down, disabling slave".into());
        if mode.is_tlb() {
            self.tlb.slave_down(i);
        }
        // Only the active slave's failure is a reselection trigger (§6.4).
        self.curr_active == Some(i)
    }

    /// The ARP monitor (§7.2) for modes 0–3: see `arpmon.rs`.
    fn arp_tick(&mut self, now: Millis) {
        let changed = crate::bond::arpmon_tick(self, now);
        if changed {
            self.reselect(now);
        }
        self.rebuild_usable();
        self.update_carrier();
    }

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

    fn primary_idx(&self) -> Option<SlaveIdx> {
        if !self.opts.mode.uses_primary() {
            return None;
        }
        self.opts.primary.as_deref().and_then(|p| self.slave_index(p))
    }

    /// Re-runs the active slave choice (§6.4) and applies a change.
    fn reselect(&mut self, now: Millis) {
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
    fn change_active(&mut self, new: Option<SlaveIdx>, now: Millis) {
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

    fn apply_fail_over_mac(&mut self, old: Option<SlaveIdx>, new: SlaveIdx) {
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

    fn should_notify_peers(&self) -> bool {
        let delay = self.opts.peer_notif_delay.max(1);
        self.send_peer_notif != 0
            && self.send_peer_notif % delay == 0
            && self.carrier_now()
            && self.curr_active.is_some()
    }

    fn peer_notify_now(&mut self) {
        if self.send_peer_notif == 0 {
            return;
        }
        if self.should_notify_peers() {
            let s = &self.slaves[self.curr_active.unwrap()];
            self.actions.push_back(Action::NotifyPeers { slave: s.name.clone(), mac: self.mac });
        }
        self.send_peer_notif -= 1;
    }

    fn peer_notify_tick(&mut self) {
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

    // ----- carrier and the tx array ------------------------------------------------------

    fn carrier_now(&self) -> bool {
        if self.opts.mode == Mode::Ieee8023ad {
            let enabled = self.slaves.iter().filter(|s| s.ad_enabled && s.link == LinkState::Up).count() as u32;
            self.ad_aggregator.is_some() && enabled >= self.opts.min_links.max(1)
        } else {
            self.slaves.iter().any(|s| s.link == LinkState::Up)
        }
    }

    fn update_carrier(&mut self) {
        let c = self.carrier_now();
        if c != self.carrier {
            self.carrier = c;
            self.actions.push_back(Action::SetCarrier(c));
        }
    }

    fn rebuild_usable(&mut self) {
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

    // ----- the per-frame path ----------------------------------------------------------

    fn rr_next_id(&mut self) -> u32 {
        match self.opts.packets_per_slave {
            0 => self.next_random(),
            1 => {
                self.rr_counter = self.rr_counter.wrapping_add(1);
                self.rr_counter
            }
            n => {
                self.rr_counter = self.rr_counter.wrapping_add(1);
                self.rr_counter / n
            }
        }
    }

    /// The transmit decision for a frame from the bond device (§6).
    pub fn tx_target(&mut self, frame: &[u8]) -> TxTarget {
        match self.opts.mode {
            Mode::BalanceRr => {
                let n = self.slaves.len();
                if n == 0 {
                    return TxTarget::Drop;
                }
                if frame::is_igmp(frame) {
                    // IGMP stays on the current active slave (§6.3).
                    if let Some(a) = self.curr_active.filter(|&a| self.slaves[a].can_tx()) {
                        return TxTarget::Slave(a);
                    }
                    return self.first_can_tx_from(0);
                }
                let id = self.rr_next_id() as usize % n;
                self.first_can_tx_from(id)
            }
            Mode::ActiveBackup => match self.curr_active {
                Some(a) if self.slaves[a].can_tx() => TxTarget::Slave(a),
                _ => TxTarget::Drop,
            },
            Mode::BalanceXor | Mode::Ieee8023ad => {
                if self.usable.is_empty() {
                    return TxTarget::Drop;
                }
                let h = xmit_hash(self.opts.xmit_hash_policy, frame);
                TxTarget::Slave(self.usable[h as usize % self.usable.len()])
            }
            Mode::Broadcast => {
                if self.usable.is_empty() {
                    TxTarget::Drop
                } else {
                    TxTarget::AllUsable
                }
            }
            Mode::BalanceTlb | Mode::BalanceAlb => self.tlb_target(frame),
        }
    }

    fn first_can_tx_from(&self, start: usize) -> TxTarget {
        let n = self.slaves.len();
        (start..n)
            .chain(0..start)
            .find(|&i| self.slaves[i].can_tx())
            .map_or(TxTarget::Drop, TxTarget::Slave)
    }

    fn tlb_target(&mut self, frame: &[u8]) -> TxTarget {
        let alb = self.opts.mode == Mode::BalanceAlb;
        let active = self.curr_active;
        match self.tlb.transmit(alb, self.opts.xmit_hash_policy, self.opts.tlb_dynamic_lb, frame, &self.tlb_slaves, active) {
            crate::tlb::TxVerdict::Send { slave, .. } => TxTarget::Slave(slave),
            crate::tlb::TxVerdict::Drop => TxTarget::Drop,
        }
    }

    /// The MAC a frame sent on `slave` must carry as its source (tlb/alb rewrite frames that
    /// leave on a slave other than the active one; §5.2). None: leave the frame as it is.
    pub fn tx_source_rewrite(&self, slave: SlaveIdx) -> Option<MacAddr> {
        if self.opts.mode.is_tlb() && crate::tlb::needs_src_rewrite(slave, self.curr_active) {
            Some(self.slaves[slave].perm_hwaddr)
        } else {
            None
        }
    }

    /// The receive decision for a frame that arrived on slave `i` (§6.2).
    pub fn rx_verdict(&mut self, i: SlaveIdx, frame: &[u8], now: Millis) -> RxVerdict {
        let mode = self.opts.mode;
        if self.opts.arp_interval > 0 {
            crate::bond::arpmon_rx(self, i, frame, now);
        }
        if mode == Mode::Ieee8023ad && frame::is_lacp(frame) {
            return RxVerdict::Lacp;
        }
        if self.slaves[i].inactive {
            if mode == Mode::BalanceAlb {
                if let Some(m) = frame::parse_eth(frame) {
                    if !m.dst.is_multicast() {
                        return RxVerdict::Deliver;
                    }
                }
            }
            // Link-local frames are "passed on the slave" by the kernel; the slave's own
            // stack is isolated here, so they are dropped like everything else.
            return RxVerdict::Drop;
        }
        RxVerdict::Deliver
    }

    /// A sysfs read of `/sys/class/net/<bond>/bonding/<option>` (§1.4), without the
    /// trailing newline; None for an unknown file.
    pub fn show(&self, option: &str) -> Option<String> {
        let names = |f: &dyn Fn(&Slave) -> String| self.slaves.iter().map(f).collect::<Vec<_>>().join(" ");
        Some(match option {
            "slaves" => names(&|s| s.name.clone()),
            "queue_id" => names(&|s| format!("{}:{}", s.name, s.queue_id)),
            "active_slave" => self.curr_active.map(|i| self.slaves[i].name.clone()).unwrap_or_default(),
            // Only an enslaved primary is shown.
            "primary" => self.primary_idx().map(|i| self.slaves[i].name.clone()).unwrap_or_default(),
            "mii_status" => (if self.carrier { "up" } else { "down" }).to_string(),
            o => return self.opts.show(o),
        })
    }

    /// The status model (reference §2) of this bond.
    pub fn status(&self) -> crate::status::BondStatus {
        status::build(self)
    }

    pub(crate) fn ad_aggregator(&self) -> Option<&crate::status::AggregatorInfo> {
        self.ad_aggregator.as_ref()
    }

    /// The bond's IPv4 addresses, as the driver sees them (ARP monitor sender and
    /// validation, §7.2).
    pub fn set_local_addrs(&mut self, v4: &[std::net::Ipv4Addr]) {
        self.local_v4.clear();
        self.local_v4.extend_from_slice(v4);
    }
}

mod arpmon;
pub(crate) use arpmon::{arpmon_rx, arpmon_tick};

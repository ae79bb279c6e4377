//! Per-slave state, named after the kernel's `struct slave`.

use crate::types::{Duplex, LinkObservation, LinkState, MacAddr, Millis, SlaveId};

#[derive(Clone, Debug)]
pub struct Slave {
    /// The stable id the driver gave at enslave time.
    pub id: SlaveId,
    /// The interface name now (it follows renames).
    pub name: String,
    /// The MAC the slave had when enslaved; restored on release.
    pub perm_hwaddr: MacAddr,
    /// The MAC the slave carries now (as the bond set it).
    pub cur_mac: MacAddr,
    /// MII/ARP link state (UP/FAIL/DOWN/BACK).
    pub link: LinkState,
    /// When the updelay/downdelay running in BACK/FAIL ends.
    pub delay_until: Millis,
    /// When the current FAIL/BACK phase started, for "after N ms" log lines.
    pub phase_since: Millis,
    /// The last observation of the device (admin state, carrier, speed, duplex).
    pub obs: LinkObservation,
    /// Speed and duplex cached as the kernel caches them (bond_procfs.c: bond_info_show_slave): link loss keeps them.
    pub speed_mbps: Option<u32>,
    pub duplex: Duplex,
    pub link_failure_count: u32,
    pub queue_id: u16,
    pub prio: i32,
    /// sysfs `state`: false = active, true = backup.
    pub backup: bool,
    /// Receive suppression flag.
    pub inactive: bool,
    /// ARP monitor bookkeeping.
    pub last_rx: Millis,
    pub last_tx: Millis,
    pub target_last_rx: [Millis; crate::options::MAX_ARP_TARGETS],
    /// When the slave last became UP or active (ARP monitor grace period in mode 1).
    pub last_link_up: Millis,
    /// How many times this slave became the active one (observability counter).
    pub became_active: u32,
}

impl Slave {
    pub fn new(id: SlaveId, name: &str, perm: MacAddr, obs: LinkObservation, now: Millis) -> Slave {
        Slave {
            id,
            name: name.to_string(),
            perm_hwaddr: perm,
            cur_mac: perm,
            link: LinkState::Down,
            delay_until: now,
            phase_since: now,
            obs,
            speed_mbps: obs.speed_mbps,
            duplex: obs.duplex,
            link_failure_count: 0,
            queue_id: 0,
            prio: 0,
            backup: false,
            inactive: false,
            last_rx: now,
            last_tx: now,
            target_last_rx: [now; crate::options::MAX_ARP_TARGETS],
            last_link_up: now,
            became_active: 0,
        }
    }

    /// "Can transmit": device up, carrier on, link UP, state active (bond_main.c: bond_should_deliver_exact_match).
    pub fn can_tx(&self) -> bool {
        self.obs.admin_up && self.obs.carrier && self.link == LinkState::Up && !self.backup
    }

    /// The MII link test of bond_main.c: bond_miimon_inspect (use_carrier=1: the carrier; the driver supplies the
    /// ethtool result in `carrier` when use_carrier=0).
    pub fn mii_link_up(&self) -> bool {
        self.obs.admin_up && self.obs.carrier
    }

    /// Refreshes the cached speed/duplex from the last observation.
    pub fn update_speed_duplex(&mut self) {
        self.speed_mbps = self.obs.speed_mbps;
        self.duplex = self.obs.duplex;
    }
}

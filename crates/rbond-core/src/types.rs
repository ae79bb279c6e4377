//! Small value types shared by every part of the core. Names follow the kernel's
//! `include/net/bonding.h` and `if_bonding.h` so readers can compare.

use serde::Serialize;
use std::fmt;

/// Milliseconds on the caller's monotonic clock. The core never reads a clock itself:
/// every event carries the time at which it happened.
pub type Millis = u64;

/// Position of a slave in enslave order (the kernel's slave list order). Internal to the
/// core and its tables: releasing a slave shifts the later ones down by one, so nothing
/// outside the core ever sees a position. The outside world uses [`SlaveId`].
pub type SlaveIdx = usize;

/// A slave's identity for the core, its actions and the driver alike: the number the driver
/// gives at enslave time (rbond's daemon uses the interface index, which survives renames).
/// A release never renumbers the other slaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SlaveId(pub u32);

impl fmt::Display for SlaveId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// The seven bonding modes, numbered as in `if_bonding.h` (BOND_MODE_*).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    #[default]
    BalanceRr = 0,
    ActiveBackup = 1,
    BalanceXor = 2,
    Broadcast = 3,
    Ieee8023ad = 4,
    BalanceTlb = 5,
    BalanceAlb = 6,
}

impl Mode {
    pub const ALL: [Mode; 7] = [
        Mode::BalanceRr,
        Mode::ActiveBackup,
        Mode::BalanceXor,
        Mode::Broadcast,
        Mode::Ieee8023ad,
        Mode::BalanceTlb,
        Mode::BalanceAlb,
    ];
    pub fn from_num(n: u64) -> Option<Mode> {
        Mode::ALL.get(n as usize).copied()
    }
    pub fn num(self) -> u8 {
        self as u8
    }
    /// The option-table name (`balance-rr`, `802.3ad`, ...), read from the one table.
    pub fn name(self) -> &'static str {
        crate::options::def(crate::options::Opt::Mode).name_of(self as u64).expect("every mode has a name")
    }
    /// The text of the `Bonding Mode:` line in /proc/net/bonding.
    pub fn proc_text(self) -> &'static str {
        match self {
            Mode::BalanceRr => "load balancing (round-robin)",
            Mode::ActiveBackup => "fault-tolerance (active-backup)",
            Mode::BalanceXor => "load balancing (xor)",
            Mode::Broadcast => "fault-tolerance (broadcast)",
            Mode::Ieee8023ad => "IEEE 802.3ad Dynamic link aggregation",
            Mode::BalanceTlb => "transmit load balancing",
            Mode::BalanceAlb => "adaptive load balancing",
        }
    }
    /// Modes with a "current active slave" chosen by primary/primary_reselect (bond_main.c: bond_find_best_slave).
    pub fn uses_primary(self) -> bool {
        matches!(self, Mode::ActiveBackup | Mode::BalanceTlb | Mode::BalanceAlb)
    }
    /// tlb/alb: modes that keep a transmit load table (bond_alb.c).
    pub fn is_tlb(self) -> bool {
        matches!(self, Mode::BalanceTlb | Mode::BalanceAlb)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// xmit_hash_policy values, numbered as the kernel numbers them (BOND_XMIT_POLICY_*).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum XmitHashPolicy {
    #[default]
    Layer2 = 0,
    Layer34 = 1,
    Layer23 = 2,
    Encap23 = 3,
    Encap34 = 4,
    VlanSrcMac = 5,
}

impl XmitHashPolicy {
    pub const ALL: [XmitHashPolicy; 6] = [
        XmitHashPolicy::Layer2,
        XmitHashPolicy::Layer34,
        XmitHashPolicy::Layer23,
        XmitHashPolicy::Encap23,
        XmitHashPolicy::Encap34,
        XmitHashPolicy::VlanSrcMac,
    ];
    pub fn from_num(n: u64) -> Option<Self> {
        Self::ALL.get(n as usize).copied()
    }
    /// The option-table name (`layer3+4`, ...), read from the one table.
    pub fn name(self) -> &'static str {
        crate::options::def(crate::options::Opt::XmitHashPolicy).name_of(self as u64).expect("every policy has a name")
    }
}

/// A 48-bit Ethernet address. Displayed lowercase, colon separated, as /proc does.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    pub const ZERO: MacAddr = MacAddr([0; 6]);
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 6]
    }
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }
    pub fn parse(s: &str) -> Option<MacAddr> {
        let mut out = [0u8; 6];
        let mut parts = s.split(':');
        for b in out.iter_mut() {
            let p = parts.next()?;
            if p.is_empty() || p.len() > 2 {
                return None;
            }
            *b = u8::from_str_radix(p, 16).ok()?;
        }
        if parts.next().is_some() {
            return None;
        }
        Some(MacAddr(out))
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5])
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Modes and policies serialize as their option-table names.
macro_rules! serialize_by_name {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }
    )*};
}
serialize_by_name!(Mode, XmitHashPolicy);

impl Serialize for MacAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The MII link state of a slave (BOND_LINK_UP/FAIL/DOWN/BACK).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    Up = 0,
    Fail = 1,
    Down = 2,
    Back = 3,
}

impl LinkState {
    /// The word /proc and sysfs print for this state.
    pub fn proc_text(self) -> &'static str {
        match self {
            LinkState::Up => "up",
            LinkState::Fail => "going down",
            LinkState::Down => "down",
            LinkState::Back => "going back",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Duplex {
    Half,
    Full,
    Unknown,
}

/// What the driver observed about a slave's link: the inputs of the MII monitor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkObservation {
    /// Administratively up (IFF_UP).
    pub admin_up: bool,
    /// Carrier (IFF_LOWER_UP / operstate), or ethtool link when use_carrier=0.
    pub carrier: bool,
    /// ethtool speed in Mb/s; None when unknown (0 or 0xFFFFFFFF from the driver).
    pub speed_mbps: Option<u32>,
    pub duplex: Duplex,
}

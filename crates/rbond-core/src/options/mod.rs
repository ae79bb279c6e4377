//! Bonding options: the table (`table.rs`), the stored values (`BondOptions`) and the
//! kernel's rules for writing them (bond_options.c: bond_opt_parse, bond_opt_check_deps, bond_options.c option setters; bond_check_params).
//!
//! `BondOptions::set` behaves like a write to `/sys/class/net/<bond>/bonding/<option>`:
//! checks run in the kernel's order (mode dependency → no slaves → bond down → value →
//! option-specific), a refusal changes nothing, and accepted values may carry warnings.
//! Options that concern slaves (`slaves`, `active_slave`, `queue_id`) are handled by the bond,
//! which knows its slaves; `set` refuses them here.

mod error;
mod module_params;
pub mod table;

pub use error::{Errno, OptError};
pub use table::{def, lookup, settable_names, Opt, OptionDef, Syntax, Val, OPTIONS};

use crate::types::{MacAddr, Mode, XmitHashPolicy};
use serde::Serialize;
use std::net::{Ipv4Addr, Ipv6Addr};
use table::{DEF, MODULE_ONLY, NEEDS_DOWN, NEEDS_NO_SLAVES};

/// Most ARP / NS targets a bond keeps (BOND_MAX_ARP_TARGETS).
pub const MAX_ARP_TARGETS: usize = 16;
/// Longest interface name (IFNAMSIZ - 1).
pub const IFNAMSIZ_MAX: usize = 15;

macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident, $opt:ident { $($var:ident = $num:expr),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
        pub enum $name { #[default] $($var = $num),* }
        impl $name {
            pub fn from_num(n: u64) -> Option<Self> {
                match n { $($num => Some($name::$var),)* _ => None }
            }
            /// The option-table name of this value.
            pub fn name(self) -> &'static str {
                def(Opt::$opt).name_of(self as u64).unwrap_or("unknown")
            }
        }
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }
    };
}

named_enum!(PrimaryReselect, PrimaryReselect { Always = 0, Better = 1, Failure = 2 });
named_enum!(FailOverMac, FailOverMac { None = 0, Active = 1, Follow = 2 });
named_enum!(ArpAllTargets, ArpAllTargets { Any = 0, All = 1 });
named_enum!(LacpRate, LacpRate { Slow = 0, Fast = 1 });
named_enum!(AdSelect, AdSelect { Stable = 0, Bandwidth = 1, Count = 2 });
named_enum!(
    /// rbond's lacp_fallback (not a kernel option): what an 802.3ad bond does while no port
    /// hears a partner.
    LacpFallback, LacpFallback { Off = 0, ActiveBackup = 1 }
);
named_enum!(
    /// arp_validate: bit 1 validates the active slave, bit 2 the backups, bit 4 filters.
    ArpValidate, ArpValidate { None = 0, Active = 1, Backup = 2, All = 3, Filter = 4, FilterActive = 5, FilterBackup = 6 }
);

impl ArpValidate {
    pub fn validates_active(self) -> bool {
        (self as u8) & 1 != 0
    }
    pub fn validates_backup(self) -> bool {
        (self as u8) & 2 != 0
    }
    pub fn filters(self) -> bool {
        (self as u8) & 4 != 0
    }
}

/// The stored value of every bond-wide option. Delays are stored as the kernel stores
/// them, in whole miimon ticks; `updelay_ms()` etc. give what sysfs and /proc show.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BondOptions {
    pub mode: Mode,
    pub miimon: u32,
    /// updelay in miimon ticks.
    pub updelay: u32,
    /// downdelay in miimon ticks.
    pub downdelay: u32,
    /// peer_notif_delay in miimon ticks.
    pub peer_notif_delay: u32,
    pub use_carrier: bool,
    pub arp_interval: u32,
    pub arp_ip_targets: Vec<Ipv4Addr>,
    pub ns_ip6_targets: Vec<Ipv6Addr>,
    pub arp_missed_max: u8,
    pub arp_validate: ArpValidate,
    pub arp_all_targets: ArpAllTargets,
    /// The configured primary name (may name a future slave).
    pub primary: Option<String>,
    pub primary_reselect: PrimaryReselect,
    pub fail_over_mac: FailOverMac,
    pub xmit_hash_policy: XmitHashPolicy,
    pub packets_per_slave: u32,
    pub lacp_rate: LacpRate,
    pub lacp_active: bool,
    pub ad_select: AdSelect,
    pub min_links: u32,
    pub ad_actor_sys_prio: u16,
    pub ad_actor_system: MacAddr,
    pub ad_user_port_key: u16,
    pub coupled_control: bool,
    /// rbond only: active-backup over the ports while no 802.3ad partner answers.
    pub lacp_fallback: LacpFallback,
    /// rbond only: three LACPDUs per second instead of one while the partner asks for fast.
    pub lacp_tx_redundancy: bool,
    pub broadcast_neighbor: bool,
    /// num_grat_arp = num_unsol_na.
    pub num_peer_notif: u8,
    pub all_slaves_active: bool,
    pub resend_igmp: u8,
    pub lp_interval: u32,
    pub tlb_dynamic_lb: bool,
}

impl Default for BondOptions {
    fn default() -> Self {
        BondOptions {
            mode: Mode::BalanceRr,
            miimon: 0,
            updelay: 0,
            downdelay: 0,
            peer_notif_delay: 0,
            use_carrier: true,
            arp_interval: 0,
            arp_ip_targets: Vec::new(),
            ns_ip6_targets: Vec::new(),
            arp_missed_max: 2,
            arp_validate: ArpValidate::None,
            arp_all_targets: ArpAllTargets::Any,
            primary: None,
            primary_reselect: PrimaryReselect::Always,
            fail_over_mac: FailOverMac::None,
            xmit_hash_policy: XmitHashPolicy::Layer2,
            packets_per_slave: 1,
            lacp_rate: LacpRate::Slow,
            lacp_active: true,
            ad_select: AdSelect::Stable,
            min_links: 0,
            ad_actor_sys_prio: 65535,
            ad_actor_system: MacAddr::ZERO,
            ad_user_port_key: 0,
            coupled_control: true,
            lacp_fallback: LacpFallback::Off,
            lacp_tx_redundancy: false,
            broadcast_neighbor: false,
            num_peer_notif: 1,
            all_slaves_active: false,
            resend_igmp: 1,
            lp_interval: 1,
            tlb_dynamic_lb: true,
        }
    }
}

/// What the bond is like when an option is written.
#[derive(Clone, Copy, Debug, Default)]
pub struct SetContext {
    pub has_slaves: bool,
    pub is_up: bool,
}

/// The kernel's `isspace()` set (C locale): space, \t, \n, \v, \f, \r.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Parses a value through the option's value table (bond_options.c: bond_opt_parse, bond_opt_check_deps rule 2):
/// - the text is cut at its first newline;
/// - only digits and whitespace left: the first number, which must be a table value or lie in
///   `[minval, maxval]` (missing minval = 0; no maxval = no range);
/// - otherwise the first token (at most 32 characters) must be a table name, case-sensitive;
///   `default` names the entry flagged default.
pub fn parse_table_value(def: &OptionDef, text: &str) -> Result<u64, OptError> {
    let vals = def.values();
    let text = text.split('\n').next().unwrap_or("");
    let bad = || OptError::invalid_value(def, text);
    let mut tokens = text.split(|c: char| c.is_ascii() && is_c_space(c as u8)).filter(|t| !t.is_empty());
    let first = tokens.next().ok_or_else(bad)?;
    if text.bytes().all(|b| b.is_ascii_digit() || is_c_space(b)) {
        // A number too large for 64 bits can match nothing.
        let n: u64 = first.parse().map_err(|_| bad())?;
        if vals.iter().any(|v| v.value == n) {
            return Ok(n);
        }
        match def.max() {
            Some(max) if n >= def.min().unwrap_or(0) && n <= max => Ok(n),
            _ => Err(bad()),
        }
    } else {
        // The kernel reads at most 32 characters; a longer token is cut and so matches no name.
        if first.len() > 32 {
            return Err(bad());
        }
        if let Some(v) = vals.iter().find(|v| v.name == first) {
            return Ok(v.value);
        }
        if first == "default" {
            if let Some(v) = vals.iter().find(|v| v.flags & DEF != 0) {
                return Ok(v.value);
            }
        }
        Err(bad())
    }
}

fn delay_name(id: Opt) -> &'static str {
    match id {
        Opt::Updelay => "up delay",
        Opt::Downdelay => "down delay",
        _ => "peer notification delay",
    }
}

impl BondOptions {
    /// Shown values of the delays (stored ticks × miimon), as sysfs and /proc print them.
    pub fn updelay_ms(&self) -> u32 {
        self.updelay.saturating_mul(self.miimon)
    }
    pub fn downdelay_ms(&self) -> u32 {
        self.downdelay.saturating_mul(self.miimon)
    }
    pub fn peer_notif_delay_ms(&self) -> u32 {
        self.peer_notif_delay.saturating_mul(self.miimon)
    }

    /// Checks that come before the value: mode dependency, no slaves, bond down.
    pub fn precheck(&self, def: &OptionDef, ctx: &SetContext) -> Result<(), OptError> {
        if def.set_flags & MODULE_ONLY != 0 {
            return Err(OptError::new(
                def.name,
                Errno::ENOENT,
                vec![format!("option {}: is a module parameter only; set it with `options bonding {}=<n>`", def.name, def.name)],
            ));
        }
        if !def.allowed_in(self.mode) {
            return Err(OptError::new(
                def.name,
                Errno::EACCES,
                vec![format!(
                    "option {}: mode dependency failed, not supported in mode {}({})",
                    def.name,
                    self.mode.name(),
                    self.mode.num()
                )],
            ));
        }
        if def.set_flags & NEEDS_NO_SLAVES != 0 && ctx.has_slaves {
            return Err(OptError::new(
                def.name,
                Errno::ENOTEMPTY,
                vec![format!("option {}: unable to set because the bond device has slaves", def.name)],
            ));
        }
        if def.set_flags & NEEDS_DOWN != 0 && ctx.is_up {
            return Err(OptError::new(
                def.name,
                Errno::EBUSY,
                vec![format!("option {}: unable to set because the bond device is up", def.name)],
            ));
        }
        Ok(())
    }

    /// Writes one option with sysfs semantics. On error nothing changed. On success the
    /// returned strings are the kernel's warnings/notes for this write.
    pub fn set(&mut self, name: &str, value: &str, ctx: &SetContext) -> Result<Vec<String>, OptError> {
        let def = lookup(name).ok_or_else(|| unknown_option(name))?;
        let attempt = || -> Result<(BondOptions, Vec<String>), OptError> {
            self.precheck(def, ctx)?;
            let mut next = self.clone();
            let warnings = next.apply(def, value)?;
            Ok((next, warnings))
        };
        let (next, warnings) = attempt().map_err(|e| e.renamed(def.name, name))?;
        *self = next;
        Ok(warnings)
    }

    /// Applies a value that passed the prechecks, into `self` (callers work on a copy).
    fn apply(&mut self, def: &OptionDef, value: &str) -> Result<Vec<String>, OptError> {
        let mut warn = Vec::new();
        let num = |s: &str| parse_table_value(def, s);
        match def.id {
            Opt::Mode => {
                let m = Mode::from_num(num(value)?).expect("table holds only valid modes");
                self.set_mode(m);
            }
            Opt::Miimon => {
                let v = num(value)? as u32;
                self.miimon = v;
                if v != 0 {
                    self.arp_interval = 0;
                    self.arp_validate = ArpValidate::None;
                }
            }
            Opt::Updelay | Opt::Downdelay | Opt::PeerNotifDelay => {
                let v = num(value)? as u32;
                if self.miimon == 0 {
                    return Err(OptError::new(
                        def.name,
                        Errno::EPERM,
                        vec![format!("Unable to set {} as MII monitoring is disabled", delay_name(def.id))],
                    ));
                }
                if !v.is_multiple_of(self.miimon) {
                    warn.push(format!(
                        "{} ({}) is not a multiple of miimon ({}), value rounded to {} ms",
                        delay_name(def.id),
                        v,
                        self.miimon,
                        v / self.miimon * self.miimon
                    ));
                }
                let ticks = v / self.miimon;
                match def.id {
                    Opt::Updelay => self.updelay = ticks,
                    Opt::Downdelay => self.downdelay = ticks,
                    _ => self.peer_notif_delay = ticks,
                }
            }
            Opt::UseCarrier => self.use_carrier = num(value)? == 1,
            Opt::ArpInterval => {
                let v = num(value)? as u32;
                self.arp_interval = v;
                if v != 0 {
                    self.miimon = 0;
                }
            }
            Opt::ArpIpTarget => self.write_arp_target(value, &mut warn)?,
            Opt::NsIp6Target => self.write_ns_target(value)?,
            Opt::ArpMissedMax => self.arp_missed_max = num(value)? as u8,
            Opt::ArpValidate => self.arp_validate = ArpValidate::from_num(num(value)?).unwrap(),
            Opt::ArpAllTargets => self.arp_all_targets = ArpAllTargets::from_num(num(value)?).unwrap(),
            Opt::Primary => {
                let v = value.split('\n').next().unwrap_or("").trim();
                // The kernel would silently cut such a name to 15 characters, which could then
                // name another interface; refusing is safer (not a kernel behaviour).
                if v.len() > IFNAMSIZ_MAX {
                    return Err(OptError::invalid_value(def, value));
                }
                self.primary = if v.is_empty() { None } else { Some(v.to_string()) };
            }
            Opt::PrimaryReselect => {
                self.primary_reselect = PrimaryReselect::from_num(num(value)?).unwrap()
            }
            Opt::FailOverMac => self.fail_over_mac = FailOverMac::from_num(num(value)?).unwrap(),
            Opt::XmitHashPolicy => {
                self.xmit_hash_policy = XmitHashPolicy::from_num(num(value)?).unwrap()
            }
            Opt::PacketsPerSlave => self.packets_per_slave = num(value)? as u32,
            Opt::LacpRate => self.lacp_rate = LacpRate::from_num(num(value)?).unwrap(),
            Opt::LacpActive => self.lacp_active = num(value)? == 1,
            Opt::AdSelect => self.ad_select = AdSelect::from_num(num(value)?).unwrap(),
            Opt::MinLinks => self.min_links = num(value)? as u32,
            Opt::AdActorSysPrio => self.ad_actor_sys_prio = num(value)? as u16,
            Opt::AdActorSystem => {
                let v = value.split('\n').next().unwrap_or("").trim();
                match MacAddr::parse(v) {
                    Some(m) if !m.is_multicast() => self.ad_actor_system = m,
                    _ => {
                        return Err(OptError::invalid_value_after(
                            def,
                            value,
                            "Invalid ad_actor_system MAC address.".into(),
                        ))
                    }
                }
            }
            Opt::AdUserPortKey => self.ad_user_port_key = num(value)? as u16,
            Opt::CoupledControl => self.coupled_control = num(value)? == 1,
            Opt::LacpFallback => self.lacp_fallback = LacpFallback::from_num(num(value)?).unwrap(),
            Opt::LacpTxRedundancy => self.lacp_tx_redundancy = num(value)? == 1,
            Opt::BroadcastNeighbor => self.broadcast_neighbor = num(value)? == 1,
            Opt::NumPeerNotif => self.num_peer_notif = num(value)? as u8,
            Opt::AllSlavesActive => self.all_slaves_active = num(value)? == 1,
            Opt::ResendIgmp => self.resend_igmp = num(value)? as u8,
            Opt::LpInterval => self.lp_interval = num(value)? as u32,
            Opt::TlbDynamicLb => self.tlb_dynamic_lb = num(value)? == 1,
            Opt::ActiveSlave | Opt::QueueId | Opt::Slaves | Opt::MaxBonds | Opt::TxQueues => {
                return Err(OptError::new(
                    def.name,
                    Errno::EINVAL,
                    vec![format!("option {}: needs a bond with its slaves", def.name)],
                ));
            }
        }
        Ok(warn)
    }

    /// A mode change and its side effects (bond_options.c option setters; bond_check_params).
    fn set_mode(&mut self, m: Mode) {
        if matches!(m, Mode::Ieee8023ad | Mode::BalanceTlb | Mode::BalanceAlb) {
            self.arp_interval = 0;
            if self.miimon == 0 {
                self.miimon = 100;
            }
        }
        if m == Mode::BalanceAlb {
            self.tlb_dynamic_lb = true;
        }
        self.arp_validate = ArpValidate::None;
        self.broadcast_neighbor = false;
        self.mode = m;
    }

    /// `arp_ip_target` writes: `+addr` adds, `-addr` removes (bonding.rst, Bonding Driver Options option-specific rules).
    /// The address is the text after the first character, whatever that character is; only
    /// then is the character checked for `+`/`-`.
    fn write_arp_target(&mut self, value: &str, warn: &mut Vec<String>) -> Result<(), OptError> {
        let def = def(Opt::ArpIpTarget);
        let text = value.split('\n').next().unwrap_or("").trim();
        let eperm = |l: &str| OptError::new(def.name, Errno::EPERM, vec![l.to_string()]);
        let einval = |l: String| OptError::invalid_value_after(def, value, l);
        let mut chars = text.chars();
        let Some(cmd) = chars.next() else {
            return Err(eperm("invalid ARP target specified"));
        };
        let addr: Ipv4Addr = chars.as_str().parse().map_err(|_| eperm("invalid ARP target specified"))?;
        // 0.0.0.0 and 255.255.255.255 can be neither added nor removed.
        let usable = !addr.is_broadcast() && !addr.is_unspecified();
        match cmd {
            '+' => {
                if !usable {
                    return Err(einval(format!("invalid ARP target {addr} specified for addition")));
                }
                if self.arp_ip_targets.contains(&addr) {
                    return Err(einval(format!("ARP target {addr} is already present")));
                }
                if self.arp_ip_targets.len() >= MAX_ARP_TARGETS {
                    return Err(einval("ARP target table is full!".into()));
                }
                self.arp_ip_targets.push(addr);
            }
            '-' => {
                if !usable {
                    return Err(einval(format!("invalid ARP target {addr} specified for removal")));
                }
                let Some(i) = self.arp_ip_targets.iter().position(|a| *a == addr) else {
                    return Err(einval(format!("unable to remove nonexistent ARP target {addr}")));
                };
                if self.arp_ip_targets.len() == 1 && self.arp_interval != 0 {
                    warn.push("Removing last arp target with arp_interval on".into());
                }
                // Vec::remove closes the gap: targets stay in insertion order.
                self.arp_ip_targets.remove(i);
            }
            _ => return Err(eperm("no command found in arp_ip_targets file - use +<addr> or -<addr>")),
        }
        Ok(())
    }

    /// `ns_ip6_target` has no sysfs file in the kernel (netlink sets the whole list); rbond
    /// takes `+addr`/`-addr` like `arp_ip_target`. The addition refusals are the kernel's;
    /// the syntax and removal texts are rbond's own.
    fn write_ns_target(&mut self, value: &str) -> Result<(), OptError> {
        let def = def(Opt::NsIp6Target);
        let text = value.split('\n').next().unwrap_or("").trim();
        let einval = |l: String| OptError::invalid_value_after(def, value, l);
        let mut chars = text.chars();
        let cmd = chars.next();
        let rest = chars.as_str();
        if !matches!(cmd, Some('+') | Some('-')) {
            return Err(einval("no command found in ns_ip6_target - use +<addr> or -<addr>".into()));
        }
        let addr: Ipv6Addr = rest.parse().map_err(|_| einval(format!("invalid NS target {rest} specified")))?;
        if cmd == Some('+') {
            if addr.is_unspecified() || addr.is_loopback() || addr.is_multicast() {
                return Err(einval(format!("invalid NS target {addr} specified for addition")));
            }
            if self.ns_ip6_targets.contains(&addr) {
                return Err(einval(format!("NS target {addr} is already present")));
            }
            if self.ns_ip6_targets.len() >= MAX_ARP_TARGETS {
                return Err(einval("NS target table is full!".into()));
            }
            self.ns_ip6_targets.push(addr);
        } else {
            let Some(i) = self.ns_ip6_targets.iter().position(|a| *a == addr) else {
                return Err(einval(format!("unable to remove nonexistent NS target {addr}")));
            };
            self.ns_ip6_targets.remove(i);
        }
        Ok(())
    }

    /// `ip link`-style target list (`arp_ip_target 198.18.0.1,198.18.0.2`): replaces the list.
    /// Each address goes through the same checks as a sysfs `+addr` write.
    pub fn set_target_list(&mut self, name: &str, list: &str) -> Result<Vec<String>, OptError> {
        let def = lookup(name).ok_or_else(|| unknown_option(name))?;
        let items = target_list_items(def.id, list).ok_or_else(|| OptError::invalid_value(def, list))?;
        let mut next = self.clone();
        match def.id {
            Opt::ArpIpTarget => next.arp_ip_targets.clear(),
            _ => next.ns_ip6_targets.clear(),
        }
        let mut warn = Vec::new();
        for item in items {
            warn.extend(next.apply(def, &item)?);
        }
        *self = next;
        Ok(warn)
    }

    /// The sysfs read-back form of an option (`balance-rr 0`, `100`, ...), bond_sysfs.c, without the
    /// trailing newline; an empty string is a file that reads as 0 bytes (empty target list,
    /// no primary, an 802.3ad-only file outside 802.3ad). `None`: not a bond-wide value kept
    /// here (`slaves`, `active_slave`, `queue_id`, module-only parameters, unknown names).
    ///
    /// `primary` is the configured name; the kernel shows it only once that interface is
    /// enslaved, which the bond (which knows its slaves) has to apply.
    pub fn show(&self, name: &str) -> Option<String> {
        let def = lookup(name)?;
        let pair = |n: &str, v: u64| format!("{n} {v}");
        // ad_actor_sys_prio, ad_actor_system, ad_user_port_key: 0 bytes in other modes.
        if matches!(def.id, Opt::AdActorSysPrio | Opt::AdActorSystem | Opt::AdUserPortKey)
            && self.mode != Mode::Ieee8023ad
        {
            return Some(String::new());
        }
        Some(match def.id {
            Opt::Mode => pair(self.mode.name(), self.mode.num() as u64),
            Opt::XmitHashPolicy => pair(self.xmit_hash_policy.name(), self.xmit_hash_policy as u64),
            Opt::ArpValidate => pair(self.arp_validate.name(), self.arp_validate as u64),
            Opt::ArpAllTargets => pair(self.arp_all_targets.name(), self.arp_all_targets as u64),
            Opt::FailOverMac => pair(self.fail_over_mac.name(), self.fail_over_mac as u64),
            Opt::LacpActive => pair(if self.lacp_active { "on" } else { "off" }, self.lacp_active as u64),
            Opt::LacpRate => pair(self.lacp_rate.name(), self.lacp_rate as u64),
            Opt::AdSelect => pair(self.ad_select.name(), self.ad_select as u64),
            Opt::PrimaryReselect => pair(self.primary_reselect.name(), self.primary_reselect as u64),
            Opt::Miimon => self.miimon.to_string(),
            Opt::Updelay => self.updelay_ms().to_string(),
            Opt::Downdelay => self.downdelay_ms().to_string(),
            Opt::PeerNotifDelay => self.peer_notif_delay_ms().to_string(),
            Opt::UseCarrier => (self.use_carrier as u8).to_string(),
            Opt::ArpInterval => self.arp_interval.to_string(),
            Opt::ArpMissedMax => self.arp_missed_max.to_string(),
            Opt::ArpIpTarget => join(&self.arp_ip_targets),
            Opt::NsIp6Target => join(&self.ns_ip6_targets),
            Opt::Primary => self.primary.clone().unwrap_or_default(),
            Opt::PacketsPerSlave => self.packets_per_slave.to_string(),
            Opt::MinLinks => self.min_links.to_string(),
            Opt::AdActorSysPrio => self.ad_actor_sys_prio.to_string(),
            Opt::AdActorSystem => self.ad_actor_system.to_string(),
            Opt::AdUserPortKey => self.ad_user_port_key.to_string(),
            Opt::CoupledControl => (self.coupled_control as u8).to_string(),
            Opt::LacpFallback => pair(self.lacp_fallback.name(), self.lacp_fallback as u64),
            Opt::LacpTxRedundancy => pair(if self.lacp_tx_redundancy { "on" } else { "off" }, self.lacp_tx_redundancy as u64),
            Opt::BroadcastNeighbor => (self.broadcast_neighbor as u8).to_string(),
            Opt::NumPeerNotif => self.num_peer_notif.to_string(),
            Opt::AllSlavesActive => (self.all_slaves_active as u8).to_string(),
            Opt::ResendIgmp => self.resend_igmp.to_string(),
            Opt::LpInterval => self.lp_interval.to_string(),
            Opt::TlbDynamicLb => (self.tlb_dynamic_lb as u8).to_string(),
            Opt::ActiveSlave | Opt::QueueId | Opt::Slaves | Opt::MaxBonds | Opt::TxQueues => return None,
        })
    }
}

impl BondOptions {
    /// The exact bytes a read of `/sys/class/net/<bond>/bonding/<name>` gives: `show` plus
    /// `\n`, or nothing at all when the value is empty (bond_sysfs.c).
    pub fn show_file(&self, name: &str) -> Option<String> {
        self.show(name).map(|s| if s.is_empty() { s } else { s + "\n" })
    }
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(" ")
}

/// The list form of a target option (`arp_ip_target=a,b` in `ip link`, BONDING_OPTS and
/// module parameters): without a leading `+`/`-` the value is a comma-separated list, and
/// each item stands for the sysfs write `+item`. None when `id` is not a target option or
/// the value is already a sysfs command.
pub fn target_list_items(id: Opt, value: &str) -> Option<impl Iterator<Item = String> + '_> {
    if !matches!(id, Opt::ArpIpTarget | Opt::NsIp6Target) || value.trim_start().starts_with(['+', '-']) {
        return None;
    }
    Some(value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|a| format!("+{a}")))
}

/// The refusal for a name that is no bonding option.
pub fn unknown_option(name: &str) -> OptError {
    OptError::new(
        name,
        Errno::ENOENT,
        vec![format!("unknown option '{}'; valid options: {}", name, settable_names().join(", "))],
    )
}

pub use module_params::ModuleParams;

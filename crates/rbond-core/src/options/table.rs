//! The one table of bonding options (bonding.rst, Bonding Driver Options). Every place that names, parses, shows
//! or explains an option reads its row here: sysfs-style `set`, module parameters, ifcfg
//! `BONDING_OPTS`, the CLI's help, status and error messages.

use crate::types::Mode;

/// Value-table flags, as the kernel's BOND_VALFLAG_DEFAULT/MIN/MAX.
pub const DEF: u8 = 1;
pub const MIN: u8 = 2;
pub const MAX: u8 = 4;

/// One named value of an option ("balance-rr" = 0, "maxval" = INT_MAX, ...).
#[derive(Debug)]
pub struct Val {
    pub name: &'static str,
    pub value: u64,
    pub flags: u8,
}

const fn v(name: &'static str, value: u64) -> Val {
    Val { name, value, flags: 0 }
}
const fn vf(name: &'static str, value: u64, flags: u8) -> Val {
    Val { name, value, flags }
}

/// Set-time conditions (the "Set" column).
pub const NEEDS_DOWN: u8 = 1;
pub const NEEDS_NO_SLAVES: u8 = 2;
/// The kernel exposes it through netlink only (no sysfs file); rbond accepts it anyway.
pub const NETLINK_ONLY: u8 = 4;
/// Only a module parameter (max_bonds, tx_queues): not settable on a bond.
pub const MODULE_ONLY: u8 = 8;

/// Bit mask of modes, bit n = mode n.
pub const ALL_MODES: u8 = 0x7f;
const fn modes(list: &[Mode]) -> u8 {
    let mut m = 0u8;
    let mut i = 0;
    while i < list.len() {
        m |= 1 << (list[i] as u8);
        i += 1;
    }
    m
}
const M_0_3: u8 = modes(&[Mode::BalanceRr, Mode::ActiveBackup, Mode::BalanceXor, Mode::Broadcast]);
const M_AB_TLB_ALB: u8 = modes(&[Mode::ActiveBackup, Mode::BalanceTlb, Mode::BalanceAlb]);
const M_8023AD: u8 = modes(&[Mode::Ieee8023ad]);
const M_TLB_ALB: u8 = modes(&[Mode::BalanceTlb, Mode::BalanceAlb]);
const M_RR: u8 = modes(&[Mode::BalanceRr]);

/// Option identities. Named after the sysfs files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Opt {
    Mode,
    Miimon,
    Updelay,
    Downdelay,
    PeerNotifDelay,
    UseCarrier,
    ArpInterval,
    ArpIpTarget,
    NsIp6Target,
    ArpMissedMax,
    ArpValidate,
    ArpAllTargets,
    Primary,
    PrimaryReselect,
    ActiveSlave,
    FailOverMac,
    XmitHashPolicy,
    PacketsPerSlave,
    LacpRate,
    LacpActive,
    AdSelect,
    MinLinks,
    AdActorSysPrio,
    AdActorSystem,
    AdUserPortKey,
    CoupledControl,
    LacpFallback,
    LacpTxRedundancy,
    BroadcastNeighbor,
    NumPeerNotif,
    AllSlavesActive,
    ResendIgmp,
    LpInterval,
    TlbDynamicLb,
    QueueId,
    Slaves,
    MaxBonds,
    TxQueues,
}

/// How values are written: through the generic value table, or a parser of its own
/// (the kernel's "raw" options).
#[derive(Debug)]
pub enum Syntax {
    Table(&'static [Val]),
    /// Free text with its own parser; the string says what it looks like.
    Raw(&'static str),
}

#[derive(Debug)]
pub struct OptionDef {
    pub id: Opt,
    pub name: &'static str,
    /// Other accepted names (num_unsol_na is num_grat_arp).
    pub aliases: &'static [&'static str],
    pub syntax: Syntax,
    /// Modes where the option may be set (bit n = mode n).
    pub modes: u8,
    pub set_flags: u8,
    /// Also a module parameter (`options bonding name=value`).
    pub module_param: bool,
    pub unit: &'static str,
    pub default_text: &'static str,
    pub help: &'static str,
}

impl OptionDef {
    pub fn allowed_in(&self, mode: Mode) -> bool {
        self.modes & (1 << mode.num()) != 0
    }
    pub fn values(&self) -> &'static [Val] {
        match self.syntax {
            Syntax::Table(t) => t,
            Syntax::Raw(_) => &[],
        }
    }
    pub fn min(&self) -> Option<u64> {
        self.values().iter().find(|v| v.flags & MIN != 0).map(|v| v.value)
    }
    pub fn max(&self) -> Option<u64> {
        self.values().iter().find(|v| v.flags & MAX != 0).map(|v| v.value)
    }
    /// The name of a value, for enum-like options ("active-backup" for mode 1).
    pub fn name_of(&self, value: u64) -> Option<&'static str> {
        self.values()
            .iter()
            .find(|v| v.value == value && v.flags & (MIN | MAX) == 0 && v.name != "default")
            .map(|v| v.name)
    }
    /// Whether the option is "a list of names" (enum-like) rather than a number range.
    pub fn is_enum(&self) -> bool {
        matches!(self.syntax, Syntax::Table(_)) && self.max().is_none()
    }
    /// Human text of what the option accepts, used by errors and `--help`. Every word the
    /// parser takes is named (`off`, `maxval`, `default` included, bond_options.c: bond_opt_parse, bond_opt_check_deps rule 2), with its
    /// number: `0 - 2147483647, or off (0), maxval (2147483647), default (0)`.
    pub fn accepted(&self) -> String {
        match &self.syntax {
            Syntax::Raw(s) => (*s).to_string(),
            Syntax::Table(vals) => {
                let mut names: Vec<String> =
                    vals.iter().map(|v| format!("{} ({})", v.name, v.value)).collect();
                // `default` is a keyword even where no entry carries that name.
                if !vals.iter().any(|v| v.name == "default") {
                    if let Some(d) = vals.iter().find(|v| v.flags & DEF != 0) {
                        names.push(format!("default ({})", d.value));
                    }
                }
                match self.max() {
                    Some(max) => {
                        format!("{} - {}, or {}", self.min().unwrap_or(0), max, names.join(", "))
                    }
                    None => names.join(", "),
                }
            }
        }
    }
}

const INT_MAX: u64 = i32::MAX as u64;

const MODE_VALS: &[Val] = &[
    vf("balance-rr", 0, DEF),
    v("active-backup", 1),
    v("balance-xor", 2),
    v("broadcast", 3),
    v("802.3ad", 4),
    v("balance-tlb", 5),
    v("balance-alb", 6),
];
const MIIMON_VALS: &[Val] = &[vf("off", 0, MIN | DEF), vf("maxval", INT_MAX, MAX)];
const PEER_NOTIF_VALS: &[Val] = &[vf("off", 0, MIN), vf("maxval", 300_000, MAX)];
const ON_OFF_DEF_ON: &[Val] = &[v("off", 0), vf("on", 1, DEF)];
const ON_OFF_DEF_OFF: &[Val] = &[vf("off", 0, DEF), v("on", 1)];
const ARP_MISSED_VALS: &[Val] =
    &[vf("minval", 1, MIN), vf("maxval", 255, MAX), vf("default", 2, DEF)];
const ARP_VALIDATE_VALS: &[Val] = &[
    vf("none", 0, DEF),
    v("active", 1),
    v("backup", 2),
    v("all", 3),
    v("filter", 4),
    v("filter_active", 5),
    v("filter_backup", 6),
];
const ARP_ALL_TARGETS_VALS: &[Val] = &[vf("any", 0, DEF), v("all", 1)];
const PRIMARY_RESELECT_VALS: &[Val] = &[vf("always", 0, DEF), v("better", 1), v("failure", 2)];
const FAIL_OVER_MAC_VALS: &[Val] = &[vf("none", 0, DEF), v("active", 1), v("follow", 2)];
const XMIT_HASH_VALS: &[Val] = &[
    vf("layer2", 0, DEF),
    v("layer3+4", 1),
    v("layer2+3", 2),
    v("encap2+3", 3),
    v("encap3+4", 4),
    v("vlan+srcmac", 5),
];
const PPS_VALS: &[Val] = &[vf("default", 1, DEF), vf("maxval", 65535, MAX)];
const LACP_RATE_VALS: &[Val] = &[v("slow", 0), v("fast", 1)];
const LACP_FALLBACK_VALS: &[Val] = &[vf("off", 0, DEF), v("active-backup", 1)];
const AD_SELECT_VALS: &[Val] = &[vf("stable", 0, DEF), v("bandwidth", 1), v("count", 2)];
const SYS_PRIO_VALS: &[Val] = &[vf("minval", 1, MIN), vf("maxval", 65535, MAX | DEF)];
const USER_KEY_VALS: &[Val] =
    &[vf("minval", 0, MIN | DEF), vf("maxval", 1023, MAX)];
const COUNT_255_VALS: &[Val] = &[vf("off", 0, MIN), vf("maxval", 255, MAX), vf("default", 1, DEF)];
const LP_INTERVAL_VALS: &[Val] =
    &[vf("minval", 1, MIN | DEF), vf("maxval", INT_MAX, MAX)];
const MAX_BONDS_VALS: &[Val] = &[vf("minval", 0, MIN), vf("maxval", INT_MAX, MAX), vf("default", 1, DEF)];
const TX_QUEUES_VALS: &[Val] = &[vf("minval", 1, MIN), vf("maxval", 255, MAX), vf("default", 16, DEF)];

macro_rules! opt {
    ($id:ident, $name:expr, $syntax:expr, $modes:expr, $flags:expr, $mp:expr, $unit:expr, $def:expr, $help:expr) => {
        OptionDef {
            id: Opt::$id,
            name: $name,
            aliases: &[],
            syntax: $syntax,
            modes: $modes,
            set_flags: $flags,
            module_param: $mp,
            unit: $unit,
            default_text: $def,
            help: $help,
        }
    };
}
use Syntax::{Raw, Table};

/// Every bonding option, in the order of bonding.rst, Bonding Driver Options.
pub static OPTIONS: &[OptionDef] = &[
    opt!(Mode, "mode", Table(MODE_VALS), ALL_MODES, NEEDS_DOWN | NEEDS_NO_SLAVES, true, "", "balance-rr",
        "bonding policy"),
    opt!(Miimon, "miimon", Table(MIIMON_VALS), ALL_MODES, 0, true, "ms", "0 (100 in 802.3ad/tlb/alb)",
        "MII link monitoring interval"),
    opt!(Updelay, "updelay", Table(MIIMON_VALS), ALL_MODES, 0, true, "ms", "0",
        "delay before enabling a slave whose link came up (multiple of miimon)"),
    opt!(Downdelay, "downdelay", Table(MIIMON_VALS), ALL_MODES, 0, true, "ms", "0",
        "delay before disabling a slave whose link went down (multiple of miimon)"),
    opt!(PeerNotifDelay, "peer_notif_delay", Table(PEER_NOTIF_VALS), ALL_MODES, 0, false, "ms", "0",
        "delay between peer notifications after a failover (multiple of miimon)"),
    opt!(UseCarrier, "use_carrier", Table(ON_OFF_DEF_ON), ALL_MODES, 0, true, "", "1",
        "use the carrier (1) or ethtool link status (0) for MII monitoring"),
    opt!(ArpInterval, "arp_interval", Table(MIIMON_VALS), M_0_3, 0, true, "ms", "0",
        "ARP link monitoring interval"),
    opt!(ArpIpTarget, "arp_ip_target", Raw("+<ipv4 address> or -<ipv4 address> (up to 16 targets)"),
        ALL_MODES, 0, true, "", "none", "IPv4 addresses probed by the ARP monitor"),
    opt!(NsIp6Target, "ns_ip6_target", Raw("+<ipv6 address> or -<ipv6 address> (up to 16 targets)"),
        ALL_MODES, NETLINK_ONLY, false, "", "none", "IPv6 addresses probed by the NS monitor"),
    opt!(ArpMissedMax, "arp_missed_max", Table(ARP_MISSED_VALS), M_0_3, 0, false, "intervals", "2",
        "missed ARP intervals before a slave is marked down"),
    opt!(ArpValidate, "arp_validate", Table(ARP_VALIDATE_VALS), M_0_3, 0, true, "", "none",
        "which slaves validate ARP replies"),
    opt!(ArpAllTargets, "arp_all_targets", Table(ARP_ALL_TARGETS_VALS), ALL_MODES, 0, true, "", "any",
        "whether any or all ARP targets must answer"),
    opt!(Primary, "primary", Raw("an interface name, or empty to clear"), M_AB_TLB_ALB, 0, true, "", "none",
        "preferred active slave"),
    opt!(PrimaryReselect, "primary_reselect", Table(PRIMARY_RESELECT_VALS), ALL_MODES, 0, true, "", "always",
        "when the primary becomes active again after it recovers"),
    opt!(ActiveSlave, "active_slave", Raw("an enslaved interface name, or empty"), M_AB_TLB_ALB, 0, false, "", "",
        "the current active slave"),
    opt!(FailOverMac, "fail_over_mac", Table(FAIL_OVER_MAC_VALS), ALL_MODES, NEEDS_NO_SLAVES, true, "", "none",
        "how slave MACs are handled at failover (active-backup)"),
    opt!(XmitHashPolicy, "xmit_hash_policy", Table(XMIT_HASH_VALS), ALL_MODES, 0, true, "", "layer2",
        "transmit hash policy (balance-xor, 802.3ad, tlb/alb)"),
    opt!(PacketsPerSlave, "packets_per_slave", Table(PPS_VALS), M_RR, 0, true, "packets", "1",
        "packets sent on a slave before moving to the next (0 = random)"),
    opt!(LacpRate, "lacp_rate", Table(LACP_RATE_VALS), M_8023AD, NEEDS_DOWN, true, "", "slow",
        "rate at which the partner is asked to send LACPDUs"),
    opt!(LacpActive, "lacp_active", Table(ON_OFF_DEF_ON), M_8023AD, NEEDS_DOWN, false, "", "on",
        "send LACPDUs periodically (on) or only when spoken to (off)"),
    opt!(AdSelect, "ad_select", Table(AD_SELECT_VALS), ALL_MODES, NEEDS_DOWN, true, "", "stable",
        "802.3ad aggregator selection logic"),
    opt!(MinLinks, "min_links", Table(MIIMON_VALS), ALL_MODES, 0, true, "links", "0",
        "minimum number of links up for carrier (802.3ad)"),
    opt!(AdActorSysPrio, "ad_actor_sys_prio", Table(SYS_PRIO_VALS), M_8023AD, 0, false, "", "65535",
        "LACP system priority"),
    opt!(AdActorSystem, "ad_actor_system", Raw("a unicast MAC address aa:bb:cc:dd:ee:ff"), M_8023AD, 0, false, "",
        "00:00:00:00:00:00", "LACP system MAC (zero = the bond MAC)"),
    opt!(AdUserPortKey, "ad_user_port_key", Table(USER_KEY_VALS), M_8023AD, NEEDS_DOWN, false, "", "0",
        "upper 10 bits of the LACP port key"),
    opt!(CoupledControl, "coupled_control", Table(ON_OFF_DEF_ON), M_8023AD, NEEDS_DOWN | NETLINK_ONLY, false, "", "on",
        "coupled (on) or independent (off) collecting/distributing"),
    opt!(LacpFallback, "lacp_fallback", Table(LACP_FALLBACK_VALS), M_8023AD, 0, false, "", "off",
        "rbond's own (not a kernel option; Open vSwitch's lacp-fallback-ab): with no 802.3ad partner \
         answering on any port, run active-backup over the ports (the first port with link up \
         carries the traffic) until a partner speaks"),
    opt!(LacpTxRedundancy, "lacp_tx_redundancy", Table(ON_OFF_DEF_OFF), M_8023AD, 0, false, "", "off",
        "rbond's own (not a kernel option): when the partner asks for fast LACPDUs, send three per \
         second (the 802.1AX ceiling) instead of one, so that random LACPDU loss does not expire \
         ports; detection of a silent partner stays 3 s"),
    opt!(BroadcastNeighbor, "broadcast_neighbor", Table(ON_OFF_DEF_OFF), M_8023AD, NETLINK_ONLY, false, "", "off",
        "send ARP/ND on all usable slaves"),
    OptionDef {
        id: Opt::NumPeerNotif,
        name: "num_grat_arp",
        aliases: &["num_unsol_na"],
        syntax: Table(COUNT_255_VALS),
        modes: ALL_MODES,
        set_flags: 0,
        module_param: true,
        unit: "count",
        default_text: "1",
        help: "peer notifications (gratuitous ARP / unsolicited NA) after a failover",
    },
    opt!(AllSlavesActive, "all_slaves_active", Table(ON_OFF_DEF_OFF), ALL_MODES, 0, true, "", "0",
        "deliver duplicate frames received on inactive slaves"),
    opt!(ResendIgmp, "resend_igmp", Table(COUNT_255_VALS), ALL_MODES, 0, true, "count", "1",
        "IGMP reports sent after a failover"),
    opt!(LpInterval, "lp_interval", Table(LP_INTERVAL_VALS), ALL_MODES, 0, true, "s", "1",
        "seconds between learning packets (tlb/alb)"),
    opt!(TlbDynamicLb, "tlb_dynamic_lb", Table(ON_OFF_DEF_ON), M_TLB_ALB, NEEDS_DOWN, false, "", "1",
        "dynamic transmit load balancing (tlb/alb)"),
    opt!(QueueId, "queue_id", Raw("<ifname>:<queue id>"), ALL_MODES, 0, false, "", "0",
        "transmit queue id of a slave"),
    opt!(Slaves, "slaves", Raw("+<ifname> or -<ifname>"), ALL_MODES, 0, false, "", "",
        "enslave (+) or release (-) an interface"),
    opt!(MaxBonds, "max_bonds", Table(MAX_BONDS_VALS), ALL_MODES, MODULE_ONLY, true, "", "1",
        "bonds created when the module loads"),
    opt!(TxQueues, "tx_queues", Table(TX_QUEUES_VALS), ALL_MODES, MODULE_ONLY, true, "", "16",
        "transmit queues of each bond"),
];

/// Finds an option by its name or alias.
pub fn lookup(name: &str) -> Option<&'static OptionDef> {
    OPTIONS.iter().find(|o| o.name == name || o.aliases.contains(&name))
}

pub fn def(id: Opt) -> &'static OptionDef {
    OPTIONS.iter().find(|o| o.id == id).expect("every Opt has a row")
}

/// Names of all options that can be set on a bond, for "unknown option" errors.
pub fn settable_names() -> Vec<&'static str> {
    OPTIONS.iter().filter(|o| o.set_flags & MODULE_ONLY == 0).map(|o| o.name).collect()
}

//! The bond status model: plain data, filled by the driver from the live bond and rendered as
//! `/proc/net/bonding/<bond>` (render.rs) or serialized as JSON by the CLI.
//!
//! Field names follow the kernel's option and /proc wording (bond_procfs.c) so a reader can map
//! every field to the line it produces. The model holds what the kernel *stores*; conditions
//! such as "only in modes 1, 5, 6" or "only for CAP_NET_ADMIN" are applied by the renderer, so
//! the JSON form always carries the full picture.

use crate::types::{Duplex, LinkState, MacAddr, Mode, XmitHashPolicy};
use serde::Serialize;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Everything `/proc/net/bonding/<bond>` shows about one bond, plus the per-slave sysfs state.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct BondStatus {
    /// Bond interface name, e.g. `bond0`.
    pub bond: String,
    /// Kernel release (`uname -r`) for the header `Ethernet Channel Bonding Driver: v<release>`.
    pub release: String,
    pub mode: Mode,
    /// `none` | `active` | `follow`. Printed as a mode-line suffix only in active-backup.
    pub fail_over_mac: &'static str,
    pub xmit_hash_policy: XmitHashPolicy,
    /// Only meaningful in tlb/alb: when false the transmit hash policy line is printed.
    pub tlb_dynamic_lb: bool,
    /// The primary slave if it is configured *and* enslaved (the kernel's `primary_slave`);
    /// a configured primary that is not enslaved is `None` here, as in /proc.
    pub primary: Option<String>,
    /// `always` | `better` | `failure`.
    pub primary_reselect: &'static str,
    /// `curr_active_slave` (modes 1, 5, 6).
    pub active_slave: Option<String>,
    /// The bond carrier.
    pub mii_status_up: bool,
    pub miimon: u32,
    /// Delays in ms, i.e. the stored count × miimon (what /proc prints).
    pub updelay_ms: u32,
    pub downdelay_ms: u32,
    pub peer_notif_delay_ms: u32,
    pub arp_interval: u32,
    pub arp_missed_max: u32,
    pub arp_ip_targets: Vec<Ipv4Addr>,
    pub ns_ip6_targets: Vec<Ipv6Addr>,
    /// Some in 802.3ad mode.
    pub ad: Option<AdInfo>,
    /// Slaves in enslave order.
    pub slaves: Vec<SlaveStatus>,
    /// Every option as its sysfs file reads (bond_sysfs.c, without the newline), by option name: what
    /// a client needs to compare a bond with a configuration in one call. Not rendered.
    pub options: std::collections::BTreeMap<&'static str, String>,
    /// Some in balance-tlb and balance-alb: the transmit table and the alb clients. Not
    /// rendered (the kernel's /proc shows neither); in `--json` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lb: Option<LbInfo>,
}

/// The tlb/alb tables (bond_alb.c: tlb_choose_channel, bond_alb.c: rlb_*), as `--json` shows them.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LbInfo {
    /// The assigned entries of the 256-entry transmit table, by bucket.
    pub tx_table: Vec<TxBucketStatus>,
    /// Each slave's load in bytes/s (`tlb_slave_info.load`), in slave order.
    pub slave_loads: Vec<(String, u32)>,
    /// alb: the receive load-balancing clients in table order (empty in tlb).
    pub rlb_clients: Vec<RlbClientStatus>,
}

/// One assigned transmit-table entry.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TxBucketStatus {
    /// The hash bucket (table index).
    pub bucket: u8,
    pub slave: String,
    /// `load_history`: the bytes/s the entry carried in the last rebalance period, plus one.
    pub load: u32,
    /// Bytes sent through the entry since it was assigned.
    pub tx_bytes: u32,
}

/// One alb client.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RlbClientStatus {
    pub ip: Ipv4Addr,
    /// None until the client's own ARP reply was seen.
    pub mac: Option<MacAddr>,
    /// The bond's address the client talks to.
    pub server_ip: Ipv4Addr,
    /// The slave whose MAC the client was taught, by name.
    pub slave: Option<String>,
    /// The MAC the client was taught (that slave's MAC now).
    pub slave_mac: Option<MacAddr>,
    pub update_pending: bool,
}

/// The bond-wide part of the `802.3ad info` section.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AdInfo {
    pub lacp_active: bool,
    pub lacp_rate_fast: bool,
    pub min_links: u32,
    /// `stable` | `bandwidth` | `count` (| `prio` on kernels that have it).
    pub ad_select: &'static str,
    /// `ad_actor_sys_prio`.
    pub system_priority: u16,
    /// `ad_actor_system` if non-zero, else the bond MAC.
    pub system_mac: MacAddr,
    /// None prints `bond <bond> has no active aggregator`.
    pub active_aggregator: Option<AggregatorInfo>,
}

/// The active aggregator (the first in slave order marked active), bond_procfs.c: bond_info_show_master.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AggregatorInfo {
    pub id: u16,
    /// Number of *enabled* (link-up) ports.
    pub num_ports: u16,
    pub actor_key: u16,
    pub partner_key: u16,
    /// All-zero without a partner.
    pub partner_mac: MacAddr,
}

/// One `Slave Interface:` section.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SlaveStatus {
    pub name: String,
    pub mii_status: LinkState,
    /// Cached ethtool speed. None, 0 or 0xFFFFFFFF print `Unknown` (and so does the duplex).
    pub speed_mbps: Option<u32>,
    pub duplex: Duplex,
    pub link_failure_count: u32,
    /// The MAC the slave had when enslaved.
    pub perm_hwaddr: MacAddr,
    pub queue_id: u16,
    /// sysfs `bonding_slave/state`: `active` or `backup` (not printed in /proc, but in JSON).
    pub state: &'static str,
    /// Some in 802.3ad mode. None (or an `aggregator_id` of None) prints `Aggregator ID: N/A`.
    pub ad: Option<SlaveAdInfo>,
    /// 802.3ad protocol counters of the port (the kernel's `bond_3ad_stats`, which it shows
    /// through netlink only). JSON only, never rendered in /proc; absent outside 802.3ad.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lacp_counters: Option<SlaveLacpCounters>,
}

/// Per-port LACP counters.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, Default)]
pub struct SlaveLacpCounters {
    pub lacpdu_rx: u64,
    pub lacpdu_tx: u64,
    pub marker_rx: u64,
    pub marker_tx: u64,
    pub marker_response_rx: u64,
    pub marker_response_tx: u64,
    /// Slow Protocols frames of another subtype (passed on, not counted as bad).
    pub unknown_rx: u64,
    /// Bad PDUs: too short, bad version, bad TLV type or length, unknown marker TLV.
    pub bad_pdu_rx: u64,
}

/// The per-port 802.3ad lines of a slave section.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SlaveAdInfo {
    /// The id of the aggregator the port is attached to; None prints `N/A` and ends the section.
    pub aggregator_id: Option<u16>,
    /// `monitoring` | `churned` | `none` (`unknown` otherwise).
    pub actor_churn_state: &'static str,
    pub partner_churn_state: &'static str,
    pub actor_churned_count: u32,
    pub partner_churned_count: u32,
    /// Actor operational values (`details actor lacp pdu:`).
    pub actor: LacpPduDetails,
    /// Partner operational values (`details partner lacp pdu:`, key printed as `oper key`).
    pub partner: LacpPduDetails,
}

/// The six values of a `details ... lacp pdu:` block.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LacpPduDetails {
    pub system_priority: u16,
    pub system_mac: MacAddr,
    pub key: u16,
    pub port_priority: u16,
    pub port_number: u16,
    /// Raw LACP state byte (IEEE 802.1AX-2020 6.4.2.3), printed in decimal.
    pub port_state: u8,
}

/// Churn state words as the kernel prints them (`bond_3ad_churn_desc`).
pub mod churn {
    pub const MONITORING: &str = "monitoring";
    pub const CHURNED: &str = "churned";
    pub const NONE: &str = "none";
    pub const UNKNOWN: &str = "unknown";
}

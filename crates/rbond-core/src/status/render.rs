//! `/proc/net/bonding/<bond>` text, byte for byte as the kernel's `bond_info_seq_show`
//! prints it (bond_procfs.c). The line conditions live here rather than in the model so that
//! the JSON form keeps every value while /proc hides what the kernel hides.

use super::model::{AdInfo, BondStatus, LacpPduDetails, SlaveStatus};
use crate::types::{Duplex, Mode};
use std::fmt::Write;
use std::net::Ipv6Addr;

impl BondStatus {
    /// The exact `/proc/net/bonding/<bond>` text. `privileged` = the reader has CAP_NET_ADMIN:
    /// only then are the 802.3ad system identity, the active aggregator (or its absence) and
    /// the per-slave `details` blocks shown.
    pub fn render_proc(&self, privileged: bool) -> String {
        let mut out = String::with_capacity(1024);
        // Writing into a String cannot fail.
        let _ = self.write_proc(&mut out, privileged);
        out
    }

    fn write_proc(&self, out: &mut String, privileged: bool) -> std::fmt::Result {
        writeln!(out, "Ethernet Channel Bonding Driver: v{}", self.release)?;
        writeln!(out)?;
        self.write_master(out, privileged)?;
        for slave in &self.slaves {
            self.write_slave(out, slave, privileged)?;
        }
        Ok(())
    }

    fn write_master(&self, out: &mut String, privileged: bool) -> std::fmt::Result {
        write!(out, "Bonding Mode: {}", self.mode.proc_text())?;
        // fail_over_mac only acts in active-backup, so the kernel only mentions it there.
        if self.mode == Mode::ActiveBackup && self.fail_over_mac != "none" {
            write!(out, " (fail_over_mac {})", self.fail_over_mac)?;
        }
        writeln!(out)?;

        if self.uses_xmit_hash() {
            let p = self.xmit_hash_policy;
            writeln!(out, "Transmit Hash Policy: {} ({})", p.name(), p as u8)?;
        }

        if self.mode.uses_primary() {
            write!(
                out,
                "Primary Slave: {}",
                self.primary.as_deref().unwrap_or("None")
            )?;
            if self.primary.is_some() {
                write!(out, " (primary_reselect {})", self.primary_reselect)?;
            }
            writeln!(out)?;
            let active = self.active_slave.as_deref().unwrap_or("None");
            writeln!(out, "Currently Active Slave: {active}")?;
        }

        writeln!(
            out,
            "MII Status: {}",
            if self.mii_status_up { "up" } else { "down" }
        )?;
        // Setting arp_interval clears miimon, and the kernel prints each delay as the stored
        // count × miimon, so with the ARP monitor (or miimon 0) all four lines read 0 whatever
        // the caller passed.
        let miimon = if self.arp_interval > 0 {
            0
        } else {
            self.miimon
        };
        let delay = |ms: u32| if miimon == 0 { 0 } else { ms };
        writeln!(out, "MII Polling Interval (ms): {miimon}")?;
        writeln!(out, "Up Delay (ms): {}", delay(self.updelay_ms))?;
        writeln!(out, "Down Delay (ms): {}", delay(self.downdelay_ms))?;
        writeln!(
            out,
            "Peer Notification Delay (ms): {}",
            delay(self.peer_notif_delay_ms)
        )?;

        if self.arp_interval > 0 {
            writeln!(out, "ARP Polling Interval (ms): {}", self.arp_interval)?;
            writeln!(out, "ARP Missed Max: {}", self.arp_missed_max)?;
            out.push_str("ARP IP target/s (n.n.n.n form):");
            for (i, t) in self.arp_ip_targets.iter().enumerate() {
                // The comma goes before the space: "a, b"; an empty list ends at "form):".
                write!(out, "{} {t}", if i > 0 { "," } else { "" })?;
            }
            writeln!(out)?;
            // rbond always runs with IPv6 available, like a CONFIG_IPV6 kernel.
            out.push_str("NS IPv6 target/s (xx::xx form):");
            for (i, t) in self.ns_ip6_targets.iter().enumerate() {
                write!(
                    out,
                    "{} {}",
                    if i > 0 { "," } else { "" },
                    ipv6_compressed(t)
                )?;
            }
            writeln!(out)?;
        }

        if self.mode == Mode::Ieee8023ad {
            if let Some(ad) = &self.ad {
                self.write_ad_master(out, ad, privileged)?;
            }
        }
        Ok(())
    }

    /// `bond_mode_uses_xmit_hash`: xor and 802.3ad always hash; tlb/alb only when the
    /// dynamic load table is off.
    fn uses_xmit_hash(&self) -> bool {
        match self.mode {
            Mode::Ieee8023ad | Mode::BalanceXor => true,
            Mode::BalanceTlb | Mode::BalanceAlb => !self.tlb_dynamic_lb,
            _ => false,
        }
    }

    fn write_ad_master(&self, out: &mut String, ad: &AdInfo, privileged: bool) -> std::fmt::Result {
        writeln!(out)?;
        writeln!(out, "802.3ad info")?;
        writeln!(
            out,
            "LACP active: {}",
            if ad.lacp_active { "on" } else { "off" }
        )?;
        writeln!(
            out,
            "LACP rate: {}",
            if ad.lacp_rate_fast { "fast" } else { "slow" }
        )?;
        writeln!(out, "Min links: {}", ad.min_links)?;
        writeln!(
            out,
            "Aggregator selection policy (ad_select): {}",
            ad.ad_select
        )?;
        if !privileged {
            return Ok(());
        }
        writeln!(out, "System priority: {}", ad.system_priority)?;
        writeln!(out, "System MAC address: {}", ad.system_mac)?;
        match &ad.active_aggregator {
            None => writeln!(out, "bond {} has no active aggregator", self.bond)?,
            Some(agg) => {
                writeln!(out, "Active Aggregator Info:")?;
                writeln!(out, "\tAggregator ID: {}", agg.id)?;
                writeln!(out, "\tNumber of ports: {}", agg.num_ports)?;
                writeln!(out, "\tActor Key: {}", agg.actor_key)?;
                writeln!(out, "\tPartner Key: {}", agg.partner_key)?;
                writeln!(out, "\tPartner Mac Address: {}", agg.partner_mac)?;
            }
        }
        Ok(())
    }

    fn write_slave(&self, out: &mut String, s: &SlaveStatus, privileged: bool) -> std::fmt::Result {
        writeln!(out)?;
        writeln!(out, "Slave Interface: {}", s.name)?;
        writeln!(out, "MII Status: {}", s.mii_status.proc_text())?;
        // The kernel caches speed and duplex together and marks both unknown when either
        // is unusable, so they print `Unknown` as a pair.
        let speed = s.speed_mbps.filter(|&v| v != 0 && v != u32::MAX);
        let duplex = match s.duplex {
            Duplex::Full => Some("full"),
            Duplex::Half => Some("half"),
            Duplex::Unknown => None,
        };
        match (speed, duplex) {
            (Some(mbps), Some(d)) => {
                writeln!(out, "Speed: {mbps} Mbps")?;
                writeln!(out, "Duplex: {d}")?;
            }
            _ => {
                writeln!(out, "Speed: Unknown")?;
                writeln!(out, "Duplex: Unknown")?;
            }
        }
        writeln!(out, "Link Failure Count: {}", s.link_failure_count)?;
        writeln!(out, "Permanent HW addr: {}", s.perm_hwaddr)?;
        writeln!(out, "Slave queue ID: {}", s.queue_id)?;

        if self.mode != Mode::Ieee8023ad {
            return Ok(());
        }
        let (ad, agg_id) = match s
            .ad
            .as_ref()
            .and_then(|a| a.aggregator_id.map(|id| (a, id)))
        {
            Some(x) => x,
            None => return writeln!(out, "Aggregator ID: N/A"),
        };
        writeln!(out, "Aggregator ID: {agg_id}")?;
        writeln!(out, "Actor Churn State: {}", ad.actor_churn_state)?;
        writeln!(out, "Partner Churn State: {}", ad.partner_churn_state)?;
        writeln!(out, "Actor Churned Count: {}", ad.actor_churned_count)?;
        writeln!(out, "Partner Churned Count: {}", ad.partner_churned_count)?;
        if privileged {
            write_details(out, "actor", "port key", &ad.actor)?;
            write_details(out, "partner", "oper key", &ad.partner)?;
        }
        Ok(())
    }
}

fn write_details(
    out: &mut String,
    who: &str,
    key_label: &str,
    d: &LacpPduDetails,
) -> std::fmt::Result {
    writeln!(out, "details {who} lacp pdu:")?;
    writeln!(out, "    system priority: {}", d.system_priority)?;
    writeln!(out, "    system mac address: {}", d.system_mac)?;
    writeln!(out, "    {key_label}: {}", d.key)?;
    writeln!(out, "    port priority: {}", d.port_priority)?;
    writeln!(out, "    port number: {}", d.port_number)?;
    writeln!(out, "    port state: {}", d.port_state)
}

/// An IPv6 address as the kernel's `%pI6c` prints it: RFC 5952 compression (the first longest
/// run of two or more zero words becomes `::`, hex without leading zeros), and the last 32 bits
/// as a dotted quad for IPv4-mapped and ISATAP addresses. Written out rather than using
/// `Ipv6Addr`'s Display so the ISATAP case matches too.
pub fn ipv6_compressed(addr: &Ipv6Addr) -> String {
    let w = addr.segments();
    let isatap = (w[4] | 0x0200) == 0x0200 && w[5] == 0x5efe;
    let use_v4 = addr.to_ipv4_mapped().is_some() || isatap;
    let range = if use_v4 { 6 } else { 8 };

    // First longest zero run within the hex part; a single zero word is not compressed.
    let (mut best_pos, mut best_len) = (None, 1);
    let mut i = 0;
    while i < range {
        let len = w[i..range].iter().take_while(|&&x| x == 0).count();
        if len > best_len {
            best_pos = Some(i);
            best_len = len;
        }
        i += len.max(1);
    }

    let mut s = String::with_capacity(40);
    let mut need_colon = false;
    let mut i = 0;
    while i < range {
        if Some(i) == best_pos {
            if need_colon || i == 0 {
                s.push(':');
            }
            s.push(':');
            need_colon = false;
            i += best_len;
            continue;
        }
        if need_colon {
            s.push(':');
        }
        let _ = write!(s, "{:x}", w[i]);
        need_colon = true;
        i += 1;
    }
    if use_v4 {
        if need_colon {
            s.push(':');
        }
        let o = addr.octets();
        let _ = write!(s, "{}.{}.{}.{}", o[12], o[13], o[14], o[15]);
    }
    s
}

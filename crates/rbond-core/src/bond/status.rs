//! Fills the status model (bond_procfs.c) from the live bond.

use super::Bond;
use crate::status::{AdInfo, BondStatus, LbInfo, RlbClientStatus, SlaveLacpCounters, SlaveStatus, TxBucketStatus};
use crate::types::Mode;

/// The model; `with_options` fills the sysfs map of every option (JSON only).
pub(super) fn build(b: &Bond, with_options: bool) -> BondStatus {
    let o = &b.opts;
    let primary = b.primary_idx().map(|i| b.slaves[i].name.clone());
    let arp = o.arp_interval > 0;
    let ad_mode = b.mode.as_8023ad();
    let ad = (o.mode == Mode::Ieee8023ad).then(|| AdInfo {
        lacp_active: o.lacp_active,
        lacp_rate_fast: o.lacp_rate == crate::options::LacpRate::Fast,
        min_links: o.min_links,
        ad_select: o.ad_select.name(),
        // The identity the engine uses now (BOND_AD_INFO(bond).system, bond_3ad.c: __get_link_speed, ad key).
        system_priority: ad_mode.map_or(o.ad_actor_sys_prio, |m| m.lacp().system().0),
        system_mac: ad_mode.map_or(if o.ad_actor_system.is_zero() { b.mac } else { o.ad_actor_system }, |m| m.lacp().system().1),
        active_aggregator: ad_mode.and_then(|m| m.active_aggregator()),
    });
    BondStatus {
        bond: b.name.clone(),
        release: b.release.clone(),
        mode: o.mode,
        fail_over_mac: o.fail_over_mac.name(),
        xmit_hash_policy: o.xmit_hash_policy,
        tlb_dynamic_lb: o.tlb_dynamic_lb,
        primary,
        primary_reselect: o.primary_reselect.name(),
        active_slave: b.curr_active.map(|i| b.slaves[i].name.clone()),
        mii_status_up: b.carrier,
        // With the ARP monitor, miimon and the delays print 0 (bond_procfs.c: bond_info_show_master).
        miimon: if arp { 0 } else { o.miimon },
        updelay_ms: if arp { 0 } else { o.updelay_ms() },
        downdelay_ms: if arp { 0 } else { o.downdelay_ms() },
        peer_notif_delay_ms: if arp { 0 } else { o.peer_notif_delay_ms() },
        arp_interval: o.arp_interval,
        arp_missed_max: o.arp_missed_max as u32,
        arp_ip_targets: o.arp_ip_targets.clone(),
        ns_ip6_targets: o.ns_ip6_targets.clone(),
        ad,
        options: if with_options {
            crate::options::OPTIONS.iter().filter_map(|d| Some((d.name, b.show(d.name)?))).collect()
        } else {
            Default::default()
        },
        lb: b.mode.as_tlb().map(|t| lb_info(b, t)),
        slaves: b
            .slaves
            .iter()
            .map(|s| SlaveStatus {
                name: s.name.clone(),
                mii_status: s.link,
                speed_mbps: s.speed_mbps,
                duplex: s.duplex,
                link_failure_count: s.link_failure_count,
                perm_hwaddr: s.perm_hwaddr,
                queue_id: s.queue_id,
                // tlb/alb slaves always read `active` (bond_main.c: bond_should_deliver_exact_match): their mode never sets backup.
                state: if s.backup { "backup" } else { "active" },
                ad: ad_mode.and_then(|m| m.lacp().port_status(s.id.0)),
                lacp_counters: ad_mode.and_then(|m| m.counters(s.id)).map(|c| SlaveLacpCounters {
                    lacpdu_rx: c.lacpdu_rx,
                    lacpdu_tx: c.lacpdu_tx,
                    marker_rx: c.marker_rx,
                    marker_tx: c.marker_tx,
                    marker_response_rx: c.marker_resp_rx,
                    marker_response_tx: c.marker_resp_tx,
                    unknown_rx: c.unknown_rx,
                    bad_pdu_rx: c.illegal_rx + c.marker_unknown_rx,
                }),
            })
            .collect(),
    }
}

/// The tlb/alb tables for `--json`: slaves by name, as the rest of the status.
fn lb_info(b: &Bond, t: &super::mode::Tlb) -> LbInfo {
    let name = |i: usize| b.slaves.get(i).map(|s| s.name.clone()).unwrap_or_default();
    let table = t.table();
    LbInfo {
        tx_table: table
            .entries()
            .iter()
            .enumerate()
            .filter_map(|(k, e)| {
                let s = e.tx_slave?;
                Some(TxBucketStatus { bucket: k as u8, slave: name(s), load: e.load_history, tx_bytes: e.tx_bytes })
            })
            .collect(),
        slave_loads: (0..b.slaves.len()).map(|i| (name(i), table.slave_load(i))).collect(),
        rlb_clients: t
            .rlb()
            .clients()
            .into_iter()
            .map(|c| {
                let slave = c.slave.and_then(|id| b.slave(id));
                RlbClientStatus {
                    ip: c.client_ip,
                    mac: c.client_mac,
                    server_ip: c.server_ip,
                    slave: slave.map(|s| s.name.clone()),
                    slave_mac: c.slave.and_then(|id| t.slave_addr(id)),
                    update_pending: c.update_pending,
                }
            })
            .collect(),
    }
}

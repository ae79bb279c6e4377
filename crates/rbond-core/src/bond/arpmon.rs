//! The ARP monitor (bond_main.c: bond_ab_arp_inspect, bond_arp_rcv): probes `arp_ip_target`s (ARP requests) and
//! `ns_ip6_target`s (Neighbor Solicitations) from the slaves and judges a slave's link by
//! the frames it sends and receives.
//!
//! "Within k intervals of t" means `t − I ≤ now ≤ t + k·I + I/2`.

use super::{Action, Bond, Level};
use crate::frame;
use crate::types::{LinkState, MacAddr, Millis, Mode, SlaveIdx};
use std::net::Ipv4Addr;

fn within(now: Millis, t: Millis, k: u64, iv: u64) -> bool {
    now + iv >= t && now <= t + k * iv + iv / 2
}

/// Receive side: update the slave's last receive time per arp_validate (bond_main.c: bond_ab_arp_inspect, bond_arp_rcv).
pub(crate) fn arpmon_rx(b: &mut Bond, i: SlaveIdx, f: &[u8], now: Millis) {
    let v = b.opts.arp_validate;
    let is_active = match b.opts.mode {
        Mode::ActiveBackup => b.curr_active == Some(i),
        _ => !b.slaves[i].backup,
    };
    let validated = if is_active { v.validates_active() } else { v.validates_backup() };
    let arp = frame::parse_arp(f);
    if !validated {
        // With a filter value only ARP (or IPv6 neighbor discovery) frames count.
        if !v.filters() || arp.is_some() || frame::is_ipv6_nd_ns_na(f) {
            b.slaves[i].last_rx = now;
        }
        return;
    }
    let Some(a) = arp else {
        ns_validate(b, i, f, is_active, now);
        return;
    };
    // Step 1: not a frame for another host (the kernel's PACKET_OTHERHOST).
    let dst = frame::parse_eth(f).map(|m| m.dst).unwrap_or(MacAddr::ZERO);
    if !dst.is_multicast() && dst != b.mac && dst != b.slaves[i].cur_mac {
        return;
    }
    // Step 4: the pair is valid if the sender is a target and the target is ours.
    let check = |sip: Ipv4Addr, tip: Ipv4Addr| -> Option<usize> {
        if sip.is_unspecified() || !b.local_v4.contains(&tip) {
            return None;
        }
        b.opts.arp_ip_targets.iter().position(|t| *t == sip)
    };
    let hit = if is_active {
        // Step 2.
        check(a.spa, a.tpa)
    } else if let Some(c) = b.curr_active.filter(|&c| b.slaves[c].last_rx > b.slaves[c].last_link_up) {
        // Step 3: the active slave has heard valid ARPs since it became active, so this
        // backup may take its broadcast request (target and sender swapped).
        let _ = c;
        check(a.tpa, a.spa)
    } else if let Some(r) = b.arp_probe_rotor.filter(|&r| r < b.slaves.len()) {
        // Or a reply while the probing slave transmitted within one interval.
        let iv = b.opts.arp_interval as u64;
        if a.op == frame::view::ARPOP_REPLY && within(now, b.slaves[r].last_tx, 1, iv) {
            check(a.spa, a.tpa)
        } else {
            None
        }
    } else {
        None
    };
    if let Some(t) = hit {
        let s = &mut b.slaves[i];
        s.last_rx = now;
        s.target_last_rx[t] = now;
    }
}

/// NS monitor validation: a Neighbor Advertisement from an `ns_ip6_target` to one of our
/// addresses (or to a multicast group) proves the path; a backup also takes the active
/// slave's solicitation for a target once the active slave has heard valid replies.
fn ns_validate(b: &mut Bond, i: SlaveIdx, f: &[u8], is_active: bool, now: Millis) {
    if b.opts.ns_ip6_targets.is_empty() {
        return;
    }
    let ours = |a: &std::net::Ipv6Addr| b.local_v6.contains(a) || a.is_multicast();
    let valid = match frame::parse_na(f) {
        Some(na) => b.opts.ns_ip6_targets.contains(&na.src) && ours(&na.dst),
        None if !is_active => {
            let active_heard = b.curr_active.is_some_and(|c| b.slaves[c].last_rx > b.slaves[c].last_link_up);
            active_heard && frame::is_ipv6_nd_ns_na(f) && ns_target_of(f).is_some_and(|t| b.opts.ns_ip6_targets.contains(&t))
                && frame::view::ipv6_addrs(f).is_some_and(|(src, _)| b.local_v6.contains(&src))
        }
        None => false,
    };
    if valid {
        b.slaves[i].last_rx = now;
    }
}

/// The target address of a Neighbor Solicitation (ICMPv6 type 135).
fn ns_target_of(f: &[u8]) -> Option<std::net::Ipv6Addr> {
    let m = frame::parse_eth(f)?;
    let h = f.get(m.l3_offset..m.l3_offset + 64)?;
    if h[40] != 135 {
        return None;
    }
    let mut a = [0u8; 16];
    a.copy_from_slice(&h[48..64]);
    Some(a.into())
}

/// The slave's receive time as arp_all_targets defines it.
fn rx_time(b: &Bond, i: SlaveIdx) -> Millis {
    let s = &b.slaves[i];
    let n = b.opts.arp_ip_targets.len();
    if b.opts.arp_all_targets == crate::options::ArpAllTargets::All && n > 0 && b.opts.arp_validate != crate::options::ArpValidate::None {
        s.target_last_rx[..n].iter().copied().min().unwrap_or(s.last_rx)
    } else {
        s.last_rx
    }
}

fn send_probes(b: &mut Bond, i: SlaveIdx, now: Millis) {
    let src = b.local_v4.first().copied().unwrap_or(Ipv4Addr::UNSPECIFIED);
    // For NS, a global address if the bond has one (the kernel picks the source by route).
    let src6 = b
        .local_v6
        .iter()
        .find(|a| (a.segments()[0] & 0xffc0) != 0xfe80)
        .or(b.local_v6.first())
        .copied()
        .unwrap_or(std::net::Ipv6Addr::UNSPECIFIED);
    let mac = b.slaves[i].cur_mac;
    let id = b.slaves[i].id;
    for &t in &b.opts.arp_ip_targets {
        b.actions.push_back(Action::SendFrame { slave: id, frame: frame::build::arp_request(mac, src, t, None) });
    }
    for &t in &b.opts.ns_ip6_targets {
        b.actions.push_back(Action::SendFrame { slave: id, frame: frame::build::neighbor_solicitation(mac, src6, t) });
    }
    b.slaves[i].last_tx = now;
}

fn set_link(b: &mut Bond, i: SlaveIdx, up: bool, now: Millis) {
    let mode = b.opts.mode;
    if up {
        b.slaves[i].link = LinkState::Up;
        b.slaves[i].last_link_up = now;
        if mode != Mode::ActiveBackup {
            b.set_slave_active(i);
        }
    } else {
        b.slaves[i].link = LinkState::Down;
        b.slaves[i].link_failure_count += 1;
        if mode == Mode::ActiveBackup {
            b.set_slave_inactive(i);
        }
    }
    let n = b.slaves[i].name.clone();
    let msg = if up { "link status definitely up" } else { "link status definitely down, disabling slave" };
    b.log(Level::Info, Some(&n), msg.into());
}

/// One ARP monitor interval. Returns whether a slave's link changed.
pub(crate) fn arpmon_tick(b: &mut Bond, now: Millis) -> bool {
    let iv = b.opts.arp_interval as u64;
    let missed = b.opts.arp_missed_max as u64;
    let mut changed = false;
    if b.opts.mode != Mode::ActiveBackup {
        for i in 0..b.slaves.len() {
            let (tx, rx) = (b.slaves[i].last_tx, rx_time(b, i));
            if b.slaves[i].link != LinkState::Up {
                if within(now, tx, 1, iv) && within(now, rx, 1, iv) {
                    set_link(b, i, true, now);
                    changed |= b.up_triggers_reselect(i);
                }
            } else if !within(now, tx, missed, iv) || !within(now, rx, missed, iv) {
                set_link(b, i, false, now);
                changed |= b.curr_active == Some(i);
            }
            // bond_slave_is_up: running and carrier ok.
            if b.slaves[i].obs.admin_up && b.slaves[i].obs.carrier {
                send_probes(b, i, now);
            }
        }
        return changed;
    }
    // Active-backup.
    for i in 0..b.slaves.len() {
        let rx = rx_time(b, i);
        let tx = b.slaves[i].last_tx;
        let s = &b.slaves[i];
        if s.link != LinkState::Up {
            if within(now, rx, 1, iv) {
                set_link(b, i, true, now);
                changed |= b.up_triggers_reselect(i);
            }
            continue;
        }
        // Grace period after coming up or becoming active.
        if within(now, s.last_link_up, 2, iv) {
            continue;
        }
        let down = if b.curr_active == Some(i) {
            !within(now, tx, missed, iv) || !within(now, rx, missed, iv)
        } else {
            b.arp_probe_rotor.is_none() && !within(now, rx, missed + 1, iv)
        };
        if down {
            set_link(b, i, false, now);
            // Only the active slave's failure calls for a new choice (bond_main.c: bond_find_best_slave).
            changed |= b.curr_active == Some(i);
        }
    }
    // Probes: on the active slave; without one, rotate a probing slave.
    match b.curr_active {
        Some(a) if b.slaves[a].link == LinkState::Up => {
            b.arp_probe_rotor = None;
            send_probes(b, a, now);
        }
        _ => {
            let n = b.slaves.len();
            if n > 0 {
                let next = b.arp_probe_rotor.map_or(0, |r| (r + 1) % n);
                b.arp_probe_rotor = Some(next);
                if b.slaves[next].obs.admin_up {
                    send_probes(b, next, now);
                }
            }
        }
    }
    changed
}

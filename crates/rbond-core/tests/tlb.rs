//! The balance-tlb / balance-alb transmit table (bond_alb.h constants, bond_alb.c: tlb_choose_channel), worked by hand.

use proptest::prelude::*;
use rbond_core::hash::xmit_hash;
use rbond_core::tlb::*;
use rbond_core::types::{MacAddr, XmitHashPolicy};

// ----- frame builders -------------------------------------------------------------------

const DST: [u8; 6] = [0x52, 0x54, 0x00, 0xab, 0xcd, 0xef];
const SRC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
const BCAST: [u8; 6] = [0xff; 6];

fn eth(dst: [u8; 6], ethertype: u16) -> Vec<u8> {
    let mut f = dst.to_vec();
    f.extend_from_slice(&SRC);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f
}

/// IPv4 with a 20-byte header, then `l4`.
fn ipv4(dst_mac: [u8; 6], src: [u8; 4], dst: [u8; 4], proto: u8, l4: &[u8]) -> Vec<u8> {
    let mut f = eth(dst_mac, 0x0800);
    let total = (20 + l4.len()) as u16;
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(l4);
    f
}

fn ports(sport: u16, dport: u16) -> Vec<u8> {
    let mut l4 = sport.to_be_bytes().to_vec();
    l4.extend_from_slice(&dport.to_be_bytes());
    l4.resize(20, 0);
    l4
}

/// The reference's worked example (bond_xmit_hash, worked by hand): 192.168.1.10:49152 → 192.168.1.20:80, TCP.
fn ref_tcp() -> Vec<u8> {
    ipv4(DST, [192, 168, 1, 10], [192, 168, 1, 20], 6, &ports(49152, 80))
}

fn ipv6(dst_mac: [u8; 6], src: [u8; 16], dst: [u8; 16], next: u8, l4: &[u8]) -> Vec<u8> {
    let mut f = eth(dst_mac, 0x86dd);
    f.extend_from_slice(&[0x60, 0, 0, 0]);
    f.extend_from_slice(&(l4.len() as u16).to_be_bytes());
    f.extend_from_slice(&[next, 255]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(l4);
    f
}

const V6_A: [u8; 16] = [0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const V6_B: [u8; 16] = [0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

fn slaves(spec: &[(u32, bool)]) -> Vec<TlbSlave> {
    spec.iter()
        .enumerate()
        .map(|(idx, &(speed_mbps, usable))| TlbSlave { idx, speed_mbps, usable })
        .collect()
}

// ----- the gap and its 32-bit wrap --------------------------------------------------------

#[test]
fn gap_wraps_at_32_bits_like_the_kernel() {
    // 10000 << 20 = 10 485 760 000 = 2 × 2^32 + 1 895 825 408.
    assert_eq!(compute_gap(10_000, 0), 1_895_825_408);
    // 2500 << 20 = 2 621 440 000 < 2^32: no wrap, so a 2.5G slave "outranks" a 10G one.
    assert_eq!(compute_gap(2_500, 0), 2_621_440_000);
    // 25000 << 20 = 26 214 400 000 = 6 × 2^32 + 444 596 224: below a 1G slave.
    assert_eq!(compute_gap(25_000, 0), 444_596_224);
    assert_eq!(compute_gap(1_000, 0), 1_048_576_000);
    assert_eq!(compute_gap(4_096, 0), 0);
    // load is bytes/s, × 8 to bits: 1000 B/s costs 8000.
    assert_eq!(compute_gap(1_000, 1_000), 1_048_576_000 - 8_000);
    // The load shift wraps too (u32 `load` in struct tlb_slave_info): 2^29 × 8 = 2^32 → 0.
    assert_eq!(compute_gap(1_000, 1 << 29), 1_048_576_000);
    // And can exceed the capacity: a negative gap.
    assert_eq!(compute_gap(100, 20_000_000), 104_857_600 - 160_000_000);
}

#[test]
fn ten_gig_loses_to_two_and_a_half_gig_at_equal_load() {
    let s = slaves(&[(10_000, true), (2_500, true)]);
    let mut t = TxTable::new();
    // Both loads 0: gaps 1 895 825 408 (10G) vs 2 621 440 000 (2.5G) → slave 1.
    assert_eq!(t.least_loaded(&s), Some(1));
    assert_eq!(t.choose(7, 100, &s), Some(1));
    // Same with equal non-zero loads: the 8×load terms cancel out. Entries 1 and 2 both
    // carried 1 000 000 B → history 100 001.
    let mut t = TxTable::new();
    give_history(&mut t, &[(1, 1_000_000), (2, 1_000_000)], &s);
    // Put entry 1 on the 10G slave while the 2.5G one is briefly unusable...
    let only_10g = slaves(&[(10_000, true), (2_500, false)]);
    assert_eq!(t.choose(1, 1, &only_10g), Some(0));
    // ...then entry 2: gaps 1 895 825 408 − 800 008 (10G) vs 2 621 440 000 (2.5G) → 2.5G.
    assert_eq!(t.choose(2, 1, &s), Some(1));
    assert_eq!((t.slave_load(0), t.slave_load(1)), (100_001, 100_001));
    // Equal loads: 1 895 025 400 vs 2 620 639 992 → the 2.5G slave again.
    assert_eq!(compute_gap(10_000, 100_001), 1_895_025_400);
    assert_eq!(compute_gap(2_500, 100_001), 2_620_639_992);
    assert_eq!(t.choose(3, 1, &s), Some(1));
}

/// Sends `bytes` through each listed entry, then rebalances, so each entry ends with
/// `load_history = 1 + bytes / 10` and every slave with load 0.
fn give_history(t: &mut TxTable, per_entry: &[(u8, usize)], s: &[TlbSlave]) {
    for &(i, bytes) in per_entry {
        t.choose(i, bytes, s).expect("a usable slave");
    }
    t.rebalance(None);
    for &(i, bytes) in per_entry {
        assert_eq!(t.entry(i).load_history, 1 + (bytes as u32) / 10);
        assert_eq!(t.entry(i).tx_slave, None);
        assert_eq!(t.entry(i).tx_bytes, 0);
    }
    for x in s {
        assert_eq!(t.slave_load(x.idx), 0);
    }
}

#[test]
fn wrap_decides_until_the_two_and_a_half_gig_slave_is_loaded() {
    let s = slaves(&[(10_000, true), (2_500, true)]);
    let mut t = TxTable::new();
    // Entry 10 carries 1 000 000 000 bytes in 10 s → history 100 000 001 B/s.
    t.choose(10, 500_000_000, &s);
    t.choose(10, 500_000_000, &s);
    assert_eq!(t.entry(10).tx_bytes, 1_000_000_000);
    t.rebalance(None);
    assert_eq!(t.entry(10).load_history, 100_000_001);

    // Gaps at load 0: 10G 1 895 825 408, 2.5G 2 621 440 000 → entry 10 to the 2.5G slave.
    assert_eq!(t.choose(10, 60, &s), Some(1));
    assert_eq!(t.slave_load(1), 100_000_001);
    // 2.5G gap: 2 621 440 000 − 800 000 008 = 1 821 439 992 < 1 895 825 408 → the 10G slave.
    assert_eq!(compute_gap(2_500, 100_000_001), 1_821_439_992);
    assert_eq!(t.choose(11, 60, &s), Some(0));
    // Entry 11 had no history: the 10G load stays 0, so it keeps winning.
    assert_eq!(t.slave_load(0), 0);
    assert_eq!(t.choose(12, 60, &s), Some(0));
}

// ----- load accumulation and the rebalance ------------------------------------------------

#[test]
fn fresh_entries_have_no_history_so_first_slave_takes_all() {
    // tlb_initialize leaves load_history 0: until the first rebalance, assigning an entry
    // adds nothing to the load, and the first of equal slaves wins every tie.
    let s = slaves(&[(1_000, true), (1_000, true), (1_000, true)]);
    let mut t = TxTable::new();
    for i in 0..=255u8 {
        assert_eq!(t.choose(i, 1_500, &s), Some(0));
    }
    assert_eq!(t.slave_load(0), 0);
    assert_eq!(t.assigned_count(0), 256);
    assert_eq!(t.entry(200).tx_bytes, 1_500);
    // An assigned entry keeps its slave and accumulates bytes.
    assert_eq!(t.choose(200, 500, &s), Some(0));
    assert_eq!(t.entry(200).tx_bytes, 2_000);
}

#[test]
fn rebalance_uses_history_to_spread_entries() {
    let s = slaves(&[(1_000, true), (1_000, true)]);
    let mut t = TxTable::new();
    // One period: entry 1 sends 10 × 1000 B, entry 2 5 × 1000 B, entry 3 one 100 B frame.
    for _ in 0..10 {
        t.choose(1, 1_000, &s);
    }
    for _ in 0..5 {
        t.choose(2, 1_000, &s);
    }
    t.choose(3, 100, &s);
    assert_eq!(t.assigned_count(0), 3);
    assert!(!t.tick(0, None)); // starts the 10 s period
    assert!(!t.tick(9_999, None));
    assert!(t.tick(10_000, None));
    // history = 1 + tx_bytes / 10
    assert_eq!(t.entry(1).load_history, 1_001);
    assert_eq!(t.entry(2).load_history, 501);
    assert_eq!(t.entry(3).load_history, 11);
    assert_eq!(t.assigned_count(0), 0);

    // Entry 1: equal gaps → slave 0, load 1001.
    assert_eq!(t.choose(1, 64, &s), Some(0));
    assert_eq!(t.slave_load(0), 1_001);
    // Entry 2: gap 0 = 1 048 576 000 − 8 008 < gap 1 → slave 1, load 501.
    assert_eq!(t.choose(2, 64, &s), Some(1));
    assert_eq!(t.slave_load(1), 501);
    // Entry 3: gap 1 (− 4 008) still larger → slave 1, load 512.
    assert_eq!(t.choose(3, 64, &s), Some(1));
    assert_eq!(t.slave_load(1), 512);
    // Entry 4 never sent anything: no history, slave 1 (gap −4 096 vs −8 008), load unchanged.
    assert_eq!(t.choose(4, 64, &s), Some(1));
    assert_eq!(t.slave_load(1), 512);
    // tx_bytes restarted at the rebalance.
    assert_eq!(t.entry(1).tx_bytes, 64);
}

#[test]
fn active_slave_carries_unbalanced_load_after_rebalance() {
    let s = slaves(&[(1_000, true), (1_000, true)]);
    let mut t = TxTable::new();
    t.add_unbalanced(1_000_000);
    t.add_unbalanced(234);
    assert_eq!(t.unbalanced_load(), 1_000_234);
    t.rebalance(Some(1));
    // 1 000 234 / 10 = 100 023 B/s on the active slave; the counter restarts.
    assert_eq!(t.slave_load(1), 100_023);
    assert_eq!(t.slave_load(0), 0);
    assert_eq!(t.unbalanced_load(), 0);
    // So new entries avoid the active slave: gap 1 is lower by 800 184.
    assert_eq!(t.choose(9, 60, &s), Some(0));

    // Without an active slave the kernel never reaches the clearing line: the count stays.
    t.add_unbalanced(50);
    t.rebalance(None);
    assert_eq!(t.unbalanced_load(), 50);
    assert_eq!(t.slave_load(1), 0);
}

#[test]
fn tick_schedule_and_forced_rebalance() {
    let s = slaves(&[(1_000, true)]);
    let mut t = TxTable::new();
    assert_eq!(t.next_deadline(), 0); // never ticked: due now
    assert!(!t.tick(500, Some(0)));
    assert_eq!(t.next_deadline(), 10_500);
    t.choose(5, 1_000, &s);
    assert!(!t.tick(10_400, Some(0)));
    assert_eq!(t.entry(5).tx_slave, Some(0));
    assert!(t.tick(10_600, Some(0))); // first tick at or after the deadline
    assert_eq!(t.entry(5).tx_slave, None);
    assert_eq!(t.entry(5).load_history, 101);
    assert_eq!(t.next_deadline(), 20_600);

    // A slave added / link up orders a rebalance at the next tick, then 10 s from there.
    t.choose(5, 1_000, &s);
    t.force_rebalance();
    assert_eq!(t.next_deadline(), 0);
    assert!(t.tick(10_700, Some(0)));
    assert_eq!(t.entry(5).tx_slave, None);
    assert_eq!(t.next_deadline(), 20_700);
    assert!(!t.tick(20_699, Some(0)));
    assert!(t.tick(20_700, Some(0)));
}

#[test]
fn unassigned_entries_keep_their_history_across_rebalances() {
    // The kernel walks each slave's list of entries, so entries that are not assigned at
    // rebalance time keep their history (and any byte count left by a link down).
    let s = slaves(&[(1_000, true), (1_000, true)]);
    let mut t = TxTable::new();
    t.choose(1, 5_000, &s);
    t.rebalance(None);
    assert_eq!(t.entry(1).load_history, 501);
    // A whole idle period later, entry 1 still has history 501, not 1.
    t.rebalance(None);
    assert_eq!(t.entry(1).load_history, 501);
}

// ----- link down, failures, release, active change ---------------------------------------

#[test]
fn slave_down_unassigns_without_keeping_history() {
    let mut s = slaves(&[(1_000, true), (1_000, true)]);
    let mut t = TxTable::new();
    give_history(&mut t, &[(1, 1_000), (2, 2_000), (3, 3_000)], &s);
    // Histories 101, 201, 301. Entry 1 → s0 (tie); entry 2 → s1 (gap0 is lower by 808);
    // entry 3 → s0 (gap0 lower by 808, gap1 by 1608).
    assert_eq!(t.choose(1, 40, &s), Some(0));
    assert_eq!(t.choose(2, 40, &s), Some(1));
    assert_eq!(t.choose(3, 40, &s), Some(0));
    assert_eq!((t.slave_load(0), t.slave_load(1)), (402, 201));

    s[0].usable = false;
    t.slave_down(0);
    for i in [1u8, 3] {
        let e = t.entry(i);
        assert_eq!(e.tx_slave, None);
        assert_eq!(e.tx_bytes, 40, "bytes are not folded into history on link down");
    }
    assert_eq!(t.entry(1).load_history, 101);
    assert_eq!(t.entry(3).load_history, 301);
    assert_eq!(t.slave_load(0), 0);
    // Slave 1's entry is untouched.
    assert_eq!(t.entry(2).tx_slave, Some(1));
    assert_eq!(t.slave_load(1), 201);
    // The next frame of entry 1 moves to slave 1 and its byte count continues.
    assert_eq!(t.choose(1, 10, &s), Some(1));
    assert_eq!(t.entry(1).tx_bytes, 50);
    assert_eq!(t.slave_load(1), 302);
}

#[test]
fn chosen_slave_that_cannot_transmit_drops_and_clears() {
    let mut s = slaves(&[(1_000, true), (1_000, true)]);
    let mut t = TxTable::new();
    give_history(&mut t, &[(1, 100), (2, 100)], &s);
    assert_eq!(t.choose(1, 60, &s), Some(0));
    assert_eq!(t.choose(2, 60, &s), Some(1));
    // Slave 1 stops being able to transmit before the bond hears of a link change.
    s[1].usable = false;
    let chosen = t.choose(2, 60, &s);
    assert_eq!(chosen, Some(1), "an assigned entry keeps its slave");
    assert_eq!(t.xmit(chosen, 60, &s, Some(0), true), TxVerdict::Drop);
    assert_eq!(t.entry(2).tx_slave, None);
    assert_eq!(t.slave_load(1), 0);
    assert_eq!(t.entry(1).tx_slave, Some(0));
    // Next frame of entry 2 is re-assigned to slave 0 and sent with the bond MAC (active).
    let chosen = t.choose(2, 60, &s);
    assert_eq!(t.xmit(chosen, 60, &s, Some(0), true), TxVerdict::Send { slave: 0, rewrite_src: false });
}

#[test]
fn xmit_falls_back_to_active_and_rewrites_source_elsewhere() {
    let s = slaves(&[(1_000, true), (1_000, true)]);
    let mut t = TxTable::new();
    // Unbalanced: to the active slave, no rewrite, counted as unbalanced (dynamic lb only).
    assert_eq!(t.xmit(None, 300, &s, Some(1), true), TxVerdict::Send { slave: 1, rewrite_src: false });
    assert_eq!(t.unbalanced_load(), 300);
    assert_eq!(t.xmit(None, 300, &s, Some(1), false), TxVerdict::Send { slave: 1, rewrite_src: false });
    assert_eq!(t.unbalanced_load(), 300);
    // Balanced onto a non-active slave: the source MAC must become that slave's.
    assert_eq!(t.xmit(Some(0), 300, &s, Some(1), true), TxVerdict::Send { slave: 0, rewrite_src: true });
    // No active slave: unbalanced frames are dropped, but still counted.
    assert_eq!(t.xmit(None, 300, &s, None, true), TxVerdict::Drop);
    assert_eq!(t.unbalanced_load(), 600);
    assert!(needs_src_rewrite(0, Some(1)));
    assert!(needs_src_rewrite(0, None));
    assert!(!needs_src_rewrite(1, Some(1)));

    let mut f = ref_tcp();
    rewrite_src_mac(&mut f, MacAddr([2, 0, 0, 0, 0, 7]));
    assert_eq!(&f[6..12], &[2, 0, 0, 0, 0, 7]);
    assert_eq!(&f[0..6], &DST);
    let mut short = vec![0u8; 8];
    rewrite_src_mac(&mut short, MacAddr([2, 0, 0, 0, 0, 7]));
    assert_eq!(short, vec![0u8; 8]);
}

#[test]
fn release_shifts_later_slaves_down() {
    let s = slaves(&[(1_000, true), (1_000, true), (1_000, true)]);
    let mut t = TxTable::new();
    give_history(&mut t, &[(1, 100), (2, 200), (3, 300)], &s);
    // histories 11, 21, 31 → slaves 0, 1, 2 (each time the emptiest).
    assert_eq!(t.choose(1, 1, &s), Some(0));
    assert_eq!(t.choose(2, 1, &s), Some(1));
    assert_eq!(t.choose(3, 1, &s), Some(2));
    t.slave_released(1);
    assert_eq!(t.entry(1).tx_slave, Some(0));
    assert_eq!(t.entry(2).tx_slave, None);
    assert_eq!(t.entry(3).tx_slave, Some(1), "old slave 2 is now index 1");
    assert_eq!((t.slave_load(0), t.slave_load(1), t.slave_load(2)), (11, 31, 0));
}

#[test]
fn active_change_saves_history_of_both_slaves() {
    let s = slaves(&[(1_000, true), (1_000, true), (1_000, true)]);
    let mut t = TxTable::new();
    give_history(&mut t, &[(1, 100), (2, 200), (3, 300)], &s);
    t.choose(1, 1_000, &s); // → 0
    t.choose(2, 2_000, &s); // → 1
    t.choose(3, 3_000, &s); // → 2
    t.active_changed(Some(0), Some(2));
    assert_eq!(t.entry(1).tx_slave, None);
    assert_eq!(t.entry(1).load_history, 101);
    assert_eq!(t.entry(3).tx_slave, None);
    assert_eq!(t.entry(3).load_history, 301);
    // Slave 1 is not involved.
    assert_eq!(t.entry(2).tx_slave, Some(1));
    assert_eq!(t.entry(2).tx_bytes, 2_000);
    assert_eq!((t.slave_load(0), t.slave_load(1), t.slave_load(2)), (0, 21, 0));
}

// ----- classification -----------------------------------------------------------------------

#[test]
fn tlb_balances_unicast_ip_on_the_bond_hash() {
    let f = ref_tcp();
    // bond_xmit_hash, worked by hand: layer3+4 0x27272747, layer2+3 0x1E1E16AF, layer2 0x8B9 → low bytes.
    assert_eq!(xmit_hash(XmitHashPolicy::Layer34, &f), 0x2727_2747);
    assert_eq!(TxTable::balance_index(false, XmitHashPolicy::Layer34, &f), Some(0x47));
    assert_eq!(TxTable::balance_index(false, XmitHashPolicy::Layer23, &f), Some(0xaf));
    assert_eq!(TxTable::balance_index(false, XmitHashPolicy::Layer2, &f), Some(0xb9));
    // IPv6 unicast, not ND: balanced on the bond hash too.
    let v6 = ipv6(DST, V6_A, V6_B, 17, &ports(5353, 53));
    let h = xmit_hash(XmitHashPolicy::Layer34, &v6);
    assert_eq!(TxTable::balance_index(false, XmitHashPolicy::Layer34, &v6), Some((h & 0xff) as u8));
    // tlb does not look at the IPv6 source: a `::` source is still balanced.
    let dad_like = ipv6(DST, [0; 16], V6_B, 17, &ports(1, 2));
    assert!(TxTable::balance_index(false, XmitHashPolicy::Layer2, &dad_like).is_some());
}

#[test]
fn alb_balances_on_the_simple_hash_of_the_destination() {
    let f = ref_tcp();
    // 192.168.1.20: C0 ^ A8 ^ 01 ^ 14 = 0x7D, whatever the policy.
    for p in XmitHashPolicy::ALL {
        assert_eq!(TxTable::balance_index(true, p, &f), Some(0x7d));
    }
    // IPv6: XOR of the 16 bytes of 2001:2::2 = 20 ^ 01 ^ 00 ^ 02 ^ 02 = 0x21.
    let v6 = ipv6(DST, V6_A, V6_B, 6, &ports(40000, 22));
    assert_eq!(TxTable::balance_index(true, XmitHashPolicy::Layer2, &v6), Some(0x21));
}

#[test]
fn broadcast_is_never_balanced() {
    let f = ipv4(BCAST, [198, 18, 0, 1], [198, 18, 0, 255], 17, &ports(68, 67));
    assert_eq!(TxTable::balance_index(false, XmitHashPolicy::Layer34, &f), None);
    assert_eq!(TxTable::balance_index(true, XmitHashPolicy::Layer34, &f), None);
    // alb: limited broadcast IP to a unicast MAC is not balanced either.
    let f = ipv4(DST, [198, 18, 0, 1], [255; 4], 17, &ports(68, 67));
    assert_eq!(TxTable::balance_index(true, XmitHashPolicy::Layer34, &f), None);
    // ...while tlb only looks at the MAC.
    assert!(TxTable::balance_index(false, XmitHashPolicy::Layer34, &f).is_some());
}

#[test]
fn ipv4_multicast_is_balanced_by_alb_only() {
    let mcast_mac = [0x01, 0x00, 0x5e, 0x01, 0x02, 0x03];
    let f = ipv4(mcast_mac, [198, 18, 0, 1], [239, 1, 2, 3], 17, &ports(5000, 5001));
    assert_eq!(TxTable::balance_index(false, XmitHashPolicy::Layer34, &f), None);
    // 239.1.2.3: EF ^ 01 ^ 02 ^ 03 = 0xEF.
    assert_eq!(TxTable::balance_index(true, XmitHashPolicy::Layer34, &f), Some(0xef));
}

#[test]
fn igmp_is_not_balanced() {
    let mcast_mac = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x16];
    let report = ipv4(mcast_mac, [198, 18, 0, 1], [224, 0, 0, 22], 2, &[0x22, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(TxTable::balance_index(true, XmitHashPolicy::Layer2, &report), None);
    // Even to a unicast MAC (IGMPv3 reports are multicast, but the rule is the protocol).
    let uni = ipv4(DST, [198, 18, 0, 1], [198, 18, 0, 2], 2, &[0x11, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(TxTable::balance_index(true, XmitHashPolicy::Layer2, &uni), None);
    // Same header with UDP instead: balanced.
    let udp = ipv4(DST, [198, 18, 0, 1], [198, 18, 0, 2], 17, &ports(1, 2));
    assert!(TxTable::balance_index(true, XmitHashPolicy::Layer2, &udp).is_some());
}

#[test]
fn ipv6_neighbour_discovery_is_not_balanced() {
    let ns = |dst_mac| {
        let mut icmp = vec![135u8, 0, 0, 0, 0, 0, 0, 0];
        icmp.extend_from_slice(&V6_B);
        ipv6(dst_mac, V6_A, V6_B, 58, &icmp)
    };
    // Unicast NS (reachability probe) and NA.
    let f = ns(DST);
    assert_eq!(TxTable::balance_index(false, XmitHashPolicy::Layer34, &f), None);
    assert_eq!(TxTable::balance_index(true, XmitHashPolicy::Layer34, &f), None);
    let mut na = f.clone();
    na[14 + 40] = 136;
    assert_eq!(TxTable::balance_index(false, XmitHashPolicy::Layer34, &na), None);
    assert_eq!(TxTable::balance_index(true, XmitHashPolicy::Layer34, &na), None);
    // ICMPv6 echo request (128) is balanced.
    let mut echo = f.clone();
    echo[14 + 40] = 128;
    assert!(TxTable::balance_index(false, XmitHashPolicy::Layer34, &echo).is_some());
    assert!(TxTable::balance_index(true, XmitHashPolicy::Layer34, &echo).is_some());
    // An ICMPv6 frame cut inside its header counts as ND (alb_determine_nd's pull fails).
    assert_eq!(TxTable::balance_index(true, XmitHashPolicy::Layer34, &echo[..14 + 44]), None);
    assert_eq!(TxTable::balance_index(false, XmitHashPolicy::Layer34, &echo[..14 + 44]), None);
}

#[test]
fn alb_ipv6_exceptions() {
    // All-nodes MAC 33:33:00:00:00:01.
    let f = ipv6([0x33, 0x33, 0, 0, 0, 1], V6_A, [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 17, &ports(1, 2));
    assert_eq!(TxTable::balance_index(true, XmitHashPolicy::Layer2, &f), None);
    // Another IPv6 multicast MAC is balanced in alb (not in tlb).
    let g = ipv6([0x33, 0x33, 0, 0, 0, 0xfb], V6_A, [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfb], 17, &ports(5353, 5353));
    assert_eq!(TxTable::balance_index(true, XmitHashPolicy::Layer2, &g), Some(0xff ^ 0x02 ^ 0xfb));
    assert_eq!(TxTable::balance_index(false, XmitHashPolicy::Layer2, &g), None);
    // Source `::` (DAD): not balanced.
    let dad = ipv6(DST, [0; 16], V6_B, 17, &ports(1, 2));
    assert_eq!(TxTable::balance_index(true, XmitHashPolicy::Layer2, &dad), None);
    // Broadcast MAC.
    let b = ipv6(BCAST, V6_A, V6_B, 17, &ports(1, 2));
    assert_eq!(TxTable::balance_index(true, XmitHashPolicy::Layer2, &b), None);
}

#[test]
fn arp_and_other_ethertypes_are_not_balanced_here() {
    let mut arp = eth(BCAST, 0x0806);
    arp.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    arp.extend_from_slice(&SRC);
    arp.extend_from_slice(&[198, 18, 0, 1, 0, 0, 0, 0, 0, 0, 198, 18, 0, 2]);
    assert_eq!(TxTable::balance_index(false, XmitHashPolicy::Layer2, &arp), None);
    assert_eq!(TxTable::balance_index(true, XmitHashPolicy::Layer2, &arp), None);
    // A unicast ARP reply: still not balanced by the table (alb sends it through RLB).
    arp[..6].copy_from_slice(&DST);
    assert_eq!(TxTable::balance_index(false, XmitHashPolicy::Layer2, &arp), None);
    assert_eq!(TxTable::balance_index(true, XmitHashPolicy::Layer2, &arp), None);
    // LLDP-ish unicast of another EtherType.
    let mut other = eth(DST, 0x88cc);
    other.resize(60, 0);
    assert_eq!(TxTable::balance_index(false, XmitHashPolicy::Layer2, &other), None);
    assert_eq!(TxTable::balance_index(true, XmitHashPolicy::Layer2, &other), None);
    assert_eq!(TxTable::balance_index(true, XmitHashPolicy::Layer2, &[0u8; 10]), None);
}

#[test]
fn vlan_tag_is_metadata_for_classification() {
    let f = ref_tcp();
    let mut tagged = f[..12].to_vec();
    tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x64]);
    tagged.extend_from_slice(&f[12..]);
    assert_eq!(TxTable::balance_index(true, XmitHashPolicy::Layer34, &tagged), Some(0x7d));
    assert_eq!(
        TxTable::balance_index(false, XmitHashPolicy::Layer34, &tagged),
        TxTable::balance_index(false, XmitHashPolicy::Layer34, &f)
    );
}

#[test]
fn truncated_ipv4_header() {
    // 14 + 19 bytes: alb's 20-byte header pull fails → not balanced; tlb hashes regardless.
    let f = ref_tcp();
    let cut = &f[..14 + 19];
    assert_eq!(TxTable::balance_index(true, XmitHashPolicy::Layer34, cut), None);
    let h = xmit_hash(XmitHashPolicy::Layer34, cut);
    assert_eq!(TxTable::balance_index(false, XmitHashPolicy::Layer34, cut), Some((h & 0xff) as u8));
}

// ----- static lb and the whole transmit decision ---------------------------------------------

#[test]
fn static_choice_is_hash_mod_usable() {
    // bond_xmit_hash, worked by hand example 3: 0x27272747 → n=2: 1, n=3: 2.
    assert_eq!(static_choice(0x2727_2747, &[0, 1]), Some(1));
    assert_eq!(static_choice(0x2727_2747, &[0, 1, 2]), Some(2));
    // Indices into the usable array, not slave numbers.
    assert_eq!(static_choice(0x2727_2747, &[3, 5, 9]), Some(9));
    assert_eq!(static_choice(u32::MAX, &[0, 1, 2]), Some(0));
    assert_eq!(static_choice(7, &[]), None);
}

#[test]
fn transmit_static_and_dynamic() {
    let f = ref_tcp();
    // Slave 0 down: usable = [1, 2]; layer3+4 hash 0x27272747 mod 2 = 1 → slave 2.
    let s = slaves(&[(1_000, false), (1_000, true), (1_000, true)]);
    let mut t = TxTable::new();
    let v = t.transmit(false, XmitHashPolicy::Layer34, false, &f, &s, Some(1));
    assert_eq!(v, TxVerdict::Send { slave: 2, rewrite_src: true });
    // alb static also uses the bond hash, not the simple hash.
    let v = t.transmit(true, XmitHashPolicy::Layer34, false, &f, &s, Some(1));
    assert_eq!(v, TxVerdict::Send { slave: 2, rewrite_src: true });
    assert_eq!(t.assigned_count(2), 0, "static lb does not touch the table");
    assert_eq!(t.unbalanced_load(), 0);

    // Dynamic tlb: entry 0x47 goes to the first usable slave (all gaps equal), bytes counted.
    let v = t.transmit(false, XmitHashPolicy::Layer34, true, &f, &s, Some(1));
    assert_eq!(v, TxVerdict::Send { slave: 1, rewrite_src: false });
    assert_eq!(t.entry(0x47).tx_slave, Some(1));
    assert_eq!(t.entry(0x47).tx_bytes, f.len() as u32);
    // Dynamic alb: entry 0x7D.
    let v = t.transmit(true, XmitHashPolicy::Layer34, true, &f, &s, Some(2));
    assert_eq!(v, TxVerdict::Send { slave: 1, rewrite_src: true });
    assert_eq!(t.entry(0x7d).tx_slave, Some(1));
    // An unbalanced broadcast goes to the active slave and counts as unbalanced.
    let b = ipv4(BCAST, [198, 18, 0, 1], [198, 18, 0, 255], 17, &ports(68, 67));
    let v = t.transmit(false, XmitHashPolicy::Layer34, true, &b, &s, Some(2));
    assert_eq!(v, TxVerdict::Send { slave: 2, rewrite_src: false });
    assert_eq!(t.unbalanced_load(), b.len() as u32);
    // No usable slave at all: drop.
    let none = slaves(&[(1_000, false)]);
    let mut t = TxTable::new();
    assert_eq!(t.transmit(false, XmitHashPolicy::Layer34, true, &f, &none, None), TxVerdict::Drop);
    assert_eq!(t.entry(0x47).tx_slave, None);
}

// ----- properties -------------------------------------------------------------------------------

proptest! {
    /// With a single usable slave (that is also the active one) every frame goes there, and
    /// never needs a source rewrite, whatever the frames, sizes, modes, ticks and speeds.
    #[test]
    fn one_usable_slave_takes_everything(
        n in 1usize..6,
        pick in 0usize..6,
        speeds in proptest::collection::vec(0u32..100_000, 6),
        frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 1..60),
        alb in any::<bool>(),
        dynamic in any::<bool>(),
        policy in 0u64..6,
        ticks in proptest::collection::vec(0u64..25_000, 0..10),
    ) {
        let u = pick % n;
        let s: Vec<TlbSlave> = (0..n)
            .map(|i| TlbSlave { idx: i, speed_mbps: speeds[i], usable: i == u })
            .collect();
        let policy = XmitHashPolicy::from_num(policy).unwrap();
        let mut t = TxTable::new();
        let mut now = 0;
        let mut ticks = ticks.into_iter();
        for (k, f) in frames.iter().enumerate() {
            // Make most frames IPv4/IPv6 with a unicast destination so they really balance.
            let mut f = f.clone();
            if f.len() >= 14 && k % 3 != 0 {
                f[0] &= 0xfe;
                let et: u16 = if k % 2 == 0 { 0x0800 } else { 0x86dd };
                f[12..14].copy_from_slice(&et.to_be_bytes());
            }
            let v = t.transmit(alb, policy, dynamic, &f, &s, Some(u));
            prop_assert_eq!(v, TxVerdict::Send { slave: u, rewrite_src: false });
            if let Some(i) = TxTable::balance_index(alb, policy, &f) {
                prop_assert_eq!(t.choose(i, f.len(), &s), Some(u));
            }
            if k % 7 == 0 {
                if let Some(d) = ticks.next() {
                    now += d;
                    t.tick(now, Some(u));
                }
            }
        }
        for e in t.entries().iter() {
            prop_assert!(e.tx_slave.is_none() || e.tx_slave == Some(u));
        }
    }

    /// compute_gap equals the kernel's arithmetic done by hand in u64: both shifts mod 2^32.
    #[test]
    fn gap_matches_mod_2_32_arithmetic(speed in any::<u32>(), load in any::<u32>()) {
        let cap = (u64::from(speed) << 20) % (1u64 << 32);
        let used = (u64::from(load) << 3) % (1u64 << 32);
        prop_assert_eq!(compute_gap(speed, load), cap as i64 - used as i64);
    }

    /// The slave picked for a fresh entry is always a usable one with the maximal gap, and the
    /// first such in list order.
    #[test]
    fn least_loaded_is_first_maximal_gap(
        spec in proptest::collection::vec((prop_oneof![Just(1_000u32), Just(2_500), Just(10_000), Just(25_000), 0u32..50_000], any::<bool>()), 0..6),
        hist in proptest::collection::vec((any::<u8>(), 0usize..2_000_000), 0..20),
    ) {
        let s = slaves(&spec);
        let mut t = TxTable::new();
        let all_up: Vec<TlbSlave> = s.iter().map(|x| TlbSlave { usable: true, ..*x }).collect();
        if !all_up.is_empty() {
            for &(i, b) in &hist { t.choose(i, b, &all_up); }
            t.rebalance(None);
            for &(i, _) in &hist { t.choose(i, 1, &all_up); }
        }
        let got = t.least_loaded(&s);
        let gaps: Vec<(usize, i64)> = s.iter().filter(|x| x.usable)
            .map(|x| (x.idx, compute_gap(x.speed_mbps, t.slave_load(x.idx)))).collect();
        match gaps.iter().map(|g| g.1).max() {
            None => prop_assert_eq!(got, None),
            Some(m) => prop_assert_eq!(got, gaps.iter().find(|g| g.1 == m).map(|g| g.0)),
        }
    }
}

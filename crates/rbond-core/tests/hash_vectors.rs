//! Test vectors for `xmit_hash` (bond_main.c: bond_xmit_hash).
//!
//! Every expected value below is worked by hand from the bond_main.c: bond_xmit_hash formulas; the comment above
//! each assertion shows the inputs and intermediates so a reader can redo it:
//!
//! - addresses and port bytes are read as little-endian u32 words ("native u32");
//! - `fold(h)`: `h ^= h >> 16; h ^= h >> 8`;
//! - layer2 `d5 ^ s5 ^ etype`; layer2+3 `fold(l2 ^ dst32 ^ src32)`;
//!   layer3+4 `fold(P ^ dst32 ^ src32) >> 1`; vlan+srcmac `tci ^ (s0s1s2) ^ (s3s4s5)`.
//!
//! Common inputs of the hand-worked vectors (addresses from 198.18.0.0/15 and 2001:2::/48):
//!
//! | name | value | native u32 |
//! |---|---|---|
//! | DST MAC | 52:54:00:ab:cd:ef | d5 = 0xEF |
//! | SRC MAC | 52:54:00:12:34:56 | s5 = 0x56; d5^s5 = 0xB9 |
//! | A | 198.18.5.10 = C6 12 05 0A | 0x0A0512C6 |
//! | B | 198.19.200.7 = C6 13 C8 07 | 0x07C813C6; A^B = 0x0DCD0100 |
//! | C | 198.19.1.1 = C6 13 01 01 | 0x010113C6 |
//! | D | 198.19.2.2 = C6 13 02 02 | 0x020213C6; C^D = 0x03030000 |
//! | R | 198.18.0.254 = C6 12 00 FE | 0xFE0012C6; R^A = 0xF4050000 |
//! | X | 2001:2::1:a | words 0x02000120, 0, 0, 0x0A000100 → x32 0x08000020 |
//! | Y | 2001:2:0:5::c8:3 | words 0x02000120, 0x05000000, 0, 0x0300C800 → y32 0x0400C920; x^y = 0x0C00C900 |
//! | ports 40000→443 | bytes 9C 40 01 BB | 0xBB01409C |
//! | ports 33000→4789 | bytes 80 E8 12 B5 | 0xB512E880 |
//! | ports 5000→53 | bytes 13 88 00 35 | 0x35008813 |

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use rbond_core::frame::build;
use rbond_core::hash::{simple_hash, slave_index, xmit_hash};
use rbond_core::types::{MacAddr, XmitHashPolicy};
use XmitHashPolicy::{Encap23, Encap34, Layer2, Layer23, Layer34, VlanSrcMac};

// ------------------------------------------------------------------------------------------
// Frame construction helpers (written for the tests; checksums are left 0 because the hash
// never reads them).
// ------------------------------------------------------------------------------------------

const DST: [u8; 6] = [0x52, 0x54, 0x00, 0xab, 0xcd, 0xef];
const SRC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
const A: [u8; 4] = [198, 18, 5, 10];
const B: [u8; 4] = [198, 19, 200, 7];
const C: [u8; 4] = [198, 19, 1, 1];
const D: [u8; 4] = [198, 19, 2, 2];
const R: [u8; 4] = [198, 18, 0, 254];

fn x() -> Ipv6Addr {
    "2001:2::1:a".parse().unwrap()
}
fn y() -> Ipv6Addr {
    "2001:2:0:5::c8:3".parse().unwrap()
}

/// Ethernet frame; `tags` are in-band (TPID, TCI) pairs inserted after the source MAC.
fn eth_tags(dst: [u8; 6], src: [u8; 6], tags: &[(u16, u16)], etype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = dst.to_vec();
    f.extend_from_slice(&src);
    for (tpid, tci) in tags {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&tci.to_be_bytes());
    }
    f.extend_from_slice(&etype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn eth(etype: u16, payload: &[u8]) -> Vec<u8> {
    eth_tags(DST, SRC, &[], etype, payload)
}

/// IPv4 header (IHL 5) + payload. `frag` is the 16-bit flags/fragment-offset field.
fn ipv4_full(src: [u8; 4], dst: [u8; 4], proto: u8, frag: u16, id: u16, ttl: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&frag.to_be_bytes());
    h.extend_from_slice(&[ttl, proto, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    h.extend_from_slice(payload);
    h
}

fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, payload: &[u8]) -> Vec<u8> {
    ipv4_full(src, dst, proto, 0, 0x1234, 64, payload)
}

fn ipv6(src: Ipv6Addr, dst: Ipv6Addr, next: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    h.extend_from_slice(&[next, 64]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    h.extend_from_slice(payload);
    h
}

/// 20-byte TCP header (ACK), then `data`.
fn tcp(sport: u16, dport: u16, data: &[u8]) -> Vec<u8> {
    let mut t = sport.to_be_bytes().to_vec();
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0]);
    t.extend_from_slice(data);
    t
}

fn udp(sport: u16, dport: u16, data: &[u8]) -> Vec<u8> {
    let mut u = sport.to_be_bytes().to_vec();
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(data);
    u
}

/// ICMP/ICMPv6 header: type, code, checksum 0, then the 4-byte "rest" (id + seq for echo).
fn icmp(ty: u8, code: u8, rest: [u8; 4], data: &[u8]) -> Vec<u8> {
    let mut i = vec![ty, code, 0, 0];
    i.extend_from_slice(&rest);
    i.extend_from_slice(data);
    i
}

fn h(p: XmitHashPolicy, f: &[u8]) -> u32 {
    xmit_hash(p, f)
}

// ------------------------------------------------------------------------------------------
// bond_xmit_hash, worked by hand worked examples
// ------------------------------------------------------------------------------------------

/// bond_xmit_hash, worked by hand inputs: dst 52:54:00:ab:cd:ef, src 52:54:00:12:34:56, 192.168.1.10 → 192.168.1.20.
fn ref_v4(proto: u8, l4: &[u8]) -> Vec<u8> {
    eth(0x0800, &ipv4([192, 168, 1, 10], [192, 168, 1, 20], proto, l4))
}

#[test]
fn ref_example_1_layer2() {
    // 0xEF ^ 0x56 ^ 0x0800 = 0x8B9 = 2233; n=2 → 1, n=3 → 1.
    let f = ref_v4(6, &tcp(49152, 80, b""));
    assert_eq!(h(Layer2, &f), 0x8b9);
    assert_eq!(slave_index(h(Layer2, &f), 2), Some(1));
    assert_eq!(slave_index(h(Layer2, &f), 3), Some(1));
}

#[test]
fn ref_example_2_layer23() {
    // 0x8B9 ^ 0x1E000000 = 0x1E0008B9; ^>>16 → 0x1E0016B9; ^>>8 → 0x1E1E16AF = 505288367.
    let f = ref_v4(6, &tcp(49152, 80, b""));
    assert_eq!(h(Layer23, &f), 0x1e1e16af);
    assert_eq!(slave_index(0x1e1e16af, 2), Some(1));
    assert_eq!(slave_index(0x1e1e16af, 3), Some(2));
}

#[test]
fn ref_example_3_layer34_tcp() {
    // ports32 (C0 00 00 50) 0x500000C0; ^ 0x1E000000 = 0x4E0000C0; fold 0x4E4E4E8E; >>1
    // 0x27272747 = 656877383; n=2 → 1 (eth1 of [eth0, eth1]), n=3 → 2.
    let f = ref_v4(6, &tcp(49152, 80, b""));
    assert_eq!(h(Layer34, &f), 0x27272747);
    let usable = ["eth0", "eth1"];
    assert_eq!(usable[slave_index(h(Layer34, &f), usable.len()).unwrap()], "eth1");
    assert_eq!(slave_index(0x27272747, 3), Some(2));
    // encap3+4 walks the same headers: same value.
    assert_eq!(h(Encap34, &f), 0x27272747);
}

#[test]
fn ref_example_3prime_reply() {
    // Reply 80 → 49152 (addresses swapped, XOR unchanged): ports32 (00 50 C0 00) 0x00C05000
    // → 0x0F6F4747 = 258950983; n=2 → 1, n=3 → 1.
    let f = eth(0x0800, &ipv4([192, 168, 1, 20], [192, 168, 1, 10], 6, &tcp(80, 49152, b"")));
    assert_eq!(h(Layer34, &f), 0x0f6f4747);
    assert_eq!(slave_index(0x0f6f4747, 3), Some(1));
}

#[test]
fn ref_example_4_layer34_ipv6_udp() {
    // src32 0xB90D0120, dst32 0xBA0D0120; ports32 0x3500E914; pre 0x3600E914;
    // fold 0x3636DFCB; >>1 0x1B1B6FE5 = 454782949.
    let f = eth(
        0x86dd,
        &ipv6("2001:db8::1".parse().unwrap(), "2001:db8::2".parse().unwrap(), 17, &udp(5353, 53, b"q")),
    );
    assert_eq!(h(Layer34, &f), 0x1b1b6fe5);
    assert_eq!(slave_index(0x1b1b6fe5, 2), Some(1));
    assert_eq!(slave_index(0x1b1b6fe5, 3), Some(1));
}

#[test]
fn ref_example_5_layer34_icmp_echo() {
    // icmp32 = 8 | 0<<8 | 0x1234<<16 = 0x12340008; pre 0x0C340008; fold 0x0C383830;
    // >>1 0x061C1C18 = 102505496; n=2 → 0, n=3 → 2.
    let f = ref_v4(1, &icmp(8, 0, [0x12, 0x34, 0, 1], b"ping"));
    assert_eq!(h(Layer34, &f), 0x061c1c18);
    assert_eq!(slave_index(0x061c1c18, 2), Some(0));
    assert_eq!(slave_index(0x061c1c18, 3), Some(2));
}

#[test]
fn ref_example_6_vlan_srcmac() {
    // src 00:11:22:33:44:55, VID 100: 0x001122 ^ 0x334455 = 0x335577; ^ 0x64 = 0x335513.
    let src = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55];
    let f = eth_tags(DST, src, &[(0x8100, 100)], 0x0800, &ipv4(A, B, 6, &tcp(1, 2, b"")));
    assert_eq!(h(VlanSrcMac, &f), 0x335513);
    assert_eq!(slave_index(0x335513, 2), Some(1));
    assert_eq!(slave_index(0x335513, 3), Some(2));
    // 6': PCP 5 → TCI 0xA064: 0x335577 ^ 0xA064 = 0x33F513; n=3 → 0.
    let f = eth_tags(DST, src, &[(0x8100, 0xa064)], 0x0800, &ipv4(A, B, 6, &tcp(1, 2, b"")));
    assert_eq!(h(VlanSrcMac, &f), 0x33f513);
    assert_eq!(slave_index(0x33f513, 3), Some(0));
}

// ------------------------------------------------------------------------------------------
// layer2 (policy 0)
// ------------------------------------------------------------------------------------------

#[test]
fn layer2_vectors() {
    // IPv6: 0xB9 ^ 0x86DD = 0x8664 (not folded).
    let f6 = eth(0x86dd, &ipv6(x(), y(), 17, &udp(33000, 4789, b"")));
    assert_eq!(h(Layer2, &f6), 0x8664);

    // ARP request from the builder: dst ff:ff:ff:ff:ff:ff (d5 0xFF), s5 0x56:
    // 0xFF ^ 0x56 = 0xA9; ^ 0x0806 = 0x08AF.
    let arp = build::arp_request(MacAddr(SRC), Ipv4Addr::from(A), Ipv4Addr::from(B), None);
    assert_eq!(h(Layer2, &arp), 0x08af);

    // Metadata-tagged IPv4 (TCI 100): the hash sees the inner EtherType 0x0800 → 0x8B9.
    let tagged = eth_tags(DST, SRC, &[(0x8100, 100)], 0x0800, &ipv4(A, B, 6, &tcp(40000, 443, b"")));
    assert_eq!(h(Layer2, &tagged), 0x8b9);

    // Outer 802.1ad tag is in-band: etype 0x88A8; 0xB9 ^ 0x88A8 = 0x8811.
    let qinq =
        eth_tags(DST, SRC, &[(0x88a8, 10), (0x8100, 20)], 0x0800, &ipv4(A, B, 6, &tcp(40000, 443, b"")));
    assert_eq!(h(Layer2, &qinq), 0x8811);

    // LACPDU: d5 0x02 (01:80:c2:00:00:02) ^ s5 0x56 = 0x54; ^ 0x8809 = 0x885D.
    let lacp = eth_tags([0x01, 0x80, 0xc2, 0, 0, 2], SRC, &[], 0x8809, &[1, 1, 1, 0x14]);
    assert_eq!(h(Layer2, &lacp), 0x885d);

    // An IPv4 fragment: layer2 ignores L3 entirely → 0x8B9.
    let frag = eth(0x0800, &ipv4_full(A, B, 6, 0x2000, 7, 64, &tcp(40000, 443, b"")));
    assert_eq!(h(Layer2, &frag), 0x8b9);
}

// ------------------------------------------------------------------------------------------
// layer2+3 (policy 2)
// ------------------------------------------------------------------------------------------

#[test]
fn layer23_vectors() {
    // IPv4 A → B: 0x8B9 ^ 0x0DCD0100 = 0x0DCD09B9; ^>>16 (0x0DCD) → 0x0DCD0474;
    // ^>>8 (0x000DCD04) → 0x0DC0C970.
    let v4 = eth(0x0800, &ipv4(A, B, 6, &tcp(40000, 443, b"data")));
    assert_eq!(h(Layer23, &v4), 0x0dc0c970);
    // Direction-symmetric: B → A gives the same.
    let back = eth_tags(SRC, DST, &[], 0x0800, &ipv4(B, A, 6, &tcp(443, 40000, b"")));
    assert_eq!(h(Layer23, &back), 0x0dc0c970);

    // IPv4 fragment (MF set): layer2+3 never reads ports, same value 0x0DC0C970.
    let frag = eth(0x0800, &ipv4_full(A, B, 17, 0x2000, 9, 64, &udp(1, 2, &[0; 32])));
    assert_eq!(h(Layer23, &frag), 0x0dc0c970);

    // IPv6 X → Y: 0xB9 ^ 0x86DD = 0x8664; ^ x^y 0x0C00C900 = 0x0C004F64;
    // ^>>16 (0x0C00) → 0x0C004364; ^>>8 (0x000C0043) → 0x0C0C4327.
    let v6 = eth(0x86dd, &ipv6(x(), y(), 17, &udp(33000, 4789, b"")));
    assert_eq!(h(Layer23, &v6), 0x0c0c4327);

    // Metadata VLAN tag (TCI 0x2005): invisible to the hash → 0x0DC0C970.
    let tagged = eth_tags(DST, SRC, &[(0x8100, 0x2005)], 0x0800, &ipv4(A, B, 6, &tcp(40000, 443, b"")));
    assert_eq!(h(Layer23, &tagged), 0x0dc0c970);

    // ARP (non-IP): the layer2 formula, unfolded: 0x08AF (see layer2_vectors).
    let arp = build::arp_request(MacAddr(SRC), Ipv4Addr::from(A), Ipv4Addr::from(B), None);
    assert_eq!(h(Layer23, &arp), 0x08af);

    // ICMP error R → A (type 3 code 3) quoting A → B UDP: the quoted addresses are used,
    // so the error hashes like its flow: 0x0DC0C970. (With the outer R, A it would be
    // 0x8B9 ^ 0xF4050000 → fold 0xF4F1F940.)
    let quoted = ipv4(A, B, 17, &udp(5000, 53, b""));
    let err = eth(0x0800, &ipv4(R, A, 1, &icmp(3, 3, [0; 4], &quoted[..28])));
    assert_eq!(h(Layer23, &err), 0x0dc0c970);

    // Truncated IPv4 header (19 bytes): not parsed → layer2 0x8B9.
    let mut short = eth(0x0800, &ipv4(A, B, 6, b""));
    short.truncate(14 + 19);
    assert_eq!(h(Layer23, &short), 0x8b9);

    // In-band QinQ (outer 0x88A8): not IP → layer2 0x8811.
    let qinq =
        eth_tags(DST, SRC, &[(0x88a8, 10), (0x8100, 20)], 0x0800, &ipv4(A, B, 6, &tcp(40000, 443, b"")));
    assert_eq!(h(Layer23, &qinq), 0x8811);
}

// ------------------------------------------------------------------------------------------
// layer3+4 (policy 1)
// ------------------------------------------------------------------------------------------

#[test]
fn layer34_vectors() {
    // TCP A:40000 → B:443: P = 0xBB01409C; ^ 0x0DCD0100 = 0xB6CC419C;
    // ^>>16 (0xB6CC) → 0xB6CCF750; ^>>8 (0x00B6CCF7) → 0xB67A3BA7; >>1 → 0x5B3D1DD3.
    let t = eth(0x0800, &ipv4(A, B, 6, &tcp(40000, 443, b"GET /")));
    assert_eq!(h(Layer34, &t), 0x5b3d1dd3);

    // First fragment (MF, offset 0) of the same flow: no L4 → P = 0; pre 0x0DCD0100;
    // ^>>16 → 0x0DCD0CCD; ^>>8 → 0x0DC0C1C1; >>1 → 0x06E060E0.
    let first = eth(0x0800, &ipv4_full(A, B, 6, 0x2000, 77, 64, &tcp(40000, 443, &[0; 64])));
    assert_eq!(h(Layer34, &first), 0x06e060e0);
    // A later fragment (offset 185 × 8, last): same 0x06E060E0.
    let later = eth(0x0800, &ipv4_full(A, B, 6, 185, 77, 64, &[0xaa; 40]));
    assert_eq!(h(Layer34, &later), 0x06e060e0);

    // IPv6 UDP X:33000 → Y:4789: P = 0xB512E880; ^ 0x0C00C900 = 0xB9122180;
    // ^>>16 (0xB912) → 0xB9129892; ^>>8 (0x00B91298) → 0xB9AB8A0A; >>1 → 0x5CD5C505.
    let u6 = eth(0x86dd, &ipv6(x(), y(), 17, &udp(33000, 4789, b"vxlan")));
    assert_eq!(h(Layer34, &u6), 0x5cd5c505);

    // ICMP echo with identifier 0 → id 1: icmp32 = 8 | 1<<16 = 0x00010008;
    // ^ 0x0DCD0100 = 0x0DCC0108; ^>>16 → 0x0DCC0CC4; ^>>8 → 0x0DC1C0C8; >>1 → 0x06E0E064.
    let echo0 = eth(0x0800, &ipv4(A, B, 1, &icmp(8, 0, [0, 0, 0, 9], b"")));
    assert_eq!(h(Layer34, &echo0), 0x06e0e064);

    // ICMPv6 echo request (128), id 0x0102: icmp32 = 0x01020080; ^ 0x0C00C900 = 0x0D02C980;
    // ^>>16 → 0x0D02C482; ^>>8 → 0x0D0FC646; >>1 → 0x0687E323.
    let e6 = eth(0x86dd, &ipv6(x(), y(), 58, &icmp(128, 0, [0x01, 0x02, 0, 1], b"")));
    assert_eq!(h(Layer34, &e6), 0x0687e323);

    // ICMP error R → A, port unreachable, quoting A:5000 → B:53 UDP. Addresses and ports
    // come from the quote; the ICMP id is 0 (type 3 has none) so P = ports:
    // 0x35008813 ^ 0x0DCD0100 = 0x38CD8913; ^>>16 → 0x38CDB1DE; ^>>8 → 0x38F57C6F;
    // >>1 → 0x1C7ABE37.
    let quoted = ipv4(A, B, 17, &udp(5000, 53, b"dns?"));
    let err = eth(0x0800, &ipv4(R, A, 1, &icmp(3, 3, [0; 4], &quoted[..28])));
    assert_eq!(h(Layer34, &err), 0x1c7abe37);
    // ...the same value as the quoted datagram itself.
    assert_eq!(h(Layer34, &eth(0x0800, &quoted)), 0x1c7abe37);
    // A quote cut inside its IP header makes the parse fail → layer2 0x8B9.
    let cut = eth(0x0800, &ipv4(R, A, 1, &icmp(3, 3, [0; 4], &quoted[..12])));
    assert_eq!(h(Layer34, &cut), 0x8b9);

    // AH (51): the 4 bytes at L4 + 4 (the SPI 11 22 33 44 → 0x44332211);
    // ^ 0x0DCD0100 = 0x49FE2311; ^>>16 → 0x49FE6AEF; ^>>8 → 0x49B79485; >>1 → 0x24DBCA42.
    let ah = eth(0x0800, &ipv4(A, B, 51, &[6, 4, 0, 0, 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 1]));
    assert_eq!(h(Layer34, &ah), 0x24dbca42);

    // IPv6 hop-by-hop (next header 0) before TCP: not skipped, protocol 0 has no ports →
    // P = 0; pre 0x0C00C900; ^>>16 → 0x0C00C500; ^>>8 → 0x0C0CC5C5; >>1 → 0x060662E2.
    let mut hbh = vec![6, 0, 5, 2, 0, 0, 1, 0]; // next TCP, len 0 (8 bytes), router alert
    hbh.extend_from_slice(&tcp(40000, 443, b""));
    let v6h = eth(0x86dd, &ipv6(x(), y(), 0, &hbh));
    assert_eq!(h(Layer34, &v6h), 0x060662e2);

    // Metadata-tagged TCP A → B: same as untagged, 0x5B3D1DD3.
    let tagged = eth_tags(DST, SRC, &[(0x8100, 0x0fff)], 0x0800, &ipv4(A, B, 6, &tcp(40000, 443, b"")));
    assert_eq!(h(Layer34, &tagged), 0x5b3d1dd3);

    // ARP: layer2, 0x08AF.
    let arp = build::arp_request(MacAddr(SRC), Ipv4Addr::from(A), Ipv4Addr::from(B), None);
    assert_eq!(h(Layer34, &arp), 0x08af);

    // IP-in-IP A → B carrying C → D TCP: layer3+4 stops at the outer header (protocol 4 has
    // no ports): P = 0 → 0x06E060E0, as the fragment above.
    let ipip = eth(0x0800, &ipv4(A, B, 4, &ipv4(C, D, 6, &tcp(40000, 443, b""))));
    assert_eq!(h(Layer34, &ipip), 0x06e060e0);
}

// ------------------------------------------------------------------------------------------
// encap2+3 (policy 3)
// ------------------------------------------------------------------------------------------

/// GRE version 0 with the key flag (0x2000): flags, protocol, key.
fn gre_key(proto: u16, inner: &[u8]) -> Vec<u8> {
    let mut g = vec![0x20, 0x00];
    g.extend_from_slice(&proto.to_be_bytes());
    g.extend_from_slice(&[0, 0, 0x30, 0x39]);
    g.extend_from_slice(inner);
    g
}

#[test]
fn encap23_vectors() {
    // Plain IPv4 TCP: same as layer2+3, 0x0DC0C970.
    let v4 = eth(0x0800, &ipv4(A, B, 6, &tcp(40000, 443, b"")));
    assert_eq!(h(Encap23, &v4), 0x0dc0c970);

    // IP-in-IP, outer A → B, inner C → D: the inner addresses win.
    // 0x8B9 ^ 0x03030000 = 0x030308B9; ^>>16 (0x0303) → 0x03030BBA; ^>>8 (0x0003030B) →
    // 0x030008B1.
    let ipip = eth(0x0800, &ipv4(A, B, 4, &ipv4(C, D, 6, &tcp(40000, 443, b""))));
    assert_eq!(h(Encap23, &ipip), 0x030008b1);

    // GRE (key present) A → B carrying IPv4 C → D: 0x030008B1 as well.
    let gre = eth(0x0800, &ipv4(A, B, 47, &gre_key(0x0800, &ipv4(C, D, 17, &udp(1, 2, b"")))));
    assert_eq!(h(Encap23, &gre), 0x030008b1);
    // Ethernet-over-GRE (0x6558), inner Ethernet then IPv4 C → D: same addresses.
    let inner_eth = eth_tags([2; 6], [4; 6], &[], 0x0800, &ipv4(C, D, 17, &udp(1, 2, b"")));
    let teb = eth(0x0800, &ipv4(A, B, 47, &gre_key(0x6558, &inner_eth)));
    assert_eq!(h(Encap23, &teb), 0x030008b1);

    // In-band QinQ 0x88A8 (VID 10) / 0x8100 (VID 20) / IPv4 A → B: the dissector walks both
    // tags, but the layer2 term uses the frame's EtherType field, 0x88A8:
    // 0xB9 ^ 0x88A8 = 0x8811; ^ 0x0DCD0100 = 0x0DCD8911; ^>>16 → 0x0DCD84DC;
    // ^>>8 (0x000DCD84) → 0x0DC04958.
    let qinq =
        eth_tags(DST, SRC, &[(0x88a8, 10), (0x8100, 20)], 0x0800, &ipv4(A, B, 6, &tcp(40000, 443, b"")));
    assert_eq!(h(Encap23, &qinq), 0x0dc04958);

    // ARP: the dissector returns success with no addresses (no ARP key in the bonding key
    // set), so the layer2 value gets folded: 0x08AF ^ 0 ^ (0x08AF >> 8 = 0x08) = 0x08A7.
    let arp = build::arp_request(MacAddr(SRC), Ipv4Addr::from(A), Ipv4Addr::from(B), None);
    assert_eq!(h(Encap23, &arp), 0x08a7);

    // IPv6 X → Y behind a fragment header: addresses only → 0x0C0C4327 (as layer2+3).
    let mut fh = vec![17, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef]; // next UDP, offset 0, M=1
    fh.extend_from_slice(&udp(33000, 4789, &[0; 16]));
    let v6f = eth(0x86dd, &ipv6(x(), y(), 44, &fh));
    assert_eq!(h(Encap23, &v6f), 0x0c0c4327);

    // ICMP error R → A: the dissector does not re-read the quote: outer R, A.
    // 0x8B9 ^ 0xF4050000 = 0xF40508B9; ^>>16 (0xF405) → 0xF405FCBC;
    // ^>>8 (0x00F405FC) → 0xF4F1F940.
    let quoted = ipv4(A, B, 17, &udp(5000, 53, b""));
    let err = eth(0x0800, &ipv4(R, A, 1, &icmp(3, 3, [0; 4], &quoted[..28])));
    assert_eq!(h(Encap23, &err), 0xf4f1f940);

    // LLDP (0x88CC) to 01:80:c2:00:00:0e: unknown to the dissector → layer2, unfolded:
    // 0x0E ^ 0x56 = 0x58; ^ 0x88CC = 0x8894.
    let lldp = eth_tags([0x01, 0x80, 0xc2, 0, 0, 0x0e], SRC, &[], 0x88cc, &[2, 7, 4]);
    assert_eq!(h(Encap23, &lldp), 0x8894);
}

// ------------------------------------------------------------------------------------------
// encap3+4 (policy 4)
// ------------------------------------------------------------------------------------------

#[test]
fn encap34_vectors() {
    // Plain TCP A:40000 → B:443: same as layer3+4, 0x5B3D1DD3.
    let t = eth(0x0800, &ipv4(A, B, 6, &tcp(40000, 443, b"")));
    assert_eq!(h(Encap34, &t), 0x5b3d1dd3);

    // IP-in-IP carrying C:40000 → D:443 TCP: inner addresses and ports.
    // 0xBB01409C ^ 0x03030000 = 0xB802409C; ^>>16 (0xB802) → 0xB802F89E;
    // ^>>8 (0x00B802F8) → 0xB8BAFA66; >>1 → 0x5C5D7D33.
    let ipip = eth(0x0800, &ipv4(A, B, 4, &ipv4(C, D, 6, &tcp(40000, 443, b""))));
    assert_eq!(h(Encap34, &ipip), 0x5c5d7d33);

    // GRE (key present) carrying C:33000 → D:4789 UDP:
    // 0xB512E880 ^ 0x03030000 = 0xB611E880; ^>>16 (0xB611) → 0xB6115E91;
    // ^>>8 (0x00B6115E) → 0xB6A74FCF; >>1 → 0x5B53A7E7.
    let gre = eth(0x0800, &ipv4(A, B, 47, &gre_key(0x0800, &ipv4(C, D, 17, &udp(33000, 4789, b"")))));
    assert_eq!(h(Encap34, &gre), 0x5b53a7e7);

    // IPv6 hop-by-hop then TCP X:40000 → Y:443: the dissector skips the option header.
    // 0xBB01409C ^ 0x0C00C900 = 0xB701899C; ^>>16 (0xB701) → 0xB7013E9D;
    // ^>>8 (0x00B7013E) → 0xB7B63FA3; >>1 → 0x5BDB1FD1. (layer3+4 gives 0x060662E2.)
    let mut hbh = vec![6, 0, 5, 2, 0, 0, 1, 0];
    hbh.extend_from_slice(&tcp(40000, 443, b""));
    let v6h = eth(0x86dd, &ipv6(x(), y(), 0, &hbh));
    assert_eq!(h(Encap34, &v6h), 0x5bdb1fd1);
    assert_eq!(h(Layer34, &v6h), 0x060662e2);

    // IPv6 fragment header (first fragment): addresses only: P = 0 → 0x060662E2.
    let mut fh = vec![17, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef];
    fh.extend_from_slice(&udp(33000, 4789, &[0; 16]));
    let v6f = eth(0x86dd, &ipv6(x(), y(), 44, &fh));
    assert_eq!(h(Encap34, &v6f), 0x060662e2);

    // ICMP error R → A: no re-read, the type has no id → P = ports(ICMP) = 0;
    // 0xF4050000; ^>>16 → 0xF405F405; ^>>8 → 0xF4F1F1F1; >>1 → 0x7A78F8F8.
    let quoted = ipv4(A, B, 17, &udp(5000, 53, b""));
    let err = eth(0x0800, &ipv4(R, A, 1, &icmp(3, 3, [0; 4], &quoted[..28])));
    assert_eq!(h(Encap34, &err), 0x7a78f8f8);

    // ARP: success with empty keys → P = 0, addresses 0 → 0.
    let arp = build::arp_request(MacAddr(SRC), Ipv4Addr::from(A), Ipv4Addr::from(B), None);
    assert_eq!(h(Encap34, &arp), 0);

    // In-band QinQ TCP A → B: tags walked, then as plain TCP: 0x5B3D1DD3.
    let qinq =
        eth_tags(DST, SRC, &[(0x88a8, 10), (0x8100, 20)], 0x0800, &ipv4(A, B, 6, &tcp(40000, 443, b"")));
    assert_eq!(h(Encap34, &qinq), 0x5b3d1dd3);

    // ICMP echo id 0x1234 A → B: icmp32 0x12340008 ^ 0x0DCD0100 = 0x1FF90108;
    // ^>>16 (0x1FF9) → 0x1FF91EF1; ^>>8 (0x001FF91E) → 0x1FE6E7EF; >>1 → 0x0FF373F7.
    let echo = eth(0x0800, &ipv4(A, B, 1, &icmp(8, 0, [0x12, 0x34, 0, 1], b"")));
    assert_eq!(h(Encap34, &echo), 0x0ff373f7);
    assert_eq!(h(Layer34, &echo), 0x0ff373f7);
}

/// Less common dissector paths (encap policies only).
#[test]
fn encap_dissector_branches() {
    // GRE with the routing bit (0x4000): the dissector stops at the outer header, so the
    // outer A → B count: 0x0DC0C970 (the layer2+3 value of A → B).
    let mut routed = vec![0x40, 0x00, 0x08, 0x00, 0, 0, 0, 0];
    routed.extend_from_slice(&ipv4(C, D, 6, &tcp(1, 2, b"")));
    let f = eth(0x0800, &ipv4(A, B, 47, &routed));
    assert_eq!(h(Encap23, &f), 0x0dc0c970);

    // PPTP (GRE version 1, flags key+seq 0x3001, protocol 0x880B): key 4 bytes, sequence 4
    // bytes, PPP header ff 03 00 21 (IPv4), then C → D: inner addresses, 0x030008B1.
    let mut pptp = vec![0x30, 0x01, 0x88, 0x0b, 0, 20, 0, 7, 0, 0, 0, 1, 0xff, 0x03, 0x00, 0x21];
    pptp.extend_from_slice(&ipv4(C, D, 17, &udp(1, 2, b"")));
    let f = eth(0x0800, &ipv4(A, B, 47, &pptp));
    assert_eq!(h(Encap23, &f), 0x030008b1);

    // MPLS (0x8847): success without addresses. encap2+3 = fold(0xB9 ^ 0x8847 = 0x88FE)
    // = 0x88FE ^ 0x88 = 0x8876; encap3+4 = 0.
    let f = eth(0x8847, &[0, 0, 0x11, 0xff, 0x45, 0, 0, 20]);
    assert_eq!(h(Encap23, &f), 0x8876);
    assert_eq!(h(Encap34, &f), 0);
    assert_eq!(h(Layer23, &f), 0x88fe); // layer2+3: non-IP → layer2, unfolded

    // FCoE (0x8906) with its 38-byte header present: success without addresses,
    // fold(0xB9 ^ 0x8906 = 0x89BF) = 0x89BF ^ 0x89 = 0x8936; shorter: "bad" → 0x89BF.
    assert_eq!(h(Encap23, &eth(0x8906, &[0; 38])), 0x8936);
    assert_eq!(h(Encap23, &eth(0x8906, &[0; 37])), 0x89bf);

    // IHL < 5: the dissector refuses the header (→ layer2 0x8B9) where layer2+3, which
    // trusts IHL, still hashes the addresses (0x0DC0C970).
    let mut bad_ihl = ipv4(A, B, 6, &tcp(1, 2, b""));
    bad_ihl[0] = 0x44;
    let f = eth(0x0800, &bad_ihl);
    assert_eq!(h(Encap23, &f), 0x8b9);
    assert_eq!(h(Layer23, &f), 0x0dc0c970);

    // The 15-header limit. A metadata tag followed by n in-band 0x8100 tags: the first
    // dissector step takes the metadata tag (no bytes), each later step one in-band tag, and
    // every step counts. n = 14: 15 steps, allowed, so IPv4 is parsed; the layer2 term uses
    // EtherType 0x8100 (what follows the metadata tag): 0xB9 ^ 0x8100 = 0x81B9;
    // ^ 0x0DCD0100 = 0x0DCD80B9; ^>>16 → 0x0DCD8D74; ^>>8 → 0x0DC040F9.
    // n = 15: the 16th step is refused, the walk ends "good" before IPv4 without
    // addresses: fold(0x81B9) = 0x81B9 ^ 0x81 = 0x8138.
    let stacked = |n: usize| {
        let tags: Vec<(u16, u16)> = std::iter::repeat_n((0x8100, 5), 1 + n).collect();
        eth_tags(DST, SRC, &tags, 0x0800, &ipv4(A, B, 6, &tcp(1, 2, b"")))
    };
    assert_eq!(h(Encap23, &stacked(14)), 0x0dc040f9);
    assert_eq!(h(Encap23, &stacked(15)), 0x8138);
}

// ------------------------------------------------------------------------------------------
// vlan+srcmac (policy 5)
// ------------------------------------------------------------------------------------------

#[test]
fn vlan_srcmac_vectors() {
    // SRC 52:54:00:12:34:56: vendor 0x525400 ^ dev 0x123456 = 0x406056.
    let v4 = eth(0x0800, &ipv4(A, B, 6, &tcp(40000, 443, b"")));
    assert_eq!(h(VlanSrcMac, &v4), 0x406056);

    // L3 does not matter: IPv6 and ARP from the same MAC, untagged → 0x406056.
    let v6 = eth(0x86dd, &ipv6(x(), y(), 17, &udp(1, 2, b"")));
    assert_eq!(h(VlanSrcMac, &v6), 0x406056);
    let arp = build::arp_request(MacAddr(SRC), Ipv4Addr::from(A), Ipv4Addr::from(B), None);
    assert_eq!(h(VlanSrcMac, &arp), 0x406056);

    // TCI 0x0064 (VID 100): 0x406056 ^ 0x64 = 0x406032.
    let t100 = eth_tags(DST, SRC, &[(0x8100, 0x0064)], 0x0800, &ipv4(A, B, 6, &tcp(1, 2, b"")));
    assert_eq!(h(VlanSrcMac, &t100), 0x406032);

    // TCI 0xFFFF (PCP 7, DEI 1, VID 4095): 0x6056 ^ 0xFFFF = 0x9FA9 → 0x409FA9.
    let tff = eth_tags(DST, SRC, &[(0x8100, 0xffff)], 0x0800, &ipv4(A, B, 6, &tcp(1, 2, b"")));
    assert_eq!(h(VlanSrcMac, &tff), 0x409fa9);

    // TCI 0xE00A (PCP 7, VID 10): 0x6056 ^ 0xE00A = 0x805C → 0x40805C.
    let te = eth_tags(DST, SRC, &[(0x8100, 0xe00a)], 0x86dd, &ipv6(x(), y(), 17, &udp(1, 2, b"")));
    assert_eq!(h(VlanSrcMac, &te), 0x40805c);

    // Outer 802.1ad tag is not metadata: TCI 0 → 0x406056.
    let qinq = eth_tags(DST, SRC, &[(0x88a8, 10), (0x8100, 20)], 0x0800, &ipv4(A, B, 6, &tcp(1, 2, b"")));
    assert_eq!(h(VlanSrcMac, &qinq), 0x406056);

    // Another MAC 02:00:5e:10:20:30 with TCI 0x0FFF: 0x02005E ^ 0x102030 = 0x12206E;
    // ^ 0x0FFF = 0x122F91.
    let other = eth_tags(DST, [0x02, 0x00, 0x5e, 0x10, 0x20, 0x30], &[(0x8100, 0x0fff)], 0x0806, &[0; 28]);
    assert_eq!(h(VlanSrcMac, &other), 0x122f91);
}

#[test]
fn simple_hash_of_addresses() {
    // alb balances IPv4 by the simple hash of the destination: B = C6 13 C8 07:
    // 0xC6 ^ 0x13 = 0xD5; ^ 0xC8 = 0x1D; ^ 0x07 = 0x1A.
    assert_eq!(simple_hash(&B), 0x1a);
    // IPv6 Y: the 16 bytes 20 01 00 02 00 00 00 05 00 00 00 00 00 c8 00 03:
    // 0x20 ^ 0x01 ^ 0x02 ^ 0x05 ^ 0xC8 ^ 0x03 = 0x21 ^ 0x02 = 0x23; ^ 0x05 = 0x26;
    // ^ 0xC8 = 0xEE; ^ 0x03 = 0xED.
    assert_eq!(simple_hash(&y().octets()), 0xed);
}

// ------------------------------------------------------------------------------------------
// Properties
// ------------------------------------------------------------------------------------------

/// A frame of one flow; the fields that do not identify the flow vary freely.
#[derive(Clone, Debug)]
struct FlowSpec {
    v6: bool,
    proto: u8,
    src4: [u8; 4],
    dst4: [u8; 4],
    src6: [u8; 16],
    dst6: [u8; 16],
    sport: u16,
    dport: u16,
    vlan: Option<u16>,
}

fn build_frame(f: &FlowSpec, id: u16, ttl: u8, payload: &[u8], reverse: bool) -> Vec<u8> {
    let (mac_d, mac_s) = if reverse { (SRC, DST) } else { (DST, SRC) };
    let (sp, dp) = if reverse { (f.dport, f.sport) } else { (f.sport, f.dport) };
    let l4 = if f.proto == 6 { tcp(sp, dp, payload) } else { udp(sp, dp, payload) };
    let tags: Vec<(u16, u16)> = f.vlan.map(|t| (0x8100, t)).into_iter().collect();
    if f.v6 {
        let (s, d) = if reverse { (f.dst6, f.src6) } else { (f.src6, f.dst6) };
        eth_tags(mac_d, mac_s, &tags, 0x86dd, &ipv6(Ipv6Addr::from(s), Ipv6Addr::from(d), f.proto, &l4))
    } else {
        let (s, d) = if reverse { (f.dst4, f.src4) } else { (f.src4, f.dst4) };
        eth_tags(mac_d, mac_s, &tags, 0x0800, &ipv4_full(s, d, f.proto, 0, id, ttl, &l4))
    }
}

fn flow_spec() -> impl Strategy<Value = FlowSpec> {
    (
        any::<bool>(),
        prop_oneof![Just(6u8), Just(17u8)],
        any::<[u8; 4]>(),
        any::<[u8; 4]>(),
        any::<[u8; 16]>(),
        any::<[u8; 16]>(),
        any::<u16>(),
        any::<u16>(),
        proptest::option::of(any::<u16>()),
    )
        .prop_map(|(v6, proto, src4, dst4, src6, dst6, sport, dport, vlan)| FlowSpec {
            v6,
            proto,
            src4,
            dst4,
            src6,
            dst6,
            sport,
            dport,
            vlan,
        })
}

proptest! {
    /// Two frames of the same flow (different payloads, IP IDs, TTLs) hash the same under
    /// every policy, so they go to the same slave for every bond size.
    #[test]
    fn same_flow_same_slave(
        f in flow_spec(),
        p1 in proptest::collection::vec(any::<u8>(), 0..200),
        p2 in proptest::collection::vec(any::<u8>(), 0..200),
        id1 in any::<u16>(), id2 in any::<u16>(),
        ttl1 in any::<u8>(), ttl2 in any::<u8>(),
        n in 1usize..9,
    ) {
        let a = build_frame(&f, id1, ttl1, &p1, false);
        let b = build_frame(&f, id2, ttl2, &p2, false);
        for pol in XmitHashPolicy::ALL {
            let (ha, hb) = (xmit_hash(pol, &a), xmit_hash(pol, &b));
            prop_assert_eq!(ha, hb, "policy {}", pol.name());
            prop_assert_eq!(slave_index(ha, n), slave_index(hb, n));
            prop_assert!(slave_index(ha, n).unwrap() < n);
        }
    }

    /// layer2 and layer2+3 are direction-symmetric (bond_main.c: bond_xmit_hash): the reply hashes like the request.
    #[test]
    fn l2_and_l23_are_symmetric(f in flow_spec()) {
        let fwd = build_frame(&f, 1, 64, b"req", false);
        let rev = build_frame(&f, 2, 64, b"reply", true);
        prop_assert_eq!(xmit_hash(Layer2, &fwd), xmit_hash(Layer2, &rev));
        prop_assert_eq!(xmit_hash(Layer23, &fwd), xmit_hash(Layer23, &rev));
        prop_assert_eq!(xmit_hash(Encap23, &fwd), xmit_hash(Encap23, &rev));
    }

    /// A metadata (outer 0x8100) tag is invisible to every policy except vlan+srcmac, where it
    /// is XORed in whole.
    #[test]
    fn metadata_tag_only_changes_vlan_srcmac(mut f in flow_spec(), tci in any::<u16>()) {
        f.vlan = None;
        let plain = build_frame(&f, 1, 64, b"x", false);
        f.vlan = Some(tci);
        let tagged = build_frame(&f, 1, 64, b"x", false);
        for pol in XmitHashPolicy::ALL {
            let expect = if pol == VlanSrcMac {
                xmit_hash(pol, &plain) ^ u32::from(tci)
            } else {
                xmit_hash(pol, &plain)
            };
            prop_assert_eq!(xmit_hash(pol, &tagged), expect, "policy {}", pol.name());
        }
    }

    /// Arbitrary bytes never panic, and the L4 policies keep the top bit clear (>> 1).
    #[test]
    fn arbitrary_bytes_do_not_panic(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
        for pol in XmitHashPolicy::ALL {
            let _ = xmit_hash(pol, &bytes);
        }
        // Bytes 12..14 forced to IPv4 / IPv6 exercise the IP paths with garbage headers.
        for etype in [[0x08u8, 0x00], [0x86, 0xdd], [0x81, 0x00], [0x88, 0xa8]] {
            let mut b = bytes.clone();
            if b.len() >= 14 {
                b[12..14].copy_from_slice(&etype);
                for pol in XmitHashPolicy::ALL {
                    let v = xmit_hash(pol, &b);
                    if matches!(pol, Layer34 | Encap34) && b[12] != 0x88 {
                        // Either the L4 formula (top bit clear) or the layer2 fallback
                        // (at most 0xFFFF): both below 2^31.
                        prop_assert!(v < 0x8000_0000);
                    }
                }
            }
        }
    }
}

//! Builders for the control-plane frames the bond originates: ARP probes (bond_main.c: bond_ab_arp_inspect, bond_arp_rcv) and peer
//! notifications (bond_main.c: bond_should_notify_peers). These run a few times per second at most, so they allocate.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{ethertype, ipproto, ETH_ZLEN, IPV6_ALL_NODES_MAC};
use crate::types::MacAddr;

/// Appends the Ethernet header, with an in-band 802.1Q tag when `vlan_tci` is set (the
/// frame leaves on a slave, where the tag has to be in the bytes).
fn eth_header(f: &mut Vec<u8>, dst: [u8; 6], src: MacAddr, vlan_tci: Option<u16>, etype: u16) {
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src.0);
    if let Some(tci) = vlan_tci {
        f.extend_from_slice(&ethertype::VLAN.to_be_bytes());
        f.extend_from_slice(&tci.to_be_bytes());
    }
    f.extend_from_slice(&etype.to_be_bytes());
}

/// Zero-pads to the 60-byte Ethernet minimum (the FCS is the NIC's business).
fn pad(f: &mut Vec<u8>) {
    if f.len() < ETH_ZLEN {
        f.resize(ETH_ZLEN, 0);
    }
}

/// An ARP request as the ARP monitor sends it (bond_main.c: bond_ab_arp_inspect, bond_arp_rcv): broadcast destination, Ethernet source
/// and sender hardware address `src_mac`, target hardware address all-zero, optionally with
/// an in-band 802.1Q tag. Zero-padded to 60 bytes.
pub fn arp_request(
    src_mac: MacAddr,
    sender_ip: Ipv4Addr,
    target_ip: Ipv4Addr,
    vlan_tci: Option<u16>,
) -> Vec<u8> {
    let mut f = Vec::with_capacity(ETH_ZLEN + 4);
    eth_header(&mut f, [0xff; 6], src_mac, vlan_tci, ethertype::ARP);
    f.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
    f.extend_from_slice(&ethertype::IPV4.to_be_bytes());
    f.extend_from_slice(&[6, 4]);
    f.extend_from_slice(&super::view::ARPOP_REQUEST.to_be_bytes());
    f.extend_from_slice(&src_mac.0);
    f.extend_from_slice(&sender_ip.octets());
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&target_ip.octets());
    pad(&mut f);
    f
}

/// The IPv4 peer notification of bond_main.c: bond_should_notify_peers (what `inetdev_send_gratuitous_arp` sends): an ARP
/// **request**, broadcast, sender IP = target IP = `ip`, target MAC zero. VLAN devices on the
/// bond send tagged copies: use [`arp_request`]`(mac, ip, ip, Some(tci))` for those.
pub fn gratuitous_arp(mac: MacAddr, ip: Ipv4Addr) -> Vec<u8> {
    arp_request(mac, ip, ip, None)
}

/// Neighbor Advertisement flag bits (first byte of the reserved word, RFC 4861 bond_3ad.c: __get_link_speed, ad key).
const NA_ROUTER: u8 = 0x80;
const NA_OVERRIDE: u8 = 0x20;

/// The IPv6 peer notification of bond_main.c: bond_should_notify_peers (what `ndisc_send_unsol_na` sends): an unsolicited
/// Neighbor Advertisement from `ip` to ff02::1 (MAC 33:33:00:00:00:01), hop limit 255,
/// flags R = `router` (the kernel uses the interface's forwarding setting), S = 0, O = 1,
/// target `ip`, and a target link-layer address option carrying `mac`. 86 bytes.
pub fn unsolicited_na(mac: MacAddr, ip: Ipv6Addr, router: bool) -> Vec<u8> {
    let all_nodes = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

    let mut icmp = Vec::with_capacity(32);
    icmp.extend_from_slice(&[136, 0, 0, 0]); // type NA, code 0, checksum placeholder
    let flags = NA_OVERRIDE | if router { NA_ROUTER } else { 0 };
    icmp.extend_from_slice(&[flags, 0, 0, 0]);
    icmp.extend_from_slice(&ip.octets());
    icmp.extend_from_slice(&[2, 1]); // option: target link-layer address, 1 × 8 bytes
    icmp.extend_from_slice(&mac.0);
    let csum = icmpv6_checksum(&ip, &all_nodes, &icmp);
    icmp[2..4].copy_from_slice(&csum.to_be_bytes());

    let mut f = Vec::with_capacity(14 + 40 + icmp.len());
    eth_header(&mut f, IPV6_ALL_NODES_MAC, mac, None, ethertype::IPV6);
    f.extend_from_slice(&[0x60, 0, 0, 0]); // version 6, traffic class 0, flow label 0
    f.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    f.extend_from_slice(&[ipproto::ICMPV6, 255]);
    f.extend_from_slice(&ip.octets());
    f.extend_from_slice(&all_nodes.octets());
    f.extend_from_slice(&icmp);
    f
}

/// The solicited-node multicast address of `target` (RFC 4291 bond_procfs.c.1): ff02::1:ffXX:XXXX.
pub fn solicited_node(target: Ipv6Addr) -> Ipv6Addr {
    let t = target.octets();
    Ipv6Addr::from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, t[13], t[14], t[15]])
}

/// A Neighbor Solicitation as the NS monitor sends it for an `ns_ip6_target` (bond_main.c: bond_ab_arp_inspect, bond_arp_rcv): to the
/// target's solicited-node multicast address (MAC 33:33:ff:XX:XX:XX), hop limit 255, from
/// `src_ip` with a source link-layer address option carrying `src_mac` (no option when the
/// source is `::`, as RFC 4861 IEEE 802.1AX-2020 6.4.2.3 requires).
pub fn neighbor_solicitation(src_mac: MacAddr, src_ip: Ipv6Addr, target: Ipv6Addr) -> Vec<u8> {
    let dst = solicited_node(target);
    let mut icmp = Vec::with_capacity(32);
    icmp.extend_from_slice(&[135, 0, 0, 0, 0, 0, 0, 0]); // type NS, code 0, checksum, reserved
    icmp.extend_from_slice(&target.octets());
    if !src_ip.is_unspecified() {
        icmp.extend_from_slice(&[1, 1]); // option: source link-layer address, 1 × 8 bytes
        icmp.extend_from_slice(&src_mac.0);
    }
    let csum = icmpv6_checksum(&src_ip, &dst, &icmp);
    icmp[2..4].copy_from_slice(&csum.to_be_bytes());
    let d = dst.octets();
    let mut f = Vec::with_capacity(14 + 40 + icmp.len());
    eth_header(&mut f, [0x33, 0x33, d[12], d[13], d[14], d[15]], src_mac, None, ethertype::IPV6);
    f.extend_from_slice(&[0x60, 0, 0, 0]);
    f.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    f.extend_from_slice(&[ipproto::ICMPV6, 255]);
    f.extend_from_slice(&src_ip.octets());
    f.extend_from_slice(&dst.octets());
    f.extend_from_slice(&icmp);
    f
}

/// One's-complement sum of big-endian 16-bit words (an odd trailing byte is padded with 0).
fn ones_sum(mut acc: u32, bytes: &[u8]) -> u32 {
    let mut chunks = bytes.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

/// The ICMPv6 checksum (RFC 4443 bond_procfs.c: bond_info_show_slave) of `msg` (checksum field zeroed by the caller),
/// over the IPv6 pseudo-header: source, destination, upper-layer length, next header 58.
pub fn icmpv6_checksum(src: &Ipv6Addr, dst: &Ipv6Addr, msg: &[u8]) -> u16 {
    let mut acc = ones_sum(0, &src.octets());
    acc = ones_sum(acc, &dst.octets());
    acc = ones_sum(acc, &(msg.len() as u32).to_be_bytes());
    acc = ones_sum(acc, &[0, 0, 0, ipproto::ICMPV6]);
    acc = ones_sum(acc, msg);
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbor_solicitation_fields_and_checksum() {
        let mac = MacAddr([0x02, 0, 0, 0, 0, 0x11]);
        let src: Ipv6Addr = "2001:2::1".parse().unwrap();
        let target: Ipv6Addr = "2001:2::abcd:ef01".parse().unwrap();
        let f = neighbor_solicitation(mac, src, target);
        assert_eq!(&f[0..6], &[0x33, 0x33, 0xff, 0xcd, 0xef, 0x01], "solicited-node MAC");
        assert_eq!(&f[12..14], &[0x86, 0xdd]);
        assert_eq!(f[14 + 7], 255, "hop limit");
        let dst: Ipv6Addr = "ff02::1:ffcd:ef01".parse().unwrap();
        assert_eq!(&f[14 + 24..14 + 40], &dst.octets());
        let icmp = &f[54..];
        assert_eq!((icmp[0], icmp.len()), (135, 32));
        assert_eq!(&icmp[8..24], &target.octets());
        assert_eq!(&icmp[24..32], &[1, 1, 2, 0, 0, 0, 0, 0x11]);
        let mut zeroed = icmp.to_vec();
        zeroed[2..4].copy_from_slice(&[0, 0]);
        assert_eq!(icmpv6_checksum(&src, &dst, &zeroed).to_be_bytes(), [icmp[2], icmp[3]]);
        // From :: there is no source link-layer address option.
        assert_eq!(neighbor_solicitation(mac, Ipv6Addr::UNSPECIFIED, target).len(), 54 + 24);
    }

    const MAC: MacAddr = MacAddr([0x02, 0x00, 0x5e, 0x10, 0x20, 0x30]);

    #[test]
    fn arp_request_layout() {
        let f = arp_request(MAC, Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 0, 254), None);
        assert_eq!(f.len(), 60);
        assert_eq!(&f[0..6], &[0xff; 6]);
        assert_eq!(&f[6..12], &MAC.0);
        assert_eq!(&f[12..14], &[0x08, 0x06]);
        assert_eq!(&f[14..22], &[0, 1, 0x08, 0x00, 6, 4, 0, 1]);
        assert_eq!(&f[22..28], &MAC.0); // sender hardware address
        assert_eq!(&f[28..32], &[198, 18, 0, 1]);
        assert_eq!(&f[32..38], &[0; 6]); // target hardware address
        assert_eq!(&f[38..42], &[198, 18, 0, 254]);
        assert!(f[42..].iter().all(|&b| b == 0));
    }

    #[test]
    fn arp_request_tagged_layout() {
        let f = arp_request(MAC, Ipv4Addr::UNSPECIFIED, Ipv4Addr::new(198, 18, 0, 254), Some(0x2064));
        assert_eq!(f.len(), 60);
        assert_eq!(&f[12..18], &[0x81, 0x00, 0x20, 0x64, 0x08, 0x06]);
        assert_eq!(&f[18..26], &[0, 1, 0x08, 0x00, 6, 4, 0, 1]);
        assert_eq!(&f[32..36], &[0, 0, 0, 0]); // sender IP 0.0.0.0 (no route, bond_main.c: bond_ab_arp_inspect, bond_arp_rcv)
        assert_eq!(&f[42..46], &[198, 18, 0, 254]);
    }

    #[test]
    fn gratuitous_arp_is_request_with_same_ips() {
        let ip = Ipv4Addr::new(198, 18, 1, 7);
        let f = gratuitous_arp(MAC, ip);
        let a = crate::frame::parse_arp(&f).unwrap();
        assert_eq!(a.op, 1);
        assert_eq!((a.spa, a.tpa), (ip, ip));
        assert_eq!((a.sha, a.tha), (MAC, MacAddr::ZERO));
        assert_eq!(&f[..6], &[0xff; 6]);
        assert_eq!(f.len(), 60);
    }

    #[test]
    fn unsolicited_na_layout() {
        let ip: Ipv6Addr = "2001:2::10".parse().unwrap();
        let f = unsolicited_na(MAC, ip, false);
        assert_eq!(f.len(), 86);
        assert_eq!(&f[0..6], &[0x33, 0x33, 0, 0, 0, 1]);
        assert_eq!(&f[6..12], &MAC.0);
        assert_eq!(&f[12..14], &[0x86, 0xdd]);
        // IPv6 header.
        assert_eq!(&f[14..18], &[0x60, 0, 0, 0]);
        assert_eq!(&f[18..20], &[0, 32]); // payload length: 24 NA + 8 option
        assert_eq!((f[20], f[21]), (58, 255)); // next header ICMPv6, hop limit 255
        assert_eq!(&f[22..38], &ip.octets());
        assert_eq!(&f[38..54], &"ff02::1".parse::<Ipv6Addr>().unwrap().octets());
        // ICMPv6 NA.
        assert_eq!((f[54], f[55]), (136, 0));
        assert_eq!(f[58], 0x20); // R=0 S=0 O=1
        assert_eq!(&f[59..62], &[0, 0, 0]);
        assert_eq!(&f[62..78], &ip.octets()); // target
        assert_eq!((f[78], f[79]), (2, 1)); // target link-layer address option
        assert_eq!(&f[80..86], &MAC.0);

        let r = unsolicited_na(MAC, ip, true);
        assert_eq!(r[58], 0xa0); // R=1 S=0 O=1
    }

    /// Recomputes the checksum independently: sum the whole pseudo-header + message with
    /// the transmitted checksum in place; a correct checksum makes the folded sum 0xffff.
    #[test]
    fn unsolicited_na_checksum_verifies() {
        for (ip, router) in
            [("2001:2::10", false), ("fe80::200:5eff:fe10:2030", true), ("2001:2:0:ffff::1", true)]
        {
            let ip: Ipv6Addr = ip.parse().unwrap();
            let f = unsolicited_na(MAC, ip, router);
            let ipv6 = &f[14..54];
            let icmp = &f[54..];
            let mut words: Vec<u32> = Vec::new();
            for c in ipv6[8..40].chunks(2) {
                words.push(u32::from(c[0]) << 8 | u32::from(c[1])); // src + dst
            }
            words.push(icmp.len() as u32 >> 16);
            words.push(icmp.len() as u32 & 0xffff);
            words.push(58);
            for c in icmp.chunks(2) {
                words.push(u32::from(c[0]) << 8 | u32::from(c[1]));
            }
            let mut s: u32 = words.iter().sum();
            while s > 0xffff {
                s = (s & 0xffff) + (s >> 16);
            }
            assert_eq!(s, 0xffff, "checksum of NA for {ip} does not verify");
            assert_ne!(&icmp[2..4], &[0, 0]);
        }
    }

    /// Cross-check against an independent implementation: these bytes were produced by
    /// scapy 2.5 (`Ether(dst='33:33:00:00:00:01', src=MAC)/IPv6(src='2001:2::10',
    /// dst='ff02::1', hlim=255)/ICMPv6ND_NA(R=0, S=0, O=1, tgt='2001:2::10')/
    /// ICMPv6NDOptDstLLAddr(lladdr=MAC)`); its checksum is 0x9639.
    #[test]
    fn unsolicited_na_matches_scapy() {
        let hex = "33330000000102005e10203086dd6000000000203aff20010002000000000000000000000010\
                   ff020000000000000000000000000001880096392000000020010002000000000000000000000010\
                   020102005e102030";
        let want: Vec<u8> =
            (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
        assert_eq!(unsolicited_na(MAC, "2001:2::10".parse().unwrap(), false), want);
    }

    /// Known-answer test: an RFC 1071 style example worked by hand.
    /// src ::1, dst ::2, message [0x80, 0x00, 0x00, 0x00] (echo request, 4 bytes):
    /// words: src 0x0001, dst 0x0002, length 0x0000+0x0004, next header 0x003a,
    /// msg 0x8000 + 0x0000 → sum 0x0001+0x0002+0x0004+0x003a+0x8000 = 0x8041 → !0x8041 = 0x7fbe.
    #[test]
    fn icmpv6_checksum_known_answer() {
        let c = icmpv6_checksum(&"::1".parse().unwrap(), &"::2".parse().unwrap(), &[0x80, 0, 0, 0]);
        assert_eq!(c, 0x7fbe);
    }
}

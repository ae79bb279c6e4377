//! Zero-copy views: bounds-checked reads at fixed offsets of a borrowed frame.
//!
//! Every function takes the whole Ethernet frame (destination MAC first, no FCS) and never
//! allocates or panics; a frame too short for the question gets `None`/`false`.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{be16, ethertype, ipproto, mac_at, ETH_HLEN, LACP_DST};
use crate::types::MacAddr;

/// The Ethernet header of a frame, with one outer 802.1Q tag taken off as metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameMeta {
    pub dst: MacAddr,
    pub src: MacAddr,
    /// EtherType after a metadata VLAN tag was taken off.
    pub ethertype: u16,
    /// Outer 802.1Q TCI (PCP, DEI, VID), treated as metadata: the kernel gets it in skb
    /// metadata from a VLAN device stacked on the bond.
    pub vlan_tci: Option<u16>,
    /// Offset of the L3 header in the frame (14, or 18 after a metadata tag).
    pub l3_offset: usize,
}

/// Parses the Ethernet header. `None` if the frame is shorter than 14 bytes.
///
/// One outer 0x8100 tag is taken as metadata when the frame holds the whole tag (18 bytes);
/// a truncated tag is left in-band (EtherType 0x8100, L3 at 14). An outer 0x88a8 tag is not
/// metadata: the frame reports EtherType 0x88a8.
#[inline]
pub fn parse_eth(frame: &[u8]) -> Option<FrameMeta> {
    let dst = mac_at(frame, 0)?;
    let src = mac_at(frame, 6)?;
    let outer = be16(frame, 12)?;
    if outer == ethertype::VLAN {
        if let (Some(tci), Some(inner)) = (be16(frame, 14), be16(frame, 16)) {
            return Some(FrameMeta { dst, src, ethertype: inner, vlan_tci: Some(tci), l3_offset: 18 });
        }
    }
    Some(FrameMeta { dst, src, ethertype: outer, vlan_tci: None, l3_offset: ETH_HLEN })
}

/// LACPDU or marker PDU: EtherType 0x8809 **and** destination exactly 01:80:c2:00:00:02
/// (IEEE 802.1AX-2020 6.4.2, 6.5.3). The length check (110 bytes after the header) is the LACP receiver's job, since
/// a short one is counted as illegal rather than ignored.
pub fn is_lacp(frame: &[u8]) -> bool {
    match parse_eth(frame) {
        Some(m) => m.ethertype == ethertype::SLOW && m.dst.0 == LACP_DST,
        None => false,
    }
}

/// Destination is an IEEE 802.1D reserved link-local group 01:80:c2:00:00:0X (STP, LACP,
/// LLDP, EAPOL...). Inactive slaves still pass these up (bond_main.c: bond_should_deliver_exact_match).
pub fn is_link_local_dst(frame: &[u8]) -> bool {
    match frame.get(..6) {
        Some(d) => d[..5] == [0x01, 0x80, 0xc2, 0x00, 0x00] && d[5] & 0xf0 == 0,
        None => false,
    }
}

/// IPv4 IGMP (protocol 2), after an optional metadata VLAN tag. Like the kernel's
/// balance-rr and alb checks, it needs the whole 20-byte IPv4 header to be present.
pub fn is_igmp(frame: &[u8]) -> bool {
    match parse_eth(frame) {
        Some(m) if m.ethertype == ethertype::IPV4 && frame.len() >= m.l3_offset + 20 => {
            frame[m.l3_offset + 9] == ipproto::IGMP
        }
        _ => false,
    }
}

/// An Ethernet/IPv4 ARP packet (`struct arphdr` plus the 20 address bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpView {
    /// ARPOP_REQUEST 1, ARPOP_REPLY 2.
    pub op: u16,
    pub sha: MacAddr,
    pub spa: Ipv4Addr,
    pub tha: MacAddr,
    pub tpa: Ipv4Addr,
}

/// ARP opcodes.
pub const ARPOP_REQUEST: u16 = 1;
pub const ARPOP_REPLY: u16 = 2;

/// Parses an ARP packet: EtherType 0x0806 (after a metadata tag), hardware type Ethernet (1),
/// protocol IPv4, 6-byte hardware and 4-byte protocol addresses. Anything else is `None`.
pub fn parse_arp(frame: &[u8]) -> Option<ArpView> {
    let m = parse_eth(frame)?;
    if m.ethertype != ethertype::ARP {
        return None;
    }
    let a = frame.get(m.l3_offset..m.l3_offset + 28)?;
    if be16(a, 0)? != 1 || be16(a, 2)? != ethertype::IPV4 || a[4] != 6 || a[5] != 4 {
        return None;
    }
    Some(ArpView {
        op: be16(a, 6)?,
        sha: mac_at(a, 8)?,
        spa: Ipv4Addr::new(a[14], a[15], a[16], a[17]),
        tha: mac_at(a, 18)?,
        tpa: Ipv4Addr::new(a[24], a[25], a[26], a[27]),
    })
}

/// IPv6 Neighbor Solicitation (135) or Advertisement (136): Next Header 58 in the fixed
/// header and the ICMPv6 type right after it, with the 8-byte ICMPv6 header present (as the
/// kernel's `broadcast_neighbor` check reads it). Extension headers are not walked.
pub fn is_ipv6_nd_ns_na(frame: &[u8]) -> bool {
    match parse_eth(frame) {
        Some(m) if m.ethertype == ethertype::IPV6 && frame.len() >= m.l3_offset + 48 => {
            frame[m.l3_offset + 6] == ipproto::ICMPV6 && matches!(frame[m.l3_offset + 40], 135 | 136)
        }
        _ => false,
    }
}

/// A Neighbor Advertisement (ICMPv6 type 136): the IPv6 source and destination and the
/// advertised target address. For the NS monitor's validation (bond_main.c: bond_ab_arp_inspect, bond_arp_rcv).
pub struct NaView {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub target: Ipv6Addr,
}

pub fn parse_na(frame: &[u8]) -> Option<NaView> {
    let m = parse_eth(frame)?;
    if m.ethertype != ethertype::IPV6 {
        return None;
    }
    let l3 = m.l3_offset;
    let h = frame.get(l3..l3 + 40 + 24)?;
    if h[6] != ipproto::ICMPV6 || h[40] != 136 {
        return None;
    }
    let addr = |o: usize| {
        let mut a = [0u8; 16];
        a.copy_from_slice(&h[o..o + 16]);
        Ipv6Addr::from(a)
    };
    Some(NaView { src: addr(8), dst: addr(24), target: addr(48) })
}

/// (source, destination) of an IPv4 frame (after a metadata tag), if the 20-byte header is
/// present. For alb's per-destination balancing (bond_alb.c: tlb_choose_channel).
pub fn ipv4_addrs(frame: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr)> {
    let m = parse_eth(frame)?;
    if m.ethertype != ethertype::IPV4 {
        return None;
    }
    let h = frame.get(m.l3_offset..m.l3_offset + 20)?;
    Some((Ipv4Addr::new(h[12], h[13], h[14], h[15]), Ipv4Addr::new(h[16], h[17], h[18], h[19])))
}

/// (source, destination) of an IPv6 frame (after a metadata tag), if the 40-byte header is
/// present.
pub fn ipv6_addrs(frame: &[u8]) -> Option<(Ipv6Addr, Ipv6Addr)> {
    let m = parse_eth(frame)?;
    if m.ethertype != ethertype::IPV6 {
        return None;
    }
    let h = frame.get(m.l3_offset..m.l3_offset + 40)?;
    let mut s = [0u8; 16];
    let mut d = [0u8; 16];
    s.copy_from_slice(&h[8..24]);
    d.copy_from_slice(&h[24..40]);
    Some((Ipv6Addr::from(s), Ipv6Addr::from(d)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::build;

    const M1: MacAddr = MacAddr([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);

    #[test]
    fn parse_eth_untagged_and_tagged() {
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&M1.0);
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&[0u8; 20]);
        let m = parse_eth(&f).unwrap();
        assert_eq!((m.ethertype, m.vlan_tci, m.l3_offset), (0x0800, None, 14));
        assert_eq!(m.src, M1);
        assert_eq!(m.dst, MacAddr::BROADCAST);

        // Insert an 802.1Q tag PCP 5 VID 100 (TCI 0xA064): it becomes metadata.
        let mut t = f[..12].to_vec();
        t.extend_from_slice(&[0x81, 0x00, 0xa0, 0x64]);
        t.extend_from_slice(&f[12..]);
        let m = parse_eth(&t).unwrap();
        assert_eq!((m.ethertype, m.vlan_tci, m.l3_offset), (0x0800, Some(0xa064), 18));

        // 802.1ad outer tag stays in-band.
        t[12] = 0x88;
        t[13] = 0xa8;
        let m = parse_eth(&t).unwrap();
        assert_eq!((m.ethertype, m.vlan_tci, m.l3_offset), (0x88a8, None, 14));

        // A truncated tag is not metadata; a truncated header is nothing.
        let mut short = t[..16].to_vec();
        short[12] = 0x81;
        short[13] = 0x00;
        let m = parse_eth(&short).unwrap();
        assert_eq!((m.ethertype, m.vlan_tci, m.l3_offset), (0x8100, None, 14));
        assert!(parse_eth(&f[..13]).is_none());
    }

    #[test]
    fn parse_arp_fields_from_builder() {
        let f = build::arp_request(M1, Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 0, 9), None);
        let a = parse_arp(&f).unwrap();
        assert_eq!(a.op, ARPOP_REQUEST);
        assert_eq!(a.sha, M1);
        assert_eq!(a.spa, Ipv4Addr::new(198, 18, 0, 1));
        assert_eq!(a.tha, MacAddr::ZERO);
        assert_eq!(a.tpa, Ipv4Addr::new(198, 18, 0, 9));

        // Tagged copy parses the same; the tag is metadata.
        let t = build::arp_request(M1, Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 0, 9), Some(7));
        assert_eq!(parse_arp(&t), Some(a));
        assert_eq!(parse_eth(&t).unwrap().vlan_tci, Some(7));
    }

    #[test]
    fn parse_arp_hand_made_reply_and_rejects() {
        // A reply laid out by hand: 198.18.0.2 is-at 02:00:00:00:00:02, to 198.18.0.1.
        let mut f = vec![0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 2, 0, 0, 0, 0, 2, 0x08, 0x06];
        f.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 2]);
        f.extend_from_slice(&[2, 0, 0, 0, 0, 2, 198, 18, 0, 2]);
        f.extend_from_slice(&[0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 198, 18, 0, 1]);
        let a = parse_arp(&f).unwrap();
        assert_eq!(a.op, ARPOP_REPLY);
        assert_eq!(a.sha, MacAddr([2, 0, 0, 0, 0, 2]));
        assert_eq!(a.spa, Ipv4Addr::new(198, 18, 0, 2));
        assert_eq!(a.tha, M1);
        assert_eq!(a.tpa, Ipv4Addr::new(198, 18, 0, 1));

        // Truncated by one byte.
        assert!(parse_arp(&f[..f.len() - 1]).is_none());
        // 8-byte hardware addresses are not ours.
        let mut g = f.clone();
        g[14 + 4] = 8;
        assert!(parse_arp(&g).is_none());
        // Protocol type not IPv4.
        let mut g = f.clone();
        g[14 + 2] = 0x86;
        g[14 + 3] = 0xdd;
        assert!(parse_arp(&g).is_none());
        // Hardware type not Ethernet.
        let mut g = f.clone();
        g[14 + 1] = 6;
        assert!(parse_arp(&g).is_none());
        // Not ARP at all.
        let mut g = f;
        g[13] = 0x35;
        assert!(parse_arp(&g).is_none());
    }

    #[test]
    fn lacp_and_link_local() {
        let mut f = LACP_DST.to_vec();
        f.extend_from_slice(&M1.0);
        f.extend_from_slice(&[0x88, 0x09, 1, 1]);
        assert!(is_lacp(&f));
        assert!(is_link_local_dst(&f));
        // Right EtherType, wrong group (LLDP's 01:80:c2:00:00:0e): not LACP but link-local.
        f[5] = 0x0e;
        assert!(!is_lacp(&f));
        assert!(is_link_local_dst(&f));
        // 01:80:c2:00:00:10 is outside the reserved block.
        f[5] = 0x10;
        assert!(!is_link_local_dst(&f));
        // Right group, wrong EtherType.
        f[5] = 0x02;
        f[13] = 0x0a;
        assert!(!is_lacp(&f));
        assert!(!is_lacp(&f[..10]));
    }

    #[test]
    fn igmp_and_nd() {
        let mut f = vec![0x01, 0x00, 0x5e, 0, 0, 0x16];
        f.extend_from_slice(&M1.0);
        f.extend_from_slice(&[0x08, 0x00]);
        let mut ip = [0u8; 20];
        ip[0] = 0x46;
        ip[9] = 2;
        f.extend_from_slice(&ip);
        assert!(is_igmp(&f));
        assert!(!is_igmp(&f[..f.len() - 1]));
        f[14 + 9] = 17;
        assert!(!is_igmp(&f));

        let na = build::unsolicited_na(M1, "2001:2::1".parse().unwrap(), false);
        assert!(is_ipv6_nd_ns_na(&na));
        let mut echo = na.clone();
        echo[54] = 128;
        assert!(!is_ipv6_nd_ns_na(&echo));
        assert!(!is_ipv6_nd_ns_na(&na[..14 + 47]));
        assert_eq!(ipv6_addrs(&na), Some(("2001:2::1".parse().unwrap(), "ff02::1".parse().unwrap())));
    }
}

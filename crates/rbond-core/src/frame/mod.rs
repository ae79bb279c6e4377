//! Ethernet frames: zero-copy views of received/transmitted frames ([`view`]) and builders
//! for the few control-plane frames the bond originates itself ([`build`]).
//!
//! # Why hand-written and not `etherparse`
//!
//! The data path asks a handful of questions per frame — the EtherType, one optional VLAN tag,
//! two IP addresses and four bytes at a fixed L4 offset — and the whole transmit decision
//! (hash + slave pick) has a budget of 50 ns per frame. A general header parser validates and
//! decodes every header field into owned structs; that costs more than the entire budget and
//! still would not give the kernel's exact (and sometimes lax) semantics: the bonding hash
//! does not check the IP version nibble, does not skip IPv6 extension headers and trusts IHL.
//! So the views here are bounds-checked slice reads at fixed offsets: no allocation, no
//! `unsafe`, no dependency, and a missing byte simply yields `None`/`false`.
//!
//! # The VLAN tag is metadata
//!
//! A VLAN device on a kernel bond hands the bond frames whose 802.1Q tag travels in skb
//! metadata, so the kernel's hash sees the inner EtherType and IP header. rbond receives the
//! same frames from a TAP with the tag in-band; [`view::parse_eth`] therefore takes **one outer
//! 0x8100 tag** off as metadata ([`view::FrameMeta::vlan_tci`]) and reports the inner
//! EtherType. Any further tag (QinQ, or an outer 802.1ad 0x88a8 tag) stays in-band, as it would
//! in the kernel's linear data.

pub mod build;
pub mod view;

pub use build::{arp_request, gratuitous_arp, neighbor_solicitation, unsolicited_na};
pub use view::{
    parse_na, NaView,
    is_igmp, is_ipv6_nd_ns_na, is_lacp, is_link_local_dst, parse_arp, parse_eth, ArpView, FrameMeta,
};

/// EtherType values used by the core (`include/uapi/linux/if_ether.h` names).
pub mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const ARP: u16 = 0x0806;
    pub const RARP: u16 = 0x8035;
    /// 802.1Q C-tag (ETH_P_8021Q).
    pub const VLAN: u16 = 0x8100;
    /// 802.1ad S-tag (ETH_P_8021AD).
    pub const QINQ: u16 = 0x88a8;
    pub const IPV6: u16 = 0x86dd;
    /// Slow protocols: LACP and marker (ETH_P_SLOW).
    pub const SLOW: u16 = 0x8809;
    pub const MPLS_UC: u16 = 0x8847;
    pub const MPLS_MC: u16 = 0x8848;
    pub const FCOE: u16 = 0x8906;
    /// Transparent Ethernet bridging, GRE's "Ethernet inside" (ETH_P_TEB).
    pub const TEB: u16 = 0x6558;
}

/// IP protocol numbers (`include/uapi/linux/in.h`, `in6.h`).
pub mod ipproto {
    pub const HOPOPTS: u8 = 0;
    pub const ICMP: u8 = 1;
    pub const IGMP: u8 = 2;
    pub const IPIP: u8 = 4;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const DCCP: u8 = 33;
    pub const IPV6: u8 = 41;
    pub const ROUTING: u8 = 43;
    pub const FRAGMENT: u8 = 44;
    pub const GRE: u8 = 47;
    pub const ESP: u8 = 50;
    pub const AH: u8 = 51;
    pub const ICMPV6: u8 = 58;
    pub const DSTOPTS: u8 = 60;
    pub const SCTP: u8 = 132;
    pub const UDPLITE: u8 = 136;
    pub const MPLS: u8 = 137;
}

/// Length of an untagged Ethernet header.
pub const ETH_HLEN: usize = 14;
/// Shortest Ethernet frame without FCS (ETH_ZLEN); shorter frames are padded with zeros.
pub const ETH_ZLEN: usize = 60;
/// Destination of LACPDUs and marker PDUs (IEEE 802.1AX-2020 6.4.2, 6.5.3).
pub const LACP_DST: [u8; 6] = [0x01, 0x80, 0xc2, 0x00, 0x00, 0x02];
/// IPv6 all-nodes multicast MAC (33:33:00:00:00:01), the destination of unsolicited NAs.
pub const IPV6_ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0x00, 0x00, 0x00, 0x01];

/// Big-endian u16 at `off`, if the frame is long enough.
#[inline(always)]
pub(crate) fn be16(b: &[u8], off: usize) -> Option<u16> {
    match b.get(off..off.checked_add(2)?) {
        Some(&[x, y]) => Some(u16::from_be_bytes([x, y])),
        _ => None,
    }
}

/// The 4 bytes at `off` loaded as a **little-endian** u32, if present.
///
/// The kernel loads addresses and ports as native-endian words; all numbers in the
/// reference assume a little-endian host, so we always decode little-endian. This gives
/// the kernel's x86-64/arm64 result on any host, big-endian ones included.
#[inline(always)]
pub(crate) fn le32(b: &[u8], off: usize) -> Option<u32> {
    match b.get(off..off.checked_add(4)?) {
        Some(&[w, x, y, z]) => Some(u32::from_le_bytes([w, x, y, z])),
        _ => None,
    }
}

/// The 6 bytes at `off` as a MAC address, if present.
#[inline(always)]
pub(crate) fn mac_at(b: &[u8], off: usize) -> Option<crate::types::MacAddr> {
    let s = b.get(off..off.checked_add(6)?)?;
    let mut m = [0u8; 6];
    m.copy_from_slice(s);
    Some(crate::types::MacAddr(m))
}

//! Transmit hashing: the kernel's `bond_xmit_hash()` for every `xmit_hash_policy` (bond_main.c: bond_xmit_hash), and
//! the alb "simple hash" (bond_alb.h constants). Bit-exact with a little-endian kernel of about v5.18 onwards
//! (baseline v6.16–v6.17; older kernels differ, see bond_main.c: bond_xmit_hash [version] notes).
//!
//! # Model of the kernel's input
//!
//! The kernel hashes an skb whose linear data starts at the Ethernet header, whose
//! `skb->protocol` is the EtherType and whose 802.1Q tag (from a VLAN device on the bond)
//! sits in metadata. We get the same frame from the TAP with the tag in-band, so
//! [`parse_eth`] takes one outer 0x8100 tag off: the EtherType, the L3 offset and the
//! `vlan+srcmac` TCI come from [`FrameMeta`]. All later offsets are absolute offsets into our
//! frame; since the kernel's bounds are "end of the linear data", which is the end of our
//! frame in both models, every bounds check is the same.
//!
//! # Byte order
//!
//! The kernel loads IP addresses and the 4 port bytes as native-endian u32 words. The
//! reference (and every deployment we care about) is little-endian, so we decode these
//! words with `from_le_bytes`, which gives the x86-64/arm64 kernel's numbers on any host.
//! The EtherType in the layer2 term is a plain number (0x0800), as since about v5.15.
//!
//! # Policies
//!
//! - `layer2`: `d5 ^ s5 ^ etype`, not folded.
//! - `layer2+3` / `layer3+4`: the bonding driver's own parser (`bond_flow_dissect`): IPv4
//!   or IPv6 at the L3 offset, nothing else; IPv4 fragments have no L4; IPv6 extension
//!   headers are not skipped (L4 assumed at +40); ICMP echo-like types hash their identifier;
//!   ICMP errors re-read addresses (and ports) from the quoted header. IHL and the version
//!   nibble are trusted as-is, as the kernel does. Non-IP, or a truncated IP header: layer2.
//! - `encap2+3` / `encap3+4`: the generic flow dissector (`__skb_flow_dissect` with the
//!   bonding key set and no flags). Covered, following the dissector's code paths:
//!   - in-band 802.1Q / 802.1ad tags, any number (QinQ included), up to the dissector's
//!     limit of 15 headers;
//!   - IPv4 (IHL < 5 is malformed → layer2), IPv6; IPv6 hop-by-hop, routing and destination
//!     options headers are skipped; IPv4 and IPv6 fragments (any, first included) stop the
//!     walk with addresses but no L4 data;
//!   - tunnels: IP-in-IP (4), IPv6-in-IP (41), GRE version 0 (checksum/key/sequence fields,
//!     Ethernet-over-GRE 0x6558 with its inner EtherType) and version 1 (PPTP: PPP IPv4/IPv6),
//!     GRE with routing or version > 1 stops at the outer header; the innermost addresses and
//!     L4 win, as in the kernel;
//!   - ICMP type/code/identifier (errors are **not** re-read here; that is the layer3+4-only
//!     code), ports at the same offsets as layer3+4;
//!   - ARP/RARP, MPLS (also MPLS-in-IP) and FCoE end the walk "good" without addresses: the
//!     bonding key set has no ARP or MPLS keys, so the dissector returns success with empty
//!     keys. Consequence: ARP hashes as `fold(layer2)` under encap2+3 and as **0** under
//!     encap3+4 (all ARP on the first usable slave);
//!   - any other EtherType ends "bad": the layer2 formula is used.
//!
//!   Not covered (they fall back to layer2, which may differ from the kernel): TIPC (its key
//!   is random for keepalives), PPPoE sessions (version-dependent parsing), batman-adv, DSA
//!   tags, and a BPF flow dissector attached to the namespace.
//! - `encap3+4` in the kernel first returns `skb->hash` when the stack already computed an
//!   L4 hash for the packet (`skb->l4_hash`). That value comes from the sending socket and
//!   cannot be reproduced outside the kernel; frames reaching rbond from a TAP never carry
//!   one, so the dissector path is always taken here.
//! - `vlan+srcmac`: `tci ^ (s0<<16|s1<<8|s2) ^ (s3<<16|s4<<8|s5)` with the metadata TCI
//!   (0 when untagged), not folded.
//!
//! Frames shorter than an Ethernet header hash to 0 under every policy (the kernel's
//! `bond_eth_hash`/`bond_vlan_srcmac_hash` give 0 when 14 bytes cannot be pulled).

use crate::frame::view::{parse_eth, FrameMeta};
use crate::frame::{be16, ethertype as et, ipproto, le32};
use crate::types::XmitHashPolicy;

/// The fields of `struct flow_keys` that the bond hash reads.
#[derive(Clone, Copy, Default)]
struct Flow {
    /// `flow_get_u32_src/dst`: the IPv4 address word, or the XOR of the four IPv6 words;
    /// 0 when no address was found.
    src: u32,
    dst: u32,
    /// `ports.ports`: the 4 bytes at the port offset, native (little-endian) order.
    ports: u32,
    /// `struct flow_dissector_key_icmp` as a u32: type | code << 8 | id << 16.
    icmp: u32,
}

/// One IPv4 word (address bytes `h[i..i+4]`) as the kernel's native u32. Callers have
/// already checked that `h` holds the whole header.
#[inline(always)]
fn word(h: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]])
}

/// `ipv6_addr_hash`: XOR of the four native u32 words of the address at `h[i..i+16]`.
#[inline(always)]
fn v6_fold(h: &[u8], i: usize) -> u32 {
    word(h, i) ^ word(h, i + 4) ^ word(h, i + 8) ^ word(h, i + 12)
}

/// `proto_ports_offset`: where the 4 "port" bytes are, for the protocols that have them.
#[inline(always)]
fn ports_offset(ip_proto: u8) -> Option<usize> {
    match ip_proto {
        ipproto::TCP | ipproto::UDP | ipproto::DCCP | ipproto::ESP | ipproto::SCTP | ipproto::UDPLITE => {
            Some(0)
        }
        ipproto::AH => Some(4),
        _ => None,
    }
}

/// `__skb_flow_get_ports`: 0 for other protocols or when the bytes are missing.
#[inline(always)]
fn get_ports(frame: &[u8], thoff: usize, ip_proto: u8) -> u32 {
    match ports_offset(ip_proto) {
        Some(k) => le32(frame, thoff + k).unwrap_or(0),
        None => 0,
    }
}

/// `icmp_has_id`: echo, echo reply, timestamp, timestamp reply, ICMPv6 echo request/reply.
/// The kernel checks the same list whatever the IP version.
#[inline(always)]
fn icmp_has_id(ty: u8) -> bool {
    matches!(ty, 0 | 8 | 13 | 14 | 128 | 129)
}

/// `skb_flow_get_icmp_tci`: `None` when the 8-byte ICMP header is not all there (the key
/// then stays zero). An identifier of 0 becomes 1 so that "has an id" stays visible.
#[inline]
fn icmp_tci(frame: &[u8], thoff: usize) -> Option<u32> {
    let h = frame.get(thoff..thoff + 8)?;
    let (ty, code) = (h[0], h[1]);
    let id = if icmp_has_id(ty) {
        match u16::from_be_bytes([h[4], h[5]]) {
            0 => 1,
            id => id,
        }
    } else {
        0
    };
    Some(u32::from(ty) | u32::from(code) << 8 | u32::from(id) << 16)
}

/// `icmp_is_err`: destination unreachable, source quench, redirect, time exceeded,
/// parameter problem.
#[inline(always)]
fn icmp_is_err(ty: u8) -> bool {
    matches!(ty, 3 | 4 | 5 | 11 | 12)
}

/// `icmpv6_is_err`: destination unreachable, packet too big, time exceeded, parameter
/// problem.
#[inline(always)]
fn icmpv6_is_err(ty: u8) -> bool {
    matches!(ty, 1..=4)
}

/// IP_MF | IP_OFFSET in the IPv4 frag_off field.
const IP_FRAG_MASK: u16 = 0x3fff;

// ---------------------------------------------------------------------------------------
// layer2+3 / layer3+4: the bonding driver's own parser
// ---------------------------------------------------------------------------------------

/// `bond_flow_ip`: reads the IP header at `*nhoff` as `l2_proto` says, advances `*nhoff` to
/// L4 and sets `*ip_proto` (left unchanged for an IPv4 fragment). With `l34`, reads ports.
/// `false` when `l2_proto` is not IP or the fixed header is truncated.
#[inline(always)]
fn bond_flow_ip(
    frame: &[u8],
    l2_proto: u16,
    flow: &mut Flow,
    nhoff: &mut usize,
    ip_proto: &mut Option<u8>,
    l34: bool,
) -> bool {
    match l2_proto {
        et::IPV4 => {
            let Some(h) = frame.get(*nhoff..*nhoff + 20) else { return false };
            flow.src = word(h, 12);
            flow.dst = word(h, 16);
            // IHL is trusted: 0..4 puts "L4" inside the IP header, as in the kernel.
            *nhoff += usize::from(h[0] & 0x0f) * 4;
            if u16::from_be_bytes([h[6], h[7]]) & IP_FRAG_MASK == 0 {
                *ip_proto = Some(h[9]);
            }
        }
        et::IPV6 => {
            let Some(h) = frame.get(*nhoff..*nhoff + 40) else { return false };
            flow.src = v6_fold(h, 8);
            flow.dst = v6_fold(h, 24);
            *nhoff += 40;
            *ip_proto = Some(h[6]);
        }
        _ => return false,
    }
    if l34 {
        if let Some(p) = *ip_proto {
            flow.ports = get_ports(frame, *nhoff, p);
        }
    }
    true
}

/// `bond_flow_dissect` for layer2+3 and layer3+4. `None` → the layer2 formula.
#[inline]
fn bond_flow(frame: &[u8], m: &FrameMeta, l34: bool) -> Option<Flow> {
    let mut flow = Flow::default();
    let mut nhoff = m.l3_offset;
    let mut ip_proto = None;
    if !bond_flow_ip(frame, m.ethertype, &mut flow, &mut nhoff, &mut ip_proto, l34) {
        return None;
    }
    // Branch on the protocol number, not on the IP version, as the kernel does.
    let is_err: fn(u8) -> bool = match ip_proto {
        Some(ipproto::ICMP) => icmp_is_err,
        Some(ipproto::ICMPV6) => icmpv6_is_err,
        _ => return Some(flow),
    };
    if let Some(t) = icmp_tci(frame, nhoff) {
        flow.icmp = t;
    }
    if !is_err(flow.icmp as u8) {
        return Some(flow);
    }
    // An ICMP error quotes the offending packet's IP header (and 8 bytes of L4) right
    // after the 8-byte ICMP header: hash that flow's addresses and ports instead, so the
    // error follows its flow. A truncated quote makes the whole parse fail (→ layer2).
    nhoff += 8;
    if !bond_flow_ip(frame, m.ethertype, &mut flow, &mut nhoff, &mut ip_proto, l34) {
        return None;
    }
    Some(flow)
}

// ---------------------------------------------------------------------------------------
// encap2+3 / encap3+4: the generic flow dissector
// ---------------------------------------------------------------------------------------

/// `MAX_FLOW_DISSECT_HDRS`: how many "again" steps the dissector takes before it stops
/// (with success) where it is.
const MAX_FLOW_DISSECT_HDRS: u32 = 15;

/// `enum flow_dissect_ret`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Good,
    Bad,
    ProtoAgain,
    IpProtoAgain,
    Continue,
}

/// GRE flag bits (host order of the big-endian flags word, `include/net/gre.h`).
const GRE_CSUM: u16 = 0x8000;
const GRE_ROUTING: u16 = 0x4000;
const GRE_KEY: u16 = 0x2000;
const GRE_SEQ: u16 = 0x1000;
const GRE_ACK: u16 = 0x0080;
const GRE_VERSION: u16 = 0x0007;
/// GRE protocol of PPTP (GRE_PROTO_PPP).
const GRE_PROTO_PPP: u16 = 0x880b;
/// PPP protocol numbers inside PPTP.
const PPP_IP: u16 = 0x0021;
const PPP_IPV6: u16 = 0x0057;
/// FCOE_HEADER_LEN.
const FCOE_HEADER_LEN: usize = 38;

/// `__skb_flow_dissect_gre`: steps over the GRE header to the payload's EtherType.
fn dissect_gre(frame: &[u8], proto: &mut u16, nhoff: &mut usize) -> Step {
    let (Some(flags), Some(p)) = (be16(frame, *nhoff), be16(frame, *nhoff + 2)) else {
        return Step::Bad;
    };
    if flags & GRE_ROUTING != 0 {
        return Step::Good;
    }
    let ver = flags & GRE_VERSION;
    if ver > 1 {
        return Step::Good;
    }
    *proto = p;
    if ver == 1 && !(p == GRE_PROTO_PPP && flags & GRE_KEY != 0) {
        return Step::Good;
    }
    let mut off = 4;
    if flags & GRE_CSUM != 0 {
        off += 4;
    }
    if flags & GRE_KEY != 0 {
        if frame.get(*nhoff + off..*nhoff + off + 4).is_none() {
            return Step::Bad;
        }
        off += 4;
    }
    if flags & GRE_SEQ != 0 {
        off += 4;
    }
    if ver == 0 {
        if p == et::TEB {
            // Inner Ethernet header: continue with its EtherType (bytes 12..14).
            let Some(inner) = be16(frame, *nhoff + off + 12) else { return Step::Bad };
            *proto = inner;
            off += 14;
        }
    } else {
        if flags & GRE_ACK != 0 {
            off += 4;
        }
        // PPP header: address, control, protocol (PPP_HDRLEN 4).
        let Some(ppp) = be16(frame, *nhoff + off + 2) else { return Step::Bad };
        match ppp {
            PPP_IP => *proto = et::IPV4,
            PPP_IPV6 => *proto = et::IPV6,
            _ => {}
        }
        off += 4;
    }
    *nhoff += off;
    Step::ProtoAgain
}

/// `__skb_flow_dissect(..., &flow_keys_bonding, ..., flags 0)`. `None` → the layer2 formula.
fn dissect(frame: &[u8], m: &FrameMeta) -> Option<Flow> {
    let mut flow = Flow::default();
    let mut proto = m.ethertype;
    let mut nhoff = m.l3_offset;
    let mut ip_proto = 0u8;
    let mut num_hdrs = 0u32;
    // How many VLAN tags the dissector has seen: 0 (KEY_MAX), 1 (KEY_VLAN), 2+ (KEY_CVLAN).
    let mut vlans_seen = 0u8;
    let mut fragment = false;

    'proto_again: loop {
        let step = match proto {
            et::IPV4 => match frame.get(nhoff..nhoff + 20) {
                Some(h) if h[0] & 0x0f >= 5 => {
                    nhoff += usize::from(h[0] & 0x0f) * 4;
                    ip_proto = h[9];
                    flow.src = word(h, 12);
                    flow.dst = word(h, 16);
                    if u16::from_be_bytes([h[6], h[7]]) & IP_FRAG_MASK != 0 {
                        // Without FLOW_DISSECTOR_F_PARSE_1ST_FRAG even a first fragment
                        // stops here, before any L4 look.
                        fragment = true;
                        Step::Good
                    } else {
                        Step::Continue
                    }
                }
                _ => Step::Bad,
            },
            et::IPV6 => match frame.get(nhoff..nhoff + 40) {
                Some(h) => {
                    ip_proto = h[6];
                    nhoff += 40;
                    flow.src = v6_fold(h, 8);
                    flow.dst = v6_fold(h, 24);
                    Step::Continue
                }
                None => Step::Bad,
            },
            et::VLAN | et::QINQ => {
                let mut step = Step::ProtoAgain;
                if vlans_seen == 0 && m.vlan_tci.is_some() {
                    // The first tag the dissector meets is taken to be the metadata one:
                    // `proto = skb->protocol`, no bytes consumed.
                    proto = m.ethertype;
                } else {
                    match be16(frame, nhoff + 2) {
                        Some(p) => {
                            proto = p;
                            nhoff += 4;
                        }
                        None => step = Step::Bad,
                    }
                }
                vlans_seen = vlans_seen.saturating_add(1);
                step
            }
            et::ARP | et::RARP | et::MPLS_UC | et::MPLS_MC => Step::Good,
            et::FCOE => {
                if frame.len().saturating_sub(nhoff) < FCOE_HEADER_LEN {
                    Step::Bad
                } else {
                    Step::Good
                }
            }
            _ => Step::Bad,
        };
        match step {
            Step::Good => return Some(flow),
            Step::Bad => return None,
            Step::ProtoAgain => {
                num_hdrs += 1;
                if num_hdrs <= MAX_FLOW_DISSECT_HDRS {
                    continue 'proto_again;
                }
                return Some(flow);
            }
            Step::Continue | Step::IpProtoAgain => {}
        }

        loop {
            let step = match ip_proto {
                ipproto::GRE => dissect_gre(frame, &mut proto, &mut nhoff),
                ipproto::HOPOPTS | ipproto::ROUTING | ipproto::DSTOPTS if proto == et::IPV6 => {
                    match frame.get(nhoff..nhoff + 2) {
                        Some(o) => {
                            ip_proto = o[0];
                            nhoff += (usize::from(o[1]) + 1) * 8;
                            Step::IpProtoAgain
                        }
                        None => Step::Bad,
                    }
                }
                ipproto::FRAGMENT if proto == et::IPV6 => match frame.get(nhoff..nhoff + 8) {
                    Some(fh) => {
                        fragment = true;
                        nhoff += 8;
                        ip_proto = fh[0];
                        Step::Good
                    }
                    None => Step::Bad,
                },
                ipproto::IPIP => {
                    proto = et::IPV4;
                    Step::ProtoAgain
                }
                ipproto::IPV6 => {
                    proto = et::IPV6;
                    Step::ProtoAgain
                }
                ipproto::MPLS => {
                    proto = et::MPLS_UC;
                    Step::ProtoAgain
                }
                ipproto::ICMP | ipproto::ICMPV6 => {
                    if let Some(t) = icmp_tci(frame, nhoff) {
                        flow.icmp = t;
                    }
                    Step::Continue
                }
                _ => Step::Continue,
            };
            // The dissector reads ports after every IP-protocol step (tunnel steps read
            // 0, and the inner pass overwrites them).
            if !fragment {
                flow.ports = get_ports(frame, nhoff, ip_proto);
            }
            match step {
                Step::ProtoAgain => {
                    num_hdrs += 1;
                    if num_hdrs <= MAX_FLOW_DISSECT_HDRS {
                        continue 'proto_again;
                    }
                    return Some(flow);
                }
                Step::IpProtoAgain => {
                    num_hdrs += 1;
                    if num_hdrs <= MAX_FLOW_DISSECT_HDRS {
                        continue;
                    }
                    return Some(flow);
                }
                Step::Good | Step::Continue => return Some(flow),
                Step::Bad => return None,
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The hash
// ---------------------------------------------------------------------------------------

/// `bond_eth_hash`: last bytes of both MACs and the EtherType seen in the data.
#[inline(always)]
fn eth_hash(m: &FrameMeta) -> u32 {
    u32::from(m.dst.0[5]) ^ u32::from(m.src.0[5]) ^ u32::from(m.ethertype)
}

/// `bond_ip_hash`: XOR in the addresses, fold, and drop the lowest bit for the L4 policies
/// (ports are often even/odd in step, which would otherwise pin n=2 bonds).
#[inline(always)]
fn ip_hash(seed: u32, flow: &Flow, drop_low_bit: bool) -> u32 {
    let mut h = seed ^ flow.dst ^ flow.src;
    h ^= h >> 16;
    h ^= h >> 8;
    if drop_low_bit {
        h >> 1
    } else {
        h
    }
}

/// `bond_vlan_srcmac_hash`.
#[inline(always)]
fn vlan_srcmac_hash(m: &FrameMeta) -> u32 {
    let s = m.src.0;
    let vendor = u32::from(s[0]) << 16 | u32::from(s[1]) << 8 | u32::from(s[2]);
    let dev = u32::from(s[3]) << 16 | u32::from(s[4]) << 8 | u32::from(s[5]);
    u32::from(m.vlan_tci.unwrap_or(0)) ^ vendor ^ dev
}

/// The kernel's `bond_xmit_hash()` for `frame` (Ethernet header first, one outer 802.1Q
/// tag treated as metadata). Balance-xor and 802.3ad send on `usable[hash % count]`
/// ([`slave_index`]); tlb uses `hash & 0xff`.
#[inline]
pub fn xmit_hash(policy: XmitHashPolicy, frame: &[u8]) -> u32 {
    let Some(m) = parse_eth(frame) else { return 0 };
    let flow = match policy {
        XmitHashPolicy::VlanSrcMac => return vlan_srcmac_hash(&m),
        XmitHashPolicy::Layer2 => return eth_hash(&m),
        XmitHashPolicy::Layer23 => bond_flow(frame, &m, false),
        XmitHashPolicy::Layer34 => bond_flow(frame, &m, true),
        XmitHashPolicy::Encap23 | XmitHashPolicy::Encap34 => dissect(frame, &m),
    };
    let Some(flow) = flow else { return eth_hash(&m) };
    match policy {
        XmitHashPolicy::Layer23 | XmitHashPolicy::Encap23 => ip_hash(eth_hash(&m), &flow, false),
        _ => {
            // The ICMP key wins when it carries an identifier (echo-like types).
            let p = if flow.icmp >> 16 != 0 { flow.icmp } else { flow.ports };
            ip_hash(p, &flow, true)
        }
    }
}

/// `usable[hash % count]` as an index: an unsigned 32-bit modulo (bond_main.c: bond_xmit_hash users). `None` when no
/// slave can transmit (the frame is dropped).
#[inline(always)]
pub fn slave_index(hash: u32, count: usize) -> Option<usize> {
    if count == 0 {
        return None;
    }
    Some((u64::from(hash) % count as u64) as usize)
}

/// The alb "simple hash" (bond_alb.h constants, `_simple_hash`): XOR of all bytes of `bytes`.
#[inline]
pub fn simple_hash(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |h, b| h ^ b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_hash_xors_bytes() {
        assert_eq!(simple_hash(&[]), 0);
        // 198.18.0.9: 0xC6 ^ 0x12 ^ 0x00 ^ 0x09 = 0xD4 ^ 0x09 = 0xDD.
        assert_eq!(simple_hash(&[198, 18, 0, 9]), 0xdd);
        // Any byte twice cancels out.
        assert_eq!(simple_hash(&[0x5a, 0x33, 0x5a]), 0x33);
    }

    #[test]
    fn slave_index_is_unsigned_modulo() {
        assert_eq!(slave_index(0x8b9, 2), Some(1));
        assert_eq!(slave_index(0x8b9, 3), Some(1)); // 2233 = 3 × 744 + 1
        assert_eq!(slave_index(u32::MAX, 3), Some(0)); // 4294967295 = 3 × 1431655765
        assert_eq!(slave_index(7, 0), None);
    }

    #[test]
    fn short_frames_hash_to_zero() {
        for p in XmitHashPolicy::ALL {
            assert_eq!(xmit_hash(p, &[0xff; 13]), 0);
            assert_eq!(xmit_hash(p, &[]), 0);
        }
    }
}

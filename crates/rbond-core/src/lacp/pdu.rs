//! LACPDU and Marker PDU encoding and validation (IEEE 802.1AX-2014 6.4.2 and 6.5.3; reference
//! IEEE 802.1AX-2020 6.4.2, 6.5.3). Frames are 124 bytes: a 14-byte Ethernet header to the Slow_Protocols_Multicast
//! address with EtherType 0x8809, then the 110-byte PDU. Decoding never panics on any input.

use super::state::PortParams;
use crate::types::MacAddr;

/// Slow_Protocols_Multicast address (802.3 Annex 57A).
pub const SLOW_PROTOCOLS_MAC: MacAddr = MacAddr([0x01, 0x80, 0xc2, 0x00, 0x00, 0x02]);
/// Slow_Protocols_Type.
pub const ETHERTYPE_SLOW: u16 = 0x8809;
pub const ETH_HEADER_LEN: usize = 14;
pub const PDU_LEN: usize = 110;
pub const FRAME_LEN: usize = ETH_HEADER_LEN + PDU_LEN;
pub const SUBTYPE_LACP: u8 = 0x01;
pub const SUBTYPE_MARKER: u8 = 0x02;
/// TLV types and lengths of a version 1 LACPDU.
pub const TLV_ACTOR: u8 = 0x01;
pub const TLV_PARTNER: u8 = 0x02;
pub const TLV_COLLECTOR: u8 = 0x03;
pub const TLV_INFO_LEN: u8 = 0x14;
pub const TLV_COLLECTOR_LEN: u8 = 0x10;
/// Marker TLV types (802.1AX 6.5.3.2) and the Marker_Information length.
pub const MARKER_INFORMATION: u8 = 0x01;
pub const MARKER_RESPONSE: u8 = 0x02;
pub const MARKER_TLV_LEN: u8 = 0x10;

/// Why a PDU was refused. Each one is counted as an illegal (bad) PDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PduError {
    /// Fewer than 110 bytes after the Ethernet header.
    TooShort(usize),
    /// Not the expected subtype.
    Subtype(u8),
    /// Version 0 does not exist.
    Version(u8),
    /// A TLV with the wrong type or length: (offset in the PDU, type, length).
    Tlv(usize, u8, u8),
}

/// A decoded LACPDU (802.1AX 6.4.2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lacpdu {
    pub version: u8,
    pub actor: PortParams,
    pub partner: PortParams,
    pub collector_max_delay: u16,
}

fn put_info(b: &mut [u8], tlv: u8, p: &PortParams) {
    // b starts at the TLV type byte: type, length, then 18 bytes of information and 3 reserved.
    b[0] = tlv;
    b[1] = TLV_INFO_LEN;
    b[2..4].copy_from_slice(&p.system_priority.to_be_bytes());
    b[4..10].copy_from_slice(&p.system.0);
    b[10..12].copy_from_slice(&p.key.to_be_bytes());
    b[12..14].copy_from_slice(&p.port_priority.to_be_bytes());
    b[14..16].copy_from_slice(&p.port_number.to_be_bytes());
    b[16] = p.port_state;
}

fn get_info(b: &[u8]) -> PortParams {
    let u16at = |o: usize| u16::from_be_bytes([b[o], b[o + 1]]);
    let mut mac = [0u8; 6];
    mac.copy_from_slice(&b[4..10]);
    PortParams {
        system_priority: u16at(2),
        system: MacAddr(mac),
        key: u16at(10),
        port_priority: u16at(12),
        port_number: u16at(14),
        port_state: b[16],
    }
}

impl Lacpdu {
    /// The 110 PDU bytes, laid out as IEEE 802.1AX-2020 6.4.2, 6.5.3 gives them; every reserved byte is 0.
    pub fn encode(&self) -> [u8; PDU_LEN] {
        let mut b = [0u8; PDU_LEN];
        b[0] = SUBTYPE_LACP;
        b[1] = self.version;
        put_info(&mut b[2..22], TLV_ACTOR, &self.actor);
        put_info(&mut b[22..42], TLV_PARTNER, &self.partner);
        b[42] = TLV_COLLECTOR;
        b[43] = TLV_COLLECTOR_LEN;
        b[44..46].copy_from_slice(&self.collector_max_delay.to_be_bytes());
        // 46..58 reserved, 58/59 terminator type and length 0, 60..110 reserved: all zero.
        b
    }

    /// Decode and validate a PDU (the bytes after the Ethernet header; more than 110 bytes are
    /// allowed, e.g. Ethernet padding). Checks: length, subtype, version ≥ 1, the actor,
    /// partner and collector TLV types and lengths, and for version 1 the terminator.
    /// Version 2 and later (802.1AX-2014 LACPv2) may carry more TLVs before the terminator,
    /// so the terminator is not checked there. The kernel checks none of the TLV fields; rbond
    /// refuses such malformed PDUs instead of letting them drive the state machines.
    pub fn decode(pdu: &[u8]) -> Result<Lacpdu, PduError> {
        if pdu.len() < PDU_LEN {
            return Err(PduError::TooShort(pdu.len()));
        }
        if pdu[0] != SUBTYPE_LACP {
            return Err(PduError::Subtype(pdu[0]));
        }
        if pdu[1] == 0 {
            return Err(PduError::Version(pdu[1]));
        }
        let tlv = |off: usize, ty: u8, len: u8| -> Result<(), PduError> {
            if pdu[off] != ty || pdu[off + 1] != len {
                Err(PduError::Tlv(off, pdu[off], pdu[off + 1]))
            } else {
                Ok(())
            }
        };
        tlv(2, TLV_ACTOR, TLV_INFO_LEN)?;
        tlv(22, TLV_PARTNER, TLV_INFO_LEN)?;
        tlv(42, TLV_COLLECTOR, TLV_COLLECTOR_LEN)?;
        if pdu[1] == 1 {
            tlv(58, 0, 0)?;
        }
        Ok(Lacpdu {
            version: pdu[1],
            actor: get_info(&pdu[2..22]),
            partner: get_info(&pdu[22..42]),
            collector_max_delay: u16::from_be_bytes([pdu[44], pdu[45]]),
        })
    }
}

/// A whole 124-byte frame: Slow_Protocols_Multicast ← `src`, EtherType 0x8809, `pdu`.
pub fn frame(src: MacAddr, pdu: &[u8; PDU_LEN]) -> Vec<u8> {
    let mut f = Vec::with_capacity(FRAME_LEN);
    f.extend_from_slice(&SLOW_PROTOCOLS_MAC.0);
    f.extend_from_slice(&src.0);
    f.extend_from_slice(&ETHERTYPE_SLOW.to_be_bytes());
    f.extend_from_slice(pdu);
    f
}

/// What a received frame is, as the kernel's `bond_3ad_lacpdu_recv` sorts it.
#[derive(Debug, PartialEq, Eq)]
pub enum Classified<'a> {
    /// Not a Slow Protocols frame to 01:80:C2:00:00:02: not ours.
    NotSlow,
    /// Ours but fewer than 110 bytes follow the header (counted illegal, passed on).
    TooShort,
    /// Subtype 1; the slice is the PDU.
    Lacp(&'a [u8]),
    /// Subtype 2; the slice is the PDU.
    Marker(&'a [u8]),
    /// Another Slow Protocols subtype (e.g. OAM): counted unknown, passed on.
    Unknown(u8),
}

/// Sort a whole Ethernet frame.
pub fn classify(frame: &[u8]) -> Classified<'_> {
    if frame.len() < ETH_HEADER_LEN
        || frame[0..6] != SLOW_PROTOCOLS_MAC.0
        || u16::from_be_bytes([frame[12], frame[13]]) != ETHERTYPE_SLOW
    {
        return Classified::NotSlow;
    }
    let pdu = &frame[ETH_HEADER_LEN..];
    if pdu.len() < PDU_LEN {
        return Classified::TooShort;
    }
    match pdu[0] {
        SUBTYPE_LACP => Classified::Lacp(pdu),
        SUBTYPE_MARKER => Classified::Marker(pdu),
        s => Classified::Unknown(s),
    }
}

/// A Marker PDU's TLV, once validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkerKind {
    Information,
    Response,
    /// Another TLV type: counted as unknown, as the kernel does.
    Other(u8),
}

/// Validate a Marker PDU (≥ 110 bytes, subtype 2): version ≥ 1 and, for the two defined TLV
/// types, the length 16 that 802.1AX 6.5.3.2 gives.
pub fn check_marker(pdu: &[u8]) -> Result<MarkerKind, PduError> {
    if pdu.len() < PDU_LEN {
        return Err(PduError::TooShort(pdu.len()));
    }
    if pdu[0] != SUBTYPE_MARKER {
        return Err(PduError::Subtype(pdu[0]));
    }
    if pdu[1] == 0 {
        return Err(PduError::Version(0));
    }
    let kind = match pdu[2] {
        MARKER_INFORMATION => MarkerKind::Information,
        MARKER_RESPONSE => MarkerKind::Response,
        t => return Ok(MarkerKind::Other(t)),
    };
    if pdu[3] != MARKER_TLV_LEN {
        return Err(PduError::Tlv(2, pdu[2], pdu[3]));
    }
    Ok(kind)
}

/// The Marker Responder's answer (kernel `ad_marker_info_received`): the received 110 bytes
/// with only byte 2 changed to Marker_Response.
pub fn marker_response(pdu: &[u8]) -> [u8; PDU_LEN] {
    let mut b = [0u8; PDU_LEN];
    let n = pdu.len().min(PDU_LEN);
    b[..n].copy_from_slice(&pdu[..n]);
    b[2] = MARKER_RESPONSE;
    b
}

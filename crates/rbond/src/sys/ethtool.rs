//! Link speed, duplex and link detection through the SIOCETHTOOL ioctl, as the bonding
//! driver reads them (__ethtool_get_link_ksettings, ethtool_op_get_link).

use std::io;
use std::os::fd::AsRawFd;

use rbond_core::types::Duplex;

use super::{cvt, ifreq_named};

// <linux/sockios.h>, <linux/ethtool.h>
const SIOCETHTOOL: libc::c_ulong = 0x8946;
const ETHTOOL_GSET: u32 = 0x01;
const ETHTOOL_GLINK: u32 = 0x0a;
const ETHTOOL_GLINKSETTINGS: u32 = 0x4c;
const DUPLEX_HALF: u8 = 0x00;
const DUPLEX_FULL: u8 = 0x01;
const SPEED_UNKNOWN: u32 = 0xFFFF_FFFF;
/// struct ethtool_link_settings without its trailing link mode masks.
const LINK_SETTINGS_LEN: usize = 48;
/// link_mode_masks_nwords is an s8: at most 127 words per mask, three masks.
const MAX_MASK_WORDS: usize = 3 * 127;

/// Runs one ethtool command on `ifname`; `data` is the command struct (cmd first).
fn ethtool(ifname: &str, data: &mut [u32]) -> io::Result<()> {
    let mut ifr = ifreq_named(ifname)?;
    ifr.ifr_ifru.ifru_data = data.as_mut_ptr().cast();
    let sock = super::socket(libc::AF_INET, libc::SOCK_DGRAM, 0)?;
    // SAFETY: ifr_data points to a buffer large enough for the command's struct.
    cvt(unsafe { libc::ioctl(sock.as_raw_fd(), SIOCETHTOOL as _, &mut ifr) }).map(|_| ())
}

fn speed_of(s: u32) -> Option<u32> {
    (s != 0 && s != SPEED_UNKNOWN && s <= i32::MAX as u32).then_some(s)
}

fn duplex_of(d: u8) -> Duplex {
    match d {
        DUPLEX_HALF => Duplex::Half,
        DUPLEX_FULL => Duplex::Full,
        _ => Duplex::Unknown,
    }
}

/// Speed in Mb/s (None when the driver does not know) and duplex of `ifname`.
/// ETHTOOL_GLINKSETTINGS first, then the legacy ETHTOOL_GSET for old drivers.
pub fn speed_duplex(ifname: &str) -> io::Result<(Option<u32>, Duplex)> {
    // u32 words: [0]=cmd [1]=speed [2]=duplex|port|phy_address|autoneg
    //            [3]=mdio_support|eth_tp_mdix|eth_tp_mdix_ctrl|link_mode_masks_nwords
    let mut b = vec![0u32; LINK_SETTINGS_LEN / 4 + MAX_MASK_WORDS];
    b[0] = ETHTOOL_GLINKSETTINGS;
    // Handshake: with nwords=0 the kernel answers with -(the number it supports).
    match ethtool(ifname, &mut b) {
        Ok(()) => {
            let nwords = (b[3].to_ne_bytes()[3]) as i8;
            if nwords < 0 {
                let want = (-(nwords as i32)) as u8;
                b.iter_mut().for_each(|w| *w = 0);
                b[0] = ETHTOOL_GLINKSETTINGS;
                let mut w3 = b[3].to_ne_bytes();
                w3[3] = want;
                b[3] = u32::from_ne_bytes(w3);
                ethtool(ifname, &mut b)?;
            }
            return Ok((speed_of(b[1]), duplex_of(b[2].to_ne_bytes()[0])));
        }
        Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => {}
        Err(e) => return Err(e),
    }
    // struct ethtool_cmd: [0]=cmd [1]=supported [2]=advertising [3]=speed(u16)|duplex|port
    //                     ... [7]=speed_hi(u16)|mdix|mdix_ctrl
    let mut c = [0u32; 11];
    c[0] = ETHTOOL_GSET;
    ethtool(ifname, &mut c)?;
    let w3 = c[3].to_ne_bytes();
    let lo = u16::from_ne_bytes([w3[0], w3[1]]) as u32;
    let hi = u16::from_ne_bytes(c[7].to_ne_bytes()[..2].try_into().unwrap()) as u32;
    Ok((speed_of(hi << 16 | lo), duplex_of(w3[2])))
}

/// ETHTOOL_GLINK: the driver's link detection (the MII monitor source when use_carrier=0).
pub fn link_detected(ifname: &str) -> io::Result<bool> {
    let mut v = [ETHTOOL_GLINK, 0u32];
    ethtool(ifname, &mut v)?;
    Ok(v[1] != 0)
}

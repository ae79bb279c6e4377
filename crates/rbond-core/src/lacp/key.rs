//! The operational port key (kernel `ad_update_actor_keys`, bond_3ad.c: __get_link_speed, ad key):
//! `(ad_user_port_key << 6) | (speed_code << 1) | duplex_bit`.

use super::{Lacp, PortLink};

/// Bits of the key that hold the duplex flag / the speed code / the user key.
pub const DUPLEX_KEY_MASK: u16 = 0x01;
pub const SPEED_KEY_MASK: u16 = 0x3e;
pub const USER_KEY_MASK: u16 = 0xffc0;

/// The kernel's `AD_LINK_SPEED_*` code for a speed in Mb/s; None for a speed it does not know.
pub fn speed_code(mbps: u32) -> Option<u16> {
    Some(match mbps {
        10 => 2,
        100 => 3,
        1000 => 4,
        2500 => 5,
        5000 => 6,
        10000 => 7,
        14000 => 8,
        20000 => 9,
        25000 => 10,
        40000 => 11,
        50000 => 12,
        56000 => 13,
        100000 => 14,
        200000 => 15,
        400000 => 16,
        800000 => 17,
        _ => return None,
    })
}

/// Mb/s of a link as the kernel's `__get_link_speed` sees it: 0 when down or unknown.
pub fn link_speed_mbps(link: &PortLink) -> u64 {
    match link.speed_mbps {
        Some(s) if link.up && speed_code(s).is_some() => s as u64,
        _ => 0,
    }
}

/// The duplex bit: 1 iff the link is up and full duplex (`__get_duplex`).
pub fn duplex_bit(link: &PortLink) -> u16 {
    u16::from(link.up && link.full_duplex)
}

/// The full key for a user key and a link, as a fresh port would compute it.
pub fn port_key(user_key: u16, link: &PortLink) -> u16 {
    let code = if link.up { link.speed_mbps.and_then(speed_code).unwrap_or(0) } else { 0 };
    (user_key << 6) | (code << 1) | duplex_bit(link)
}

impl Lacp {
    /// `ad_update_actor_keys`: recompute the port key from the link; `reset` (link down) keeps
    /// only the user bits. A changed key sets LACP_Enabled from the duplex bit; a speed change
    /// while full duplex restarts the port's machines (BEGIN).
    pub(super) fn update_actor_keys(&mut self, i: usize, reset: bool) {
        let bond_log_port;
        let mut logs = Vec::new();
        {
            let p = &mut self.ports[i];
            bond_log_port = p.id;
            let old = p.actor_oper_port_key;
            p.actor_admin_port_key &= !(SPEED_KEY_MASK | DUPLEX_KEY_MASK);
            let mut speed = 0u16;
            let mut duplex = 0u16;
            if !reset {
                if let (true, Some(s)) = (p.link.up, p.link.speed_mbps) {
                    match speed_code(s) {
                        Some(c) => speed = c,
                        None => {
                            if !p.unknown_speed_logged {
                                p.unknown_speed_logged = true;
                                logs.push(format!(
                                    "unknown ethtool speed ({s}) for port {} (set it to 0)",
                                    p.actor_port_number
                                ));
                            }
                        }
                    }
                }
                duplex = duplex_bit(&p.link);
                p.actor_admin_port_key |= (speed << 1) | duplex;
            }
            p.actor_oper_port_key = p.actor_admin_port_key;
            if old != p.actor_oper_port_key {
                p.lacp_enabled = duplex != 0;
                if !reset {
                    let ospeed = (old & SPEED_KEY_MASK) >> 1;
                    if speed == 0 {
                        logs.push(format!("speed changed to 0 on port {}", p.actor_port_number));
                    } else if duplex != 0 && ospeed != speed {
                        p.begin = true;
                    }
                }
            }
        }
        for m in logs {
            self.log(Some(bond_log_port), m);
        }
    }
}

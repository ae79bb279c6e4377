//! rtnetlink, spoken directly over a NETLINK_ROUTE socket.
//!
//! Why not the `rtnetlink`/`netlink-packet-route` crates: we need a dozen fixed messages,
//! synchronously; hand-encoding them is ~300 lines with no async runtime and no API churn.
//! Each request opens its own short-lived socket, so it acts on the netns of the calling
//! thread at the time of the call.

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use super::{cvt, cvt_size, setsockopt};

// <linux/netlink.h>
const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x01;
const NLM_F_ACK: u16 = 0x04;
const NLM_F_DUMP: u16 = 0x300;
const NLM_F_REPLACE: u16 = 0x100;
const NLM_F_CREATE: u16 = 0x400;
const NLA_TYPE_MASK: u16 = 0x3fff;
// <linux/rtnetlink.h>
const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_GETLINK: u16 = 18;
const RTM_SETLINK: u16 = 19;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_GETADDR: u16 = 22;
const RTM_NEWROUTE: u16 = 24;
const RTM_DELROUTE: u16 = 25;
const RTMGRP_LINK: u32 = 1;
const RTMGRP_IPV4_IFADDR: u32 = 0x10;
const RTMGRP_IPV6_IFADDR: u32 = 0x100;
const RT_TABLE_MAIN: u8 = 254;
const RTPROT_STATIC: u8 = 4;
const RT_SCOPE_UNIVERSE: u8 = 0;
const RT_SCOPE_NOWHERE: u8 = 255;
const RTN_UNICAST: u8 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
// <linux/if_link.h>
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_MASTER: u16 = 10;
const IFLA_PERM_ADDRESS: u16 = 54;
// <linux/if_addr.h>
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
// <linux/if.h>
const IFF_UP: u32 = 0x1;
const IFF_LOWER_UP: u32 = 0x10000;
const IFF_LOOPBACK: u32 = 0x8;

const IFINFOMSG_LEN: usize = 16;
const IFADDRMSG_LEN: usize = 8;
const RTMSG_LEN: usize = 12;

/// What rtnetlink says about one interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    pub index: u32,
    pub name: String,
    pub mac: [u8; 6],
    /// IFLA_PERM_ADDRESS; only reported by drivers that have one (not veth, not tap).
    pub perm_mac: Option<[u8; 6]>,
    pub mtu: u32,
    /// IFF_UP
    pub admin_up: bool,
    /// IFF_LOWER_UP: running and carrier ok
    pub carrier: bool,
    /// IFLA_MASTER (kernel bridge/bond master), not rbond's own enslavement.
    pub master: Option<u32>,
    /// IFF_LOOPBACK
    pub loopback: bool,
}

/// One notification from `LinkEvents`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkEvent {
    /// RTM_NEWLINK: created or changed (flags, carrier, MAC, MTU, name ...).
    Changed(LinkInfo),
    /// RTM_NEWADDR / RTM_DELADDR: an address of interface `index` came or went.
    Addr { index: u32 },
    /// RTM_DELLINK: the interface is gone.
    Removed { index: u32, name: String },
    /// The socket's receive queue overflowed (ENOBUFS): events were lost, re-read the
    /// state of every interface of interest.
    Overrun,
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// A request under construction: nlmsghdr + fixed family header + attributes.
struct Msg(Vec<u8>);

impl Msg {
    fn new(ty: u16, flags: u16, family_hdr: &[u8]) -> Msg {
        let mut b = vec![0u8; NLMSG_HDRLEN];
        b[4..6].copy_from_slice(&ty.to_ne_bytes());
        b[6..8].copy_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        b.extend_from_slice(family_hdr);
        b.resize(align4(b.len()), 0);
        Msg(b)
    }

    fn attr(mut self, ty: u16, data: &[u8]) -> Msg {
        let len = (4 + data.len()) as u16;
        self.0.extend_from_slice(&len.to_ne_bytes());
        self.0.extend_from_slice(&ty.to_ne_bytes());
        self.0.extend_from_slice(data);
        self.0.resize(align4(self.0.len()), 0);
        self
    }

    fn finish(mut self, seq: u32) -> Vec<u8> {
        let len = self.0.len() as u32;
        self.0[0..4].copy_from_slice(&len.to_ne_bytes());
        self.0[8..12].copy_from_slice(&seq.to_ne_bytes());
        self.0
    }
}

fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_ne_bytes([b[off], b[off + 1]])
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// Splits a buffer of netlink messages into (type, flags, seq, payload).
fn messages(mut b: &[u8]) -> impl Iterator<Item = (u16, u32, &[u8])> {
    std::iter::from_fn(move || {
        if b.len() < NLMSG_HDRLEN {
            return None;
        }
        let len = u32_at(b, 0) as usize;
        if len < NLMSG_HDRLEN || len > b.len() {
            return None;
        }
        let item = (u16_at(b, 4), u32_at(b, 8), &b[NLMSG_HDRLEN..len]);
        b = &b[align4(len).min(b.len())..];
        Some(item)
    })
}

/// Iterates over the rtattrs of a payload (type without the nested/byteorder bits, data).
fn attrs(mut b: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if b.len() < 4 {
            return None;
        }
        let len = u16_at(b, 0) as usize;
        if len < 4 || len > b.len() {
            return None;
        }
        let item = (u16_at(b, 2) & NLA_TYPE_MASK, &b[4..len]);
        b = &b[align4(len).min(b.len())..];
        Some(item)
    })
}

fn mac_of(d: &[u8]) -> Option<[u8; 6]> {
    d.get(..6).map(|m| m.try_into().unwrap())
}

fn cstr(d: &[u8]) -> String {
    let end = d.iter().position(|&c| c == 0).unwrap_or(d.len());
    String::from_utf8_lossy(&d[..end]).into_owned()
}

fn parse_link(p: &[u8]) -> Option<LinkInfo> {
    if p.len() < IFINFOMSG_LEN {
        return None;
    }
    let flags = u32_at(p, 8);
    let mut li = LinkInfo {
        index: u32_at(p, 4),
        name: String::new(),
        mac: [0; 6],
        perm_mac: None,
        mtu: 0,
        admin_up: flags & IFF_UP != 0,
        carrier: flags & IFF_LOWER_UP != 0,
        master: None,
        loopback: flags & IFF_LOOPBACK != 0,
    };
    for (ty, d) in attrs(&p[IFINFOMSG_LEN..]) {
        match ty {
            IFLA_IFNAME => li.name = cstr(d),
            IFLA_ADDRESS => li.mac = mac_of(d).unwrap_or([0; 6]),
            IFLA_PERM_ADDRESS => li.perm_mac = mac_of(d),
            IFLA_MTU if d.len() >= 4 => li.mtu = u32_at(d, 0),
            IFLA_MASTER if d.len() >= 4 => li.master = Some(u32_at(d, 0)).filter(|&m| m != 0),
            _ => {}
        }
    }
    Some(li)
}

fn ifinfomsg(index: u32, flags: u32, change: u32) -> [u8; IFINFOMSG_LEN] {
    let mut h = [0u8; IFINFOMSG_LEN];
    h[0] = libc::AF_UNSPEC as u8;
    h[4..8].copy_from_slice(&(index as i32).to_ne_bytes());
    h[8..12].copy_from_slice(&flags.to_ne_bytes());
    h[12..16].copy_from_slice(&change.to_ne_bytes());
    h
}

fn ifaddrmsg(family: u8, prefix: u8, index: u32) -> [u8; IFADDRMSG_LEN] {
    let mut h = [0u8; IFADDRMSG_LEN];
    h[0] = family;
    h[1] = prefix;
    h[3] = RT_SCOPE_UNIVERSE;
    h[4..8].copy_from_slice(&index.to_ne_bytes());
    h
}

fn family_of(a: &IpAddr) -> u8 {
    match a {
        IpAddr::V4(_) => libc::AF_INET as u8,
        IpAddr::V6(_) => libc::AF_INET6 as u8,
    }
}

fn addr_bytes(a: &IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(v) => v.octets().to_vec(),
        IpAddr::V6(v) => v.octets().to_vec(),
    }
}

fn addr_from(family: u8, d: &[u8]) -> Option<IpAddr> {
    match (family as i32, d.len()) {
        (libc::AF_INET, 4) => Some(IpAddr::from(<[u8; 4]>::try_from(d).unwrap())),
        (libc::AF_INET6, 16) => Some(IpAddr::from(<[u8; 16]>::try_from(d).unwrap())),
        _ => None,
    }
}

/// A NETLINK_ROUTE socket in the calling thread's netns.
struct NlSocket {
    fd: OwnedFd,
}

impl NlSocket {
    fn open(groups: u32, nonblock: bool) -> io::Result<NlSocket> {
        Self::open_proto(libc::NETLINK_ROUTE, groups, nonblock)
    }

    fn open_proto(proto: libc::c_int, groups: u32, nonblock: bool) -> io::Result<NlSocket> {
        let ty = libc::SOCK_RAW | if nonblock { libc::SOCK_NONBLOCK } else { 0 };
        let fd = super::socket(libc::AF_NETLINK, ty, proto)?;
        // SAFETY: sockaddr_nl is plain old data.
        let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        sa.nl_family = libc::AF_NETLINK as u16;
        sa.nl_groups = groups;
        // SAFETY: sa is a valid sockaddr_nl of the given length.
        cvt(unsafe {
            libc::bind(
                fd.as_raw_fd(),
                &sa as *const libc::sockaddr_nl as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        })?;
        if !nonblock {
            // A request must never hang the daemon.
            let tv = libc::timeval { tv_sec: 5, tv_usec: 0 };
            setsockopt(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RCVTIMEO, &tv)?;
        }
        Ok(NlSocket { fd })
    }

    fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: buf is valid for buf.len() bytes.
        let n = cvt_size(unsafe {
            libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), libc::MSG_TRUNC)
        })?;
        if n > buf.len() {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "netlink message truncated"));
        }
        Ok(n)
    }

    /// Sends one request and collects the payloads of its data replies; ends at the ACK
    /// (error 0), an error, or NLMSG_DONE.
    fn request(&self, msg: Msg) -> io::Result<Vec<(u16, Vec<u8>)>> {
        const SEQ: u32 = 1; // one request per socket
        let req = msg.finish(SEQ);
        // SAFETY: req is a valid buffer; the kernel is the default destination.
        let n = cvt_size(unsafe { libc::send(self.fd.as_raw_fd(), req.as_ptr().cast(), req.len(), 0) })?;
        if n != req.len() {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "short netlink send"));
        }
        let mut out = Vec::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = self.recv(&mut buf)?;
            for (ty, seq, p) in messages(&buf[..n]) {
                if seq != SEQ {
                    continue;
                }
                match ty {
                    NLMSG_ERROR | NLMSG_DONE => {
                        let err = if p.len() >= 4 { u32_at(p, 0) as i32 } else { 0 };
                        return if err == 0 { Ok(out) } else { Err(io::Error::from_raw_os_error(-err)) };
                    }
                    _ => out.push((ty, p.to_vec())),
                }
            }
        }
    }
}

fn request(msg: Msg) -> io::Result<Vec<(u16, Vec<u8>)>> {
    NlSocket::open(0, false)?.request(msg)
}

fn get_link(msg: Msg) -> io::Result<Option<LinkInfo>> {
    match request(msg) {
        Ok(replies) => Ok(replies.iter().filter(|(t, _)| *t == RTM_NEWLINK).find_map(|(_, p)| parse_link(p))),
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The interface called `name`, or None if there is none.
pub fn link_by_name(name: &str) -> io::Result<Option<LinkInfo>> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ {
        return Ok(None);
    }
    let mut n = name.as_bytes().to_vec();
    n.push(0);
    get_link(Msg::new(RTM_GETLINK, NLM_F_ACK, &ifinfomsg(0, 0, 0)).attr(IFLA_IFNAME, &n))
}

/// The interface with index `index`, or None if there is none.
pub fn link_by_index(index: u32) -> io::Result<Option<LinkInfo>> {
    if index == 0 || index > i32::MAX as u32 {
        return Ok(None);
    }
    get_link(Msg::new(RTM_GETLINK, NLM_F_ACK, &ifinfomsg(index, 0, 0)))
}

/// Every interface of the namespace, from one RTM_GETLINK dump: what the MII monitor's poll
/// reads each tick, one request for all slaves instead of one per slave.
pub fn links() -> io::Result<Vec<LinkInfo>> {
    let replies = request(Msg::new(RTM_GETLINK, NLM_F_DUMP, &ifinfomsg(0, 0, 0)))?;
    Ok(replies.iter().filter(|(t, _)| *t == RTM_NEWLINK).filter_map(|(_, p)| parse_link(p)).collect())
}

fn set_link(index: u32, flags: u32, change: u32, attr: Option<(u16, &[u8])>) -> io::Result<()> {
    let mut m = Msg::new(RTM_SETLINK, NLM_F_ACK, &ifinfomsg(index, flags, change));
    if let Some((ty, d)) = attr {
        m = m.attr(ty, d);
    }
    request(m).map(|_| ())
}

/// `ip link set dev X up|down`
pub fn set_up(index: u32, up: bool) -> io::Result<()> {
    set_link(index, if up { IFF_UP } else { 0 }, IFF_UP, None)
}

/// `ip link set dev X address M`. Drivers without live MAC change return EBUSY while up.
pub fn set_mac(index: u32, mac: [u8; 6]) -> io::Result<()> {
    set_link(index, 0, 0, Some((IFLA_ADDRESS, &mac)))
}

/// `ip link set dev X mtu N`
pub fn set_mtu(index: u32, mtu: u32) -> io::Result<()> {
    set_link(index, 0, 0, Some((IFLA_MTU, &mtu.to_ne_bytes())))
}

/// `ip addr replace A/P dev X` (idempotent).
pub fn add_address(index: u32, addr: IpAddr, prefix: u8) -> io::Result<()> {
    let a = addr_bytes(&addr);
    let m = Msg::new(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, &ifaddrmsg(family_of(&addr), prefix, index))
        .attr(IFA_LOCAL, &a)
        .attr(IFA_ADDRESS, &a);
    request(m).map(|_| ())
}

/// `ip addr del A/P dev X`; Ok if it was not there.
pub fn del_address(index: u32, addr: IpAddr, prefix: u8) -> io::Result<()> {
    let a = addr_bytes(&addr);
    let m = Msg::new(RTM_DELADDR, NLM_F_ACK, &ifaddrmsg(family_of(&addr), prefix, index))
        .attr(IFA_LOCAL, &a)
        .attr(IFA_ADDRESS, &a);
    match request(m) {
        Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => Ok(()),
        r => r.map(|_| ()),
    }
}

/// IPv4 and IPv6 addresses on interface `index` (IPv6 link-local ones included).
pub fn addresses(index: u32) -> io::Result<Vec<(IpAddr, u8)>> {
    let replies = request(Msg::new(RTM_GETADDR, NLM_F_DUMP, &ifaddrmsg(libc::AF_UNSPEC as u8, 0, 0)))?;
    let mut out = Vec::new();
    for (ty, p) in replies {
        if ty != RTM_NEWADDR || p.len() < IFADDRMSG_LEN || u32_at(&p, 4) != index {
            continue;
        }
        let (family, prefix) = (p[0], p[1]);
        // IFA_LOCAL is the address itself; IFA_ADDRESS is the peer on point-to-point links.
        let mut local = None;
        let mut address = None;
        for (t, d) in attrs(&p[IFADDRMSG_LEN..]) {
            match t {
                IFA_LOCAL => local = addr_from(family, d),
                IFA_ADDRESS => address = addr_from(family, d),
                _ => {}
            }
        }
        if let Some(a) = local.or(address) {
            out.push((a, prefix));
        }
    }
    Ok(out)
}

fn rtmsg(family: u8, scope: u8, ty: u8, protocol: u8) -> [u8; RTMSG_LEN] {
    // family, dst_len, src_len, tos, table, protocol, scope, type, flags(u32)
    [family, 0, 0, 0, RT_TABLE_MAIN, protocol, scope, ty, 0, 0, 0, 0]
}

/// `ip route replace default via GW [dev OIF]` in the main table.
pub fn replace_default_route(gw: IpAddr, oif: Option<u32>) -> io::Result<()> {
    let mut m = Msg::new(
        RTM_NEWROUTE,
        NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
        &rtmsg(family_of(&gw), RT_SCOPE_UNIVERSE, RTN_UNICAST, RTPROT_STATIC),
    )
    .attr(RTA_GATEWAY, &addr_bytes(&gw));
    if let Some(oif) = oif {
        m = m.attr(RTA_OIF, &oif.to_ne_bytes());
    }
    request(m).map(|_| ())
}

/// `ip route del default via GW` from the main table; Ok if there is no such route.
pub fn del_default_route(gw: IpAddr) -> io::Result<()> {
    let m = Msg::new(RTM_DELROUTE, NLM_F_ACK, &rtmsg(family_of(&gw), RT_SCOPE_NOWHERE, 0, 0))
        .attr(RTA_GATEWAY, &addr_bytes(&gw));
    match request(m) {
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
        r => r.map(|_| ()),
    }
}

// <linux/neighbour.h>
const RTM_NEWNEIGH: u16 = 28;
const RTM_DELNEIGH: u16 = 29;
const RTM_GETNEIGH: u16 = 30;
const NDA_DST: u16 = 1;
const NUD_INCOMPLETE: u16 = 0x01;
const NUD_FAILED: u16 = 0x20;
const NDMSG_LEN: usize = 12;

/// Deletes the neighbour entries of interface `index` that are still being resolved or
/// failed (`ip neigh flush dev X nud incomplete nud failed`); returns how many.
///
/// Why: while no daemon ran, the host's stack kept sending into the bond and its ARP/ND
/// requests went nowhere, so the peer's entry sits in INCOMPLETE and the next request
/// waits for the retransmit timer (retrans_time_ms, 1 s by default). Deleted, the next
/// packet starts a new resolution at once (neigh_event_send from NUD_NONE).
pub fn flush_unresolved_neighbours(index: u32) -> io::Result<usize> {
    let hdr = |family: u8, state: u16| {
        let mut h = [0u8; NDMSG_LEN];
        h[0] = family;
        h[4..8].copy_from_slice(&(index as i32).to_ne_bytes());
        h[8..10].copy_from_slice(&state.to_ne_bytes());
        h
    };
    let replies = request(Msg::new(RTM_GETNEIGH, NLM_F_DUMP, &hdr(libc::AF_UNSPEC as u8, 0)))?;
    let mut n = 0;
    for (ty, p) in replies {
        if ty != RTM_NEWNEIGH || p.len() < NDMSG_LEN || u32_at(&p, 4) != index {
            continue;
        }
        let state = u16::from_ne_bytes([p[8], p[9]]);
        if state & (NUD_INCOMPLETE | NUD_FAILED) == 0 {
            continue;
        }
        let Some(dst) = attrs(&p[NDMSG_LEN..]).find(|(t, _)| *t == NDA_DST).map(|(_, d)| d.to_vec()) else { continue };
        let m = Msg::new(RTM_DELNEIGH, NLM_F_ACK, &hdr(p[0], 0)).attr(NDA_DST, &dst);
        match request(m) {
            Ok(_) => n += 1,
            // Resolved or gone in the meantime.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// A NETLINK_ROUTE socket subscribed to RTNLGRP_LINK (O_NONBLOCK): instant carrier, admin
/// state, MAC/MTU changes and removals of interfaces in the calling thread's netns.
#[derive(Debug)]
pub struct LinkEvents {
    fd: OwnedFd,
    buf: Vec<u8>,
}

impl LinkEvents {
    pub fn open() -> io::Result<Self> {
        let s = NlSocket::open(RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR, true)?;
        // Bursts (many slaves flapping) must not overflow; if they do we report Overrun.
        let _ = setsockopt(s.fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RCVBUF, &(1 << 20) as &libc::c_int);
        Ok(LinkEvents { fd: s.fd, buf: vec![0u8; 1 << 16] })
    }

    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Every event queued so far, in order; empty when none (never `WouldBlock`).
    pub fn drain(&mut self) -> io::Result<Vec<LinkEvent>> {
        let mut out = Vec::new();
        loop {
            // SAFETY: buf is valid for its length.
            let r = unsafe {
                libc::recv(self.fd.as_raw_fd(), self.buf.as_mut_ptr().cast(), self.buf.len(), libc::MSG_TRUNC)
            };
            let n = match cvt_size(r) {
                Ok(n) => n.min(self.buf.len()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(out),
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    out.push(LinkEvent::Overrun);
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            for (ty, _, p) in messages(&self.buf[..n]) {
                match ty {
                    RTM_NEWADDR | RTM_DELADDR => {
                        // struct ifaddrmsg: family, prefixlen, flags, scope, then the index.
                        if let Some(ix) = p.get(4..8) {
                            out.push(LinkEvent::Addr { index: u32::from_ne_bytes([ix[0], ix[1], ix[2], ix[3]]) });
                        }
                    }
                    _ => match (ty, parse_link(p)) {
                        (RTM_NEWLINK, Some(li)) => out.push(LinkEvent::Changed(li)),
                        (RTM_DELLINK, Some(li)) => out.push(LinkEvent::Removed { index: li.index, name: li.name }),
                        _ => {}
                    },
                }
            }
        }
    }
}

// ----- interface alias (IFLA_IFALIAS) ---------------------------------------------------

// <linux/if_link.h>: IFLA_IFALIAS = 20, a string of at most IFALIASZ (256) bytes; the kernel
// (dev_set_alias) clears the alias when the attribute is empty.
const IFLA_IFALIAS: u16 = 20;
const IFALIASZ: usize = 256;

/// `ip link set dev X alias TEXT`: sets the interface's alias (`ip link` shows it as
/// `alias TEXT`; /sys/class/net/X/ifalias). An empty text removes it. Longer texts are cut
/// at a character boundary below the kernel's limit.
pub fn set_alias(index: u32, alias: &str) -> io::Result<()> {
    let mut end = alias.len().min(IFALIASZ - 1);
    while !alias.is_char_boundary(end) {
        end -= 1;
    }
    set_link(index, 0, 0, Some((IFLA_IFALIAS, &alias.as_bytes()[..end])))
}

/// The interface's alias now (None: it has none, or there is no such interface).
pub fn alias(index: u32) -> io::Result<Option<String>> {
    if index == 0 || index > i32::MAX as u32 {
        return Ok(None);
    }
    let replies = match request(Msg::new(RTM_GETLINK, NLM_F_ACK, &ifinfomsg(index, 0, 0))) {
        Ok(r) => r,
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(replies
        .iter()
        .filter(|(t, p)| *t == RTM_NEWLINK && p.len() >= IFINFOMSG_LEN)
        .flat_map(|(_, p)| attrs(&p[IFINFOMSG_LEN..]).filter(|(ty, _)| *ty == IFLA_IFALIAS).map(|(_, d)| cstr(d)).collect::<Vec<_>>())
        .find(|a| !a.is_empty()))
}

// <linux/netfilter/nfnetlink.h>, <linux/netfilter/nf_tables.h>
const NFNLGRP_NFTABLES: u32 = 7;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_MSG_DELTABLE: u16 = 2;
const NFT_MSG_DELCHAIN: u16 = 5;
const NFT_MSG_DELRULE: u16 = 8;
/// NFTA_TABLE_NAME, NFTA_CHAIN_TABLE and NFTA_RULE_TABLE are all attribute 1.
const NFTA_TABLE: u16 = 1;
const NFGENMSG_LEN: usize = 4;

/// Deletions in nftables (tables, chains, rules), as the kernel multicasts them to
/// NFNLGRP_NFTABLES listeners: what tells the daemon at once that someone removed a slave's
/// isolation from outside, without polling `nft`.
pub struct NftEvents {
    fd: OwnedFd,
    buf: Vec<u8>,
}

impl NftEvents {
    pub fn open() -> io::Result<Self> {
        let s = NlSocket::open_proto(libc::NETLINK_NETFILTER, 1 << (NFNLGRP_NFTABLES - 1), true)?;
        Ok(NftEvents { fd: s.fd, buf: vec![0u8; 1 << 16] })
    }

    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// The tables something was deleted from since the last call (names, possibly repeated).
    /// An overrun is reported as the name `*` (check everything).
    pub fn drain(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            // SAFETY: buf is valid for its length.
            let r = unsafe { libc::recv(self.fd.as_raw_fd(), self.buf.as_mut_ptr().cast(), self.buf.len(), libc::MSG_TRUNC) };
            let n = match cvt_size(r) {
                Ok(n) => n.min(self.buf.len()),
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    out.push("*".to_string());
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return out,
            };
            for (ty, _, p) in messages(&self.buf[..n]) {
                let (subsys, msg) = (ty >> 8, ty & 0xff);
                if subsys != NFNL_SUBSYS_NFTABLES || !matches!(msg, NFT_MSG_DELTABLE | NFT_MSG_DELCHAIN | NFT_MSG_DELRULE) {
                    continue;
                }
                let Some(body) = p.get(NFGENMSG_LEN..) else { continue };
                for (a, v) in attrs(body) {
                    if a == NFTA_TABLE {
                        let name = v.split(|&b| b == 0).next().unwrap_or(&[]);
                        out.push(String::from_utf8_lossy(name).into_owned());
                    }
                }
            }
        }
    }
}

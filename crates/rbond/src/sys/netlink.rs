//! rtnetlink over NETLINK_ROUTE sockets, with the message types of `netlink-packet-route`.
//!
//! Requests are built as `RouteNetlinkMessage`s and framed by `netlink-packet-core`; they go
//! out on a synchronous `netlink_sys::Socket` (no async runtime: the daemon is a poll(2)
//! loop and the `LinkEvents` fd is one of its fds). Each request opens its own short-lived
//! socket, so it acts on the netns of the calling thread at the time of the call.
//!
//! Link replies are decoded attribute by attribute, and only the attributes `LinkInfo`
//! holds: the kernel sends some 50 per link (statistics, per-family device configuration,
//! XDP ...), and decoding all of them into a `LinkMessage` costs more than the syscalls of
//! the once-a-second backstop dump (figures in the README, ARCHITECTURE); it also means one
//! attribute the crate cannot decode (a newer kernel's) does not hide the whole link.

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, RawFd};

use netlink_packet_core::{
    DefaultNla, DoneBuffer, Emitable, ErrorBuffer, ErrorMessage, NetlinkBuffer, NetlinkHeader, NetlinkMessage,
    NetlinkPayload, NlasIterator, Parseable, ParseableParametrized, NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_CREATE,
    NLM_F_DUMP, NLM_F_REPLACE, NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressHeader, AddressMessage, AddressScope};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkHeader, LinkMessage};
use netlink_packet_route::neighbour::{NeighbourAttribute, NeighbourMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols, Socket, SocketAddr};

use super::setsockopt;

// Message types and multicast groups (<linux/rtnetlink.h>) for dispatching on a reply's
// nlmsghdr before decoding it: netlink-packet-route keeps its RTM_* constants private.
const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_NEWNEIGH: u16 = 28;
const RTMGRP_LINK: u32 = 1;
const RTMGRP_IPV4_IFADDR: u32 = 0x10;
const RTMGRP_IPV6_IFADDR: u32 = 0x100;
// The link attributes `LinkInfo` and `alias` read (<linux/if_link.h>); the others are
// skipped without being decoded.
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_MASTER: u16 = 10;
const IFLA_IFALIAS: u16 = 20;
const IFLA_PERM_ADDRESS: u16 = 54;
const LINK_INFO_ATTRS: &[u16] = &[IFLA_IFNAME, IFLA_ADDRESS, IFLA_PERM_ADDRESS, IFLA_MTU, IFLA_MASTER];
// <linux/neighbour.h>
const NUD_INCOMPLETE: u16 = 0x01;
const NUD_FAILED: u16 = 0x20;

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

/// Splits a buffer of netlink messages into (type, sequence number, payload); stops at the
/// first malformed header (as NLMSG_OK does).
fn messages(mut b: &[u8]) -> impl Iterator<Item = (u16, u32, &[u8])> {
    std::iter::from_fn(move || {
        let nl = NetlinkBuffer::new_checked(b).ok()?;
        let item = (nl.message_type(), nl.sequence_number(), nl.payload());
        // NLMSG_ALIGN: messages in one datagram start on 4-byte boundaries.
        let next = (nl.length() as usize + 3) & !3;
        b = &b[next.min(b.len())..];
        Some(item)
    })
}

/// The header of an ifinfomsg payload and its attributes of a kind in `kinds`, decoded by
/// netlink-packet-route; an attribute it cannot decode is left out, not the link.
fn link_attrs<'a>(p: &'a [u8], kinds: &'a [u16]) -> Option<(LinkHeader, impl Iterator<Item = LinkAttribute> + 'a)> {
    let header = LinkHeader::parse(p).ok()?;
    let family = header.interface_family;
    let rest = p.get(header.buffer_len()..)?;
    let attrs = NlasIterator::new(rest)
        .filter_map(Result::ok)
        .filter(move |nla| kinds.contains(&nla.kind()))
        .filter_map(move |nla| LinkAttribute::parse_with_param(&nla, family).ok());
    Some((header, attrs))
}

fn mac_of(d: &[u8]) -> Option<[u8; 6]> {
    d.get(..6).map(|m| m.try_into().unwrap())
}

fn parse_link(p: &[u8]) -> Option<LinkInfo> {
    let (h, attrs) = link_attrs(p, LINK_INFO_ATTRS)?;
    let mut li = LinkInfo {
        index: h.index,
        name: String::new(),
        mac: [0; 6],
        perm_mac: None,
        mtu: 0,
        admin_up: h.flags.contains(LinkFlags::Up),
        carrier: h.flags.contains(LinkFlags::LowerUp),
        master: None,
        loopback: h.flags.contains(LinkFlags::Loopback),
    };
    for a in attrs {
        match a {
            LinkAttribute::IfName(n) => li.name = n,
            LinkAttribute::Address(m) => li.mac = mac_of(&m).unwrap_or([0; 6]),
            LinkAttribute::PermAddress(m) => li.perm_mac = mac_of(&m),
            LinkAttribute::Mtu(m) => li.mtu = m,
            LinkAttribute::Controller(m) => li.master = Some(m).filter(|&m| m != 0),
            _ => {}
        }
    }
    Some(li)
}

fn family_of(a: &IpAddr) -> AddressFamily {
    match a {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}

/// A netlink socket of protocol `proto` in the calling thread's netns, bound to the
/// multicast `groups` (a bitmask, as in sockaddr_nl.nl_groups).
fn open_socket(proto: isize, groups: u32, nonblock: bool) -> io::Result<Socket> {
    let mut s = Socket::new(proto)?;
    s.bind(&SocketAddr::new(0, groups))?;
    if nonblock {
        s.set_non_blocking(true)?;
    } else {
        // A request must never hang the daemon.
        let tv = libc::timeval { tv_sec: 5, tv_usec: 0 };
        setsockopt(s.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RCVTIMEO, &tv)?;
    }
    Ok(s)
}

/// One datagram into `buf`; a datagram longer than `buf` is an error, not a silent cut.
fn recv(s: &Socket, buf: &mut [u8]) -> io::Result<usize> {
    let len = buf.len();
    let n = s.recv(&mut &mut buf[..], libc::MSG_TRUNC)?;
    if n > len {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "netlink message truncated"));
    }
    Ok(n)
}

/// The errno of an NLMSG_ERROR (None: an ACK) or NLMSG_DONE payload.
fn status(ty: u16, p: &[u8]) -> io::Result<Option<io::Error>> {
    let bad = |e| io::Error::new(io::ErrorKind::InvalidData, format!("netlink: {e}"));
    if ty == NLMSG_ERROR {
        let e = ErrorBuffer::new_checked(&p).and_then(|b| ErrorMessage::parse(&b)).map_err(bad)?;
        Ok(e.code.map(|_| e.to_io()))
    } else {
        // The kernel may send NLMSG_DONE without the error code.
        let code = if p.is_empty() { 0 } else { DoneBuffer::new_checked(p).map_err(bad)?.code() };
        Ok((code != 0).then(|| io::Error::from_raw_os_error(code.abs())))
    }
}

/// Sends `msg` with NLM_F_REQUEST | `flags` on a socket of its own and hands every data
/// reply (type, payload) to `each`, keeping what it returns; ends at the ACK, an error
/// (the kernel's errno), or NLMSG_DONE.
fn request<T>(msg: RouteNetlinkMessage, flags: u16, mut each: impl FnMut(u16, &[u8]) -> Option<T>) -> io::Result<Vec<T>> {
    const SEQ: u32 = 1; // one request per socket
    let s = open_socket(protocols::NETLINK_ROUTE, 0, false)?;
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | flags;
    header.sequence_number = SEQ;
    let mut m = NetlinkMessage::new(header, NetlinkPayload::from(msg));
    m.finalize();
    let mut req = vec![0u8; m.buffer_len()];
    m.serialize(&mut req);
    if s.send(&req, 0)? != req.len() {
        return Err(io::Error::new(io::ErrorKind::WriteZero, "short netlink send"));
    }
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = recv(&s, &mut buf)?;
        for (ty, seq, p) in messages(&buf[..n]) {
            if seq != SEQ {
                continue;
            }
            match ty {
                NLMSG_ERROR | NLMSG_DONE => {
                    return match status(ty, p)? {
                        None => Ok(out),
                        Some(e) => Err(e),
                    };
                }
                _ => out.extend(each(ty, p)),
            }
        }
    }
}

fn link_msg(index: u32) -> LinkMessage {
    let mut m = LinkMessage::default();
    m.header.interface_family = AddressFamily::Unspec;
    m.header.index = index;
    m
}

fn get_link(m: LinkMessage) -> io::Result<Option<LinkInfo>> {
    match request(RouteNetlinkMessage::GetLink(m), NLM_F_ACK, |ty, p| (ty == RTM_NEWLINK).then(|| parse_link(p)).flatten()) {
        Ok(mut replies) => Ok(replies.pop()),
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The interface called `name`, or None if there is none.
pub fn link_by_name(name: &str) -> io::Result<Option<LinkInfo>> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ {
        return Ok(None);
    }
    let mut m = link_msg(0);
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    get_link(m)
}

/// The interface with index `index`, or None if there is none.
pub fn link_by_index(index: u32) -> io::Result<Option<LinkInfo>> {
    if index == 0 || index > i32::MAX as u32 {
        return Ok(None);
    }
    get_link(link_msg(index))
}

/// Every interface of the namespace, from one RTM_GETLINK dump: what the MII monitor's poll
/// reads each tick, one request for all slaves instead of one per slave.
pub fn links() -> io::Result<Vec<LinkInfo>> {
    request(RouteNetlinkMessage::GetLink(link_msg(0)), NLM_F_DUMP, |ty, p| (ty == RTM_NEWLINK).then(|| parse_link(p)).flatten())
}

fn set_link(index: u32, flags: LinkFlags, change: LinkFlags, attr: Option<LinkAttribute>) -> io::Result<()> {
    let mut m = link_msg(index);
    m.header.flags = flags;
    m.header.change_mask = change;
    m.attributes.extend(attr);
    request(RouteNetlinkMessage::SetLink(m), NLM_F_ACK, |_, _| None::<()>).map(|_| ())
}

/// `ip link set dev X up|down`
pub fn set_up(index: u32, up: bool) -> io::Result<()> {
    set_link(index, if up { LinkFlags::Up } else { LinkFlags::empty() }, LinkFlags::Up, None)
}

/// `ip link set dev X address M`. Drivers without live MAC change return EBUSY while up.
pub fn set_mac(index: u32, mac: [u8; 6]) -> io::Result<()> {
    set_link(index, LinkFlags::empty(), LinkFlags::empty(), Some(LinkAttribute::Address(mac.to_vec())))
}

/// `ip link set dev X mtu N`
pub fn set_mtu(index: u32, mtu: u32) -> io::Result<()> {
    set_link(index, LinkFlags::empty(), LinkFlags::empty(), Some(LinkAttribute::Mtu(mtu)))
}

fn addr_msg(index: u32, addr: IpAddr, prefix: u8) -> AddressMessage {
    let mut m = AddressMessage::default();
    m.header.family = family_of(&addr);
    m.header.prefix_len = prefix;
    m.header.scope = AddressScope::Universe;
    m.header.index = index;
    m.attributes.push(AddressAttribute::Local(addr));
    m.attributes.push(AddressAttribute::Address(addr));
    m
}

/// `ip addr replace A/P dev X` (idempotent).
pub fn add_address(index: u32, addr: IpAddr, prefix: u8) -> io::Result<()> {
    let m = addr_msg(index, addr, prefix);
    request(RouteNetlinkMessage::NewAddress(m), NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, |_, _| None::<()>).map(|_| ())
}

/// `ip addr del A/P dev X`; Ok if it was not there.
pub fn del_address(index: u32, addr: IpAddr, prefix: u8) -> io::Result<()> {
    match request(RouteNetlinkMessage::DelAddress(addr_msg(index, addr, prefix)), NLM_F_ACK, |_, _| None::<()>) {
        Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => Ok(()),
        r => r.map(|_| ()),
    }
}

/// IPv4 and IPv6 addresses on interface `index` (IPv6 link-local ones included).
pub fn addresses(index: u32) -> io::Result<Vec<(IpAddr, u8)>> {
    let mut m = AddressMessage::default();
    m.header.family = AddressFamily::Unspec;
    request(RouteNetlinkMessage::GetAddress(m), NLM_F_DUMP, |ty, p| {
        if ty != RTM_NEWADDR {
            return None;
        }
        let a = AddressMessage::parse(p).ok().filter(|a| a.header.index == index)?;
        // IFA_LOCAL is the address itself; IFA_ADDRESS is the peer on point-to-point links.
        let (mut local, mut address) = (None, None);
        for attr in &a.attributes {
            match attr {
                AddressAttribute::Local(ip) => local = Some(*ip),
                AddressAttribute::Address(ip) => address = Some(*ip),
                _ => {}
            }
        }
        local.or(address).map(|ip| (ip, a.header.prefix_len))
    })
}

fn route_msg(gw: IpAddr, scope: RouteScope, kind: RouteType, protocol: RouteProtocol) -> RouteMessage {
    let mut m = RouteMessage::default();
    m.header.address_family = family_of(&gw);
    m.header.table = RouteHeader::RT_TABLE_MAIN;
    m.header.protocol = protocol;
    m.header.scope = scope;
    m.header.kind = kind;
    m.attributes.push(RouteAttribute::Gateway(RouteAddress::from(gw)));
    m
}

/// `ip route replace default via GW [dev OIF]` in the main table.
pub fn replace_default_route(gw: IpAddr, oif: Option<u32>) -> io::Result<()> {
    let mut m = route_msg(gw, RouteScope::Universe, RouteType::Unicast, RouteProtocol::Static);
    m.attributes.extend(oif.map(RouteAttribute::Oif));
    request(RouteNetlinkMessage::NewRoute(m), NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, |_, _| None::<()>).map(|_| ())
}

/// `ip route del default via GW` from the main table; Ok if there is no such route.
pub fn del_default_route(gw: IpAddr) -> io::Result<()> {
    let m = route_msg(gw, RouteScope::NoWhere, RouteType::Unspec, RouteProtocol::Unspec);
    match request(RouteNetlinkMessage::DelRoute(m), NLM_F_ACK, |_, _| None::<()>) {
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
        r => r.map(|_| ()),
    }
}

/// Deletes the neighbour entries of interface `index` that are still being resolved or
/// failed (`ip neigh flush dev X nud incomplete nud failed`); returns how many.
///
/// Why: while no daemon ran, the host's stack kept sending into the bond and its ARP/ND
/// requests went nowhere, so the peer's entry sits in INCOMPLETE and the next request
/// waits for the retransmit timer (retrans_time_ms, 1 s by default). Deleted, the next
/// packet starts a new resolution at once (neigh_event_send from NUD_NONE).
pub fn flush_unresolved_neighbours(index: u32) -> io::Result<usize> {
    let mut dump = NeighbourMessage::default();
    dump.header.family = AddressFamily::Unspec;
    dump.header.ifindex = index;
    let unresolved = request(RouteNetlinkMessage::GetNeighbour(dump), NLM_F_DUMP, |ty, p| {
        if ty != RTM_NEWNEIGH {
            return None;
        }
        let n = NeighbourMessage::parse(p).ok().filter(|n| n.header.ifindex == index)?;
        if u16::from(n.header.state) & (NUD_INCOMPLETE | NUD_FAILED) == 0 {
            return None;
        }
        let dst = n.attributes.into_iter().find_map(|a| match a {
            NeighbourAttribute::Destination(d) => Some(d),
            _ => None,
        })?;
        Some((n.header.family, dst))
    })?;
    let mut n = 0;
    for (family, dst) in unresolved {
        let mut m = NeighbourMessage::default();
        m.header.family = family;
        m.header.ifindex = index;
        m.attributes.push(NeighbourAttribute::Destination(dst));
        match request(RouteNetlinkMessage::DelNeighbour(m), NLM_F_ACK, |_, _| None::<()>) {
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
    sock: Socket,
    buf: Vec<u8>,
}

impl LinkEvents {
    pub fn open() -> io::Result<Self> {
        let sock = open_socket(protocols::NETLINK_ROUTE, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR, true)?;
        // Bursts (many slaves flapping) must not overflow; if they do we report Overrun.
        let _ = sock.set_rx_buf_sz::<libc::c_int>(1 << 20);
        Ok(LinkEvents { sock, buf: vec![0u8; 1 << 16] })
    }

    pub fn fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    /// Every event queued so far, in order; empty when none (never `WouldBlock`).
    pub fn drain(&mut self) -> io::Result<Vec<LinkEvent>> {
        let mut out = Vec::new();
        loop {
            let n = match self.sock.recv(&mut &mut self.buf[..], libc::MSG_TRUNC) {
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
                    // Only the index of the ifaddrmsg header is needed.
                    RTM_NEWADDR | RTM_DELADDR => {
                        if let Ok(h) = AddressHeader::parse(p) {
                            out.push(LinkEvent::Addr { index: h.index });
                        }
                    }
                    RTM_NEWLINK | RTM_DELLINK => match parse_link(p) {
                        Some(li) if ty == RTM_NEWLINK => out.push(LinkEvent::Changed(li)),
                        Some(li) => out.push(LinkEvent::Removed { index: li.index, name: li.name }),
                        None => {}
                    },
                    _ => {}
                }
            }
        }
    }
}

// ----- interface alias (IFLA_IFALIAS) ---------------------------------------------------

/// IFALIASZ (<linux/if.h>): the kernel (dev_set_alias) refuses an alias of this many bytes
/// or more, and clears the alias when the attribute is empty.
const IFALIASZ: usize = 256;

/// `ip link set dev X alias TEXT`: sets the interface's alias (`ip link` shows it as
/// `alias TEXT`; /sys/class/net/X/ifalias). An empty text removes it. Longer texts are cut
/// at a character boundary below the kernel's limit.
pub fn set_alias(index: u32, alias: &str) -> io::Result<()> {
    let mut end = alias.len().min(IFALIASZ - 1);
    while !alias.is_char_boundary(end) {
        end -= 1;
    }
    // Raw bytes, not `LinkAttribute::IfAlias`: that one appends a NUL, which dev_set_alias
    // counts against IFALIASZ (a 255-byte alias would be refused with EINVAL) and which turns
    // "remove the alias" (an empty attribute) into an alias of one NUL byte.
    let attr = LinkAttribute::Other(DefaultNla::new(IFLA_IFALIAS, alias.as_bytes()[..end].to_vec()));
    set_link(index, LinkFlags::empty(), LinkFlags::empty(), Some(attr))
}

/// The interface's alias now (None: it has none, or there is no such interface).
pub fn alias(index: u32) -> io::Result<Option<String>> {
    if index == 0 || index > i32::MAX as u32 {
        return Ok(None);
    }
    let aliases = request(RouteNetlinkMessage::GetLink(link_msg(index)), NLM_F_ACK, |ty, p| {
        let (_, mut attrs) = link_attrs(p, &[IFLA_IFALIAS]).filter(|_| ty == RTM_NEWLINK)?;
        attrs.find_map(|a| match a {
            LinkAttribute::IfAlias(s) => Some(s),
            _ => None,
        })
    });
    match aliases {
        Ok(a) => Ok(a.into_iter().find(|a| !a.is_empty())),
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
        Err(e) => Err(e),
    }
}

// ----- nftables deletions (NETLINK_NETFILTER) -------------------------------------------
//
// netlink-packet-route covers NETLINK_ROUTE only. For the one fact needed here (which
// table a deleted table/chain/rule was in) the socket is a `netlink_sys::Socket` and the
// framing and attribute walk are netlink-packet-core's; the message type and the table
// attribute are read directly. netlink-packet-netfilter (0.4) does model nf_tables, but it
// decodes the whole expression list of every deleted rule and builds with derive_more 0.99,
// to read one string attribute.

// <linux/netfilter/nfnetlink.h>, <linux/netfilter/nf_tables.h>
const NFNLGRP_NFTABLES: u32 = 7;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_MSG_DELTABLE: u16 = 2;
const NFT_MSG_DELCHAIN: u16 = 5;
const NFT_MSG_DELRULE: u16 = 8;
/// NFTA_TABLE_NAME, NFTA_CHAIN_TABLE and NFTA_RULE_TABLE are all attribute 1.
const NFTA_TABLE: u16 = 1;
/// struct nfgenmsg: family, version, res_id.
const NFGENMSG_LEN: usize = 4;

/// Deletions in nftables (tables, chains, rules), as the kernel multicasts them to
/// NFNLGRP_NFTABLES listeners: what tells the daemon at once that someone removed a slave's
/// isolation from outside, without polling `nft`.
pub struct NftEvents {
    sock: Socket,
    buf: Vec<u8>,
}

impl NftEvents {
    pub fn open() -> io::Result<Self> {
        let sock = open_socket(protocols::NETLINK_NETFILTER, 1 << (NFNLGRP_NFTABLES - 1), true)?;
        Ok(NftEvents { sock, buf: vec![0u8; 1 << 16] })
    }

    pub fn fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    /// The tables something was deleted from since the last call (names, possibly repeated).
    /// An overrun is reported as the name `*` (check everything).
    pub fn drain(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            let n = match self.sock.recv(&mut &mut self.buf[..], libc::MSG_TRUNC) {
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
                for nla in NlasIterator::new(body).filter_map(Result::ok) {
                    if nla.kind() == NFTA_TABLE {
                        let name = nla.value().split(|&b| b == 0).next().unwrap_or(&[]);
                        out.push(String::from_utf8_lossy(name).into_owned());
                    }
                }
            }
        }
    }
}

//! What netlink-packet-route costs on the paths that use netlink most often: the daemon's
//! backstop poll (one RTM_GETLINK dump a second, `netlink::links`) and `link_by_index`
//! (control requests). Compares, in a namespace of its own holding `PAIRS` veth pairs:
//!
//! - `hand`: the hand-encoded request and parser rbond used before (kept here for the
//!   comparison only),
//! - `rbond`: `rbond::sys::netlink` as it is (netlink-packet-route, only the attributes
//!   `LinkInfo` holds decoded),
//! - `full`: the same dump decoded whole, `NetlinkMessage<RouteNetlinkMessage>` per reply.
//!
//! Run as root: `cargo run --release -p rbond --example netlink_dump [PAIRS] [ROUNDS]`.
//! Prints microseconds per call (median and best of the rounds' means) and the decode
//! cost alone per dump. Its namespace (`rbt<pid>nlb`) is removed at the end, on panic too.

use std::hint::black_box;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::Instant;

use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload, NlasIterator, ParseableParametrized, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkHeader, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;
use rbond::sys::netlink;

/// The namespace of the run; deleted on drop.
struct Ns(String);

impl Ns {
    fn new(pairs: usize) -> Ns {
        let ns = Ns(format!("rbt{}nlb", std::process::id()));
        ip(&["netns", "add", &ns.0]);
        for i in 0..pairs {
            let (a, b) = (format!("rbtv{i}a"), format!("rbtv{i}b"));
            ip(&["-n", &ns.0, "link", "add", &a, "type", "veth", "peer", "name", &b]);
            ip(&["-n", &ns.0, "link", "set", &a, "up"]);
            ip(&["-n", &ns.0, "link", "set", &b, "up"]);
        }
        ns
    }

    fn enter(&self) {
        let f = std::fs::File::open(format!("/run/netns/{}", self.0)).expect("open netns");
        // SAFETY: plain syscall on a valid fd; only this thread changes namespace.
        let r = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(r, 0, "setns: {}", std::io::Error::last_os_error());
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn ip(args: &[&str]) {
    let st = Command::new("ip").args(args).status().expect("run ip");
    assert!(st.success(), "ip {args:?} failed");
}

/// rbond's netlink code before netlink-packet-route, reduced to the link dump and get.
mod hand {
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    pub use rbond::sys::netlink::LinkInfo;

    const NLMSG_ERROR: u16 = 2;
    const NLMSG_DONE: u16 = 3;
    const NLM_F_REQUEST: u16 = 0x01;
    const NLM_F_ACK: u16 = 0x04;
    const NLM_F_DUMP: u16 = 0x300;
    const RTM_NEWLINK: u16 = 16;
    const RTM_GETLINK: u16 = 18;

    fn u16_at(b: &[u8], off: usize) -> u16 {
        u16::from_ne_bytes([b[off], b[off + 1]])
    }

    fn u32_at(b: &[u8], off: usize) -> u32 {
        u32::from_ne_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
    }

    fn align4(n: usize) -> usize {
        (n + 3) & !3
    }

    /// The rtattrs of a payload: (type without the nested/byte-order bits, data).
    fn attrs(mut b: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
        std::iter::from_fn(move || {
            if b.len() < 4 {
                return None;
            }
            let len = u16_at(b, 0) as usize;
            if len < 4 || len > b.len() {
                return None;
            }
            let item = (u16_at(b, 2) & 0x3fff, &b[4..len]);
            b = &b[align4(len).min(b.len())..];
            Some(item)
        })
    }

    pub fn parse_link(p: &[u8]) -> Option<LinkInfo> {
        if p.len() < 16 {
            return None;
        }
        let flags = u32_at(p, 8);
        let mut li = LinkInfo {
            index: u32_at(p, 4),
            name: String::new(),
            mac: [0; 6],
            perm_mac: None,
            mtu: 0,
            admin_up: flags & 1 != 0,
            carrier: flags & 0x10000 != 0,
            master: None,
            loopback: flags & 8 != 0,
        };
        for (ty, d) in attrs(&p[16..]) {
            match ty {
                3 => {
                    let end = d.iter().position(|&c| c == 0).unwrap_or(d.len());
                    li.name = String::from_utf8_lossy(&d[..end]).into_owned();
                }
                1 => li.mac = d.get(..6).map(|m| m.try_into().unwrap()).unwrap_or([0; 6]),
                54 => li.perm_mac = d.get(..6).map(|m| m.try_into().unwrap()),
                4 if d.len() >= 4 => li.mtu = u32_at(d, 0),
                10 if d.len() >= 4 => li.master = Some(u32_at(d, 0)).filter(|&m| m != 0),
                _ => {}
            }
        }
        Some(li)
    }

    /// One GETLINK request (dump or by index) on a fresh socket; the raw RTM_NEWLINK payloads.
    pub fn request(index: u32, dump: bool) -> io::Result<Vec<Vec<u8>>> {
        // SAFETY: plain syscalls on a socket this function owns.
        let fd = unsafe {
            let fd = libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::NETLINK_ROUTE);
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            OwnedFd::from_raw_fd(fd)
        };
        let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        sa.nl_family = libc::AF_NETLINK as u16;
        // SAFETY: sa is a valid sockaddr_nl.
        if unsafe { libc::bind(fd.as_raw_fd(), (&sa as *const libc::sockaddr_nl).cast(), std::mem::size_of_val(&sa) as u32) } < 0 {
            return Err(io::Error::last_os_error());
        }
        let tv = libc::timeval { tv_sec: 5, tv_usec: 0 };
        // SAFETY: tv is a valid timeval.
        unsafe {
            libc::setsockopt(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RCVTIMEO, (&tv as *const libc::timeval).cast(), std::mem::size_of_val(&tv) as u32)
        };
        let mut req = [0u8; 32];
        req[0..4].copy_from_slice(&32u32.to_ne_bytes());
        req[4..6].copy_from_slice(&RTM_GETLINK.to_ne_bytes());
        let flags = NLM_F_REQUEST | if dump { NLM_F_DUMP } else { NLM_F_ACK };
        req[6..8].copy_from_slice(&flags.to_ne_bytes());
        req[8..12].copy_from_slice(&1u32.to_ne_bytes());
        req[20..24].copy_from_slice(&(index as i32).to_ne_bytes());
        // SAFETY: req is a valid buffer.
        if unsafe { libc::send(fd.as_raw_fd(), req.as_ptr().cast(), req.len(), 0) } != req.len() as isize {
            return Err(io::Error::last_os_error());
        }
        let mut out = Vec::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            // SAFETY: buf is valid for its length.
            let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), libc::MSG_TRUNC) };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            let n = (n as usize).min(buf.len());
            let mut b = &buf[..n];
            while b.len() >= 16 {
                let len = u32_at(b, 0) as usize;
                if len < 16 || len > b.len() {
                    break;
                }
                let (ty, p) = (u16_at(b, 4), &b[16..len]);
                match ty {
                    NLMSG_ERROR | NLMSG_DONE => {
                        let err = if p.len() >= 4 { u32_at(p, 0) as i32 } else { 0 };
                        return if err == 0 { Ok(out) } else { Err(io::Error::from_raw_os_error(-err)) };
                    }
                    RTM_NEWLINK => out.push(p.to_vec()),
                    _ => {}
                }
                b = &b[align4(len).min(b.len())..];
            }
        }
    }

    pub fn links() -> io::Result<Vec<LinkInfo>> {
        Ok(request(0, true)?.iter().filter_map(|p| parse_link(p)).collect())
    }

    pub fn link_by_index(index: u32) -> io::Result<Option<LinkInfo>> {
        Ok(request(index, false)?.iter().find_map(|p| parse_link(p)))
    }
}

/// A whole link decoded by netlink-packet-route, reduced to a `LinkInfo`.
fn info_of(m: &LinkMessage) -> netlink::LinkInfo {
    let mut li = netlink::LinkInfo {
        index: m.header.index,
        name: String::new(),
        mac: [0; 6],
        perm_mac: None,
        mtu: 0,
        admin_up: m.header.flags.contains(LinkFlags::Up),
        carrier: m.header.flags.contains(LinkFlags::LowerUp),
        master: None,
        loopback: m.header.flags.contains(LinkFlags::Loopback),
    };
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => li.name = n.clone(),
            LinkAttribute::Address(a) => li.mac = a.get(..6).map(|m| m.try_into().unwrap()).unwrap_or([0; 6]),
            LinkAttribute::PermAddress(a) => li.perm_mac = a.get(..6).map(|m| m.try_into().unwrap()),
            LinkAttribute::Mtu(v) => li.mtu = *v,
            LinkAttribute::Controller(v) => li.master = Some(*v).filter(|&v| v != 0),
            _ => {}
        }
    }
    li
}

/// Decodes one raw RTM_NEWLINK payload whole: the cost of deserializing every attribute.
fn full_decode(p: &[u8]) -> Option<netlink::LinkInfo> {
    let mut buf = vec![0u8; 16 + p.len()];
    buf[0..4].copy_from_slice(&((16 + p.len()) as u32).to_ne_bytes());
    buf[4..6].copy_from_slice(&16u16.to_ne_bytes());
    buf[16..].copy_from_slice(p);
    match NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf).ok()?.payload {
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(m)) => Some(info_of(&m)),
        _ => None,
    }
}

/// Decodes one raw RTM_NEWLINK payload as rbond::sys::netlink does: the header, then only
/// the attributes `LinkInfo` holds (IFLA_IFNAME, ADDRESS, PERM_ADDRESS, MTU, MASTER).
fn selective_decode(p: &[u8]) -> Option<netlink::LinkInfo> {
    let header = LinkHeader::parse(p).ok()?;
    let family = header.interface_family;
    let mut m = LinkMessage::default();
    for nla in NlasIterator::new(&p[16..]).filter_map(Result::ok) {
        if [3, 1, 54, 4, 10].contains(&nla.kind()) {
            m.attributes.extend(LinkAttribute::parse_with_param(&nla, family).ok());
        }
    }
    m.header = header;
    Some(info_of(&m))
}

/// The dump request as netlink-packet-route builds it, decoded whole.
fn full_links() -> Vec<netlink::LinkInfo> {
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    header.sequence_number = 1;
    let mut m = NetlinkMessage::new(header, NetlinkPayload::from(RouteNetlinkMessage::GetLink(LinkMessage::default())));
    m.finalize();
    let mut req = vec![0u8; m.buffer_len()];
    m.serialize(&mut req);
    let mut s = netlink_sys::Socket::new(netlink_sys::protocols::NETLINK_ROUTE).unwrap();
    s.bind_auto().unwrap();
    s.send(&req, 0).unwrap();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = s.recv(&mut &mut buf[..], 0).unwrap();
        let mut off = 0;
        while off < n {
            let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf[off..n]).expect("decodable");
            off += (msg.header.length as usize + 3) & !3;
            match msg.payload {
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)) => out.push(info_of(&l)),
                NetlinkPayload::Done(_) | NetlinkPayload::Error(_) => return out,
                _ => {}
            }
        }
    }
}

/// Mean µs per call of each variant, per round; variants interleaved so that load from
/// other processes spreads over all of them.
fn bench(rounds: usize, per_round: usize, variants: &mut [(&str, &mut dyn FnMut())]) {
    let mut means = vec![Vec::new(); variants.len()];
    for _ in 0..rounds {
        for (i, (_, f)) in variants.iter_mut().enumerate() {
            let t = Instant::now();
            for _ in 0..per_round {
                f();
            }
            means[i].push(t.elapsed().as_secs_f64() * 1e6 / per_round as f64);
        }
    }
    for (i, (name, _)) in variants.iter().enumerate() {
        let m = &mut means[i];
        m.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!("  {name:<28} median {:>8.1} µs   best {:>8.1} µs", m[m.len() / 2], m[0]);
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let pairs: usize = args.next().map(|a| a.parse().expect("PAIRS")).unwrap_or(10);
    let rounds: usize = args.next().map(|a| a.parse().expect("ROUNDS")).unwrap_or(7);
    let ns = Ns::new(pairs);
    ns.enter();

    // The three must agree before their speed means anything.
    let mut a = hand::links().unwrap();
    let mut b = netlink::links().unwrap();
    let mut c = full_links();
    for v in [&mut a, &mut b, &mut c] {
        v.sort_by_key(|l| l.index);
    }
    assert_eq!(a, b, "rbond::sys::netlink::links differs from the hand-built dump");
    assert_eq!(a, c, "the full decode differs from the hand-built dump");
    let probe = a.iter().find(|l| l.name == "rbtv0a").expect("veth").index;
    assert_eq!(hand::link_by_index(probe).unwrap(), netlink::link_by_index(probe).unwrap());
    let raw = hand::request(0, true).unwrap();
    let bytes: usize = raw.iter().map(Vec::len).sum();
    println!(
        "netns {} with {} veths: {} links, {} bytes of RTM_NEWLINK payload per dump (kernel {})",
        ns.0,
        2 * pairs,
        raw.len(),
        bytes,
        rbond::sys::uname_release()
    );

    println!("links() (RTM_GETLINK dump), {rounds} rounds x 200:");
    bench(
        rounds,
        200,
        &mut [
            ("hand-built", &mut || drop(black_box(hand::links().unwrap()))),
            ("netlink-packet-route (rbond)", &mut || drop(black_box(netlink::links().unwrap()))),
            ("netlink-packet-route, full", &mut || drop(black_box(full_links()))),
        ],
    );
    println!("link_by_index(), {rounds} rounds x 500:");
    bench(
        rounds,
        500,
        &mut [
            ("hand-built", &mut || drop(black_box(hand::link_by_index(probe).unwrap()))),
            ("netlink-packet-route (rbond)", &mut || drop(black_box(netlink::link_by_index(probe).unwrap()))),
        ],
    );
    println!("decoding one dump's replies alone (no syscalls), {rounds} rounds x 2000:");
    bench(
        rounds,
        2000,
        &mut [
            ("hand-built", &mut || {
                for p in &raw {
                    black_box(hand::parse_link(p));
                }
            }),
            ("netlink-packet-route (rbond)", &mut || {
                for p in &raw {
                    black_box(selective_decode(p));
                }
            }),
            ("netlink-packet-route, full", &mut || {
                for p in &raw {
                    black_box(full_decode(p));
                }
            }),
        ],
    );
}

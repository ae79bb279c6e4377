//! Integration tests of `rbond::sys` in real network namespaces (needs root).
//!
//! Layout of every test: namespace A holds rbond's side (slave veth0, bond TAP rbt0),
//! namespace B holds the link partner (veth1). Test threads join a namespace with
//! setns(2); sockets and devices they create stay in it.

use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use rbond::sys::ethtool;
use rbond::sys::isolate::SlaveIsolation;
use rbond::sys::netlink::{self, LinkEvent, LinkEvents};
use rbond::sys::packet::{PacketSocket, TX_MARK};
use rbond::sys::tap::Tap;
use rbond::sys::{FRAME_BUF_LEN, VNET_HDR_LEN};
use rbond_core::types::Duplex;

// ---------------------------------------------------------------- namespace helpers

/// These tests create network namespaces: without root they are skipped with a message, so
/// a plain `cargo test` as a user passes what it can run.
fn root_or_skip() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        eprintln!("skipped: this test creates network namespaces and needs root");
    }
    root
}

fn run(args: &[&str]) -> std::process::Output {
    let out = Command::new(args[0]).args(&args[1..]).output().expect("spawn");
    assert!(
        out.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A named network namespace, deleted on drop.
struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Netns {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!("rbsys{tag}{}x{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        run(&["ip", "netns", "add", &name]);
        let ns = Netns(name);
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }
    fn ip(&self, args: &[&str]) -> std::process::Output {
        let mut v = vec!["ip", "-n", &self.0];
        v.extend_from_slice(args);
        run(&v)
    }
    fn exec(&self, args: &[&str]) -> std::process::Output {
        let mut v = vec!["ip", "netns", "exec", &self.0];
        v.extend_from_slice(args);
        Command::new(v[0]).args(&v[1..]).output().expect("spawn")
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

/// Moves the calling thread into namespace `ns`.
fn enter(ns: &str) {
    let f = std::fs::File::open(format!("/run/netns/{ns}")).expect("open netns");
    let r = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(r, 0, "setns: {}", std::io::Error::last_os_error());
}

/// Runs `f` on a fresh thread inside namespace `ns` and returns its result.
fn in_ns<T: Send + 'static>(ns: &Netns, f: impl FnOnce() -> T + Send + 'static) -> T {
    let name = ns.0.clone();
    thread::spawn(move || {
        enter(&name);
        f()
    })
    .join()
    .expect("namespace thread panicked")
}

/// Two namespaces joined by veth0 (in A) <-> veth1 (in B), both up; B's end has
/// 198.18.<net>.2/24.
fn pair(tag: &str, net: u8) -> (Netns, Netns) {
    let a = Netns::new(&format!("{tag}a"));
    let b = Netns::new(&format!("{tag}b"));
    a.ip(&["link", "add", "veth0", "type", "veth", "peer", "name", "veth1", "netns", &b.0]);
    b.ip(&["addr", "add", &format!("198.18.{net}.2/24"), "dev", "veth1"]);
    b.ip(&["link", "set", "veth1", "up"]);
    a.ip(&["link", "set", "veth0", "up"]);
    (a, b)
}

fn poll_in(fd: i32, timeout: Duration) -> bool {
    let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    unsafe { libc::poll(&mut p, 1, timeout.as_millis() as i32) > 0 }
}

/// Collects frames received on `sock` for `dur` (vnet header stripped).
fn collect(sock: &PacketSocket, dur: Duration) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; FRAME_BUF_LEN];
    let end = Instant::now() + dur;
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        if !poll_in(sock.fd(), left) {
            continue;
        }
        while let Ok(n) = sock.recv(&mut buf) {
            out.push(buf[VNET_HDR_LEN..n].to_vec());
        }
    }
    out
}

const ETH_P_ARP: u16 = 0x0806;
const ETH_P_EXPERIMENTAL: u16 = 0x88b5; // IEEE 802 local experimental ethertype

fn ethertype(f: &[u8]) -> u16 {
    u16::from_be_bytes([f[12], f[13]])
}

fn arp_request(sha: [u8; 6], spa: Ipv4Addr, tpa: Ipv4Addr) -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&sha);
    f.extend_from_slice(&ETH_P_ARP.to_be_bytes());
    f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]); // Ethernet/IPv4, request
    f.extend_from_slice(&sha);
    f.extend_from_slice(&spa.octets());
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&tpa.octets());
    f.resize(60, 0);
    f
}

/// From B, sends one ARP request for `target` on veth1 and counts the replies.
fn arp_replies(b: &Netns, own: Ipv4Addr, target: Ipv4Addr) -> usize {
    in_ns(b, move || {
        let li = netlink::link_by_name("veth1").unwrap().unwrap();
        let s = PacketSocket::bind(li.index).unwrap();
        s.send_plain(&arp_request(li.mac, own, target)).unwrap();
        collect(&s, Duration::from_millis(1000))
            .iter()
            .filter(|f| ethertype(f) == ETH_P_ARP && f[20..22] == [0, 2] && f[28..32] == target.octets())
            .count()
    })
}

/// Frames tagged ETH_P_EXPERIMENTAL that arrive in B on veth1 while `send` runs in A.
fn experimental_frames_in_b(a: &Netns, b: &Netns, send: impl FnOnce() + Send + 'static) -> Vec<Vec<u8>> {
    let (ready_tx, ready_rx) = mpsc::channel();
    let bname = b.0.clone();
    let listener = thread::spawn(move || {
        enter(&bname);
        let s = PacketSocket::bind(sys_ifindex("veth1")).unwrap();
        ready_tx.send(()).unwrap();
        collect(&s, Duration::from_millis(800))
    });
    ready_rx.recv().unwrap();
    in_ns(a, send);
    let frames = listener.join().unwrap();
    frames.into_iter().filter(|f| ethertype(f) == ETH_P_EXPERIMENTAL).map(|f| f[14..].to_vec()).collect()
}

fn sys_ifindex(name: &str) -> u32 {
    rbond::sys::ifindex(name).unwrap()
}

/// A frame sent from A's veth0 by a plain AF_PACKET socket without rbond's mark: stands
/// for anything the slave's own stack would transmit. Returns whether send() succeeded
/// (a drop by the egress hook shows up as ENOBUFS).
fn send_unmarked(payload: &[u8]) -> bool {
    let idx = sys_ifindex("veth0");
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
    assert!(fd >= 0);
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_ifindex = idx as i32;
    let r = unsafe {
        libc::bind(fd.as_raw_fd(), &sll as *const _ as *const libc::sockaddr, std::mem::size_of_val(&sll) as u32)
    };
    assert_eq!(r, 0);
    let f = experimental_frame(payload);
    let n = unsafe { libc::send(fd.as_raw_fd(), f.as_ptr().cast(), f.len(), 0) };
    if n < 0 {
        assert_eq!(std::io::Error::last_os_error().raw_os_error(), Some(libc::ENOBUFS));
    }
    n >= 0
}

fn experimental_frame(payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x99]);
    f.extend_from_slice(&ETH_P_EXPERIMENTAL.to_be_bytes());
    f.extend_from_slice(payload);
    f.resize(60, 0);
    f
}

fn nft_tables(ns: &Netns) -> String {
    let out = ns.exec(&["nft", "list", "tables"]);
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

// ---------------------------------------------------------------- the bond data path

/// What the copy loop saw.
#[derive(Default)]
struct Stats {
    to_tap: AtomicU64,
    to_slave: AtomicU64,
    max_to_tap: AtomicUsize,
    max_to_slave: AtomicUsize,
}

/// The bond in namespace A: TAP rbt0 (198.18.<net>.1/24, MAC copied to the slave), a
/// PacketSocket on veth0 and a poll(2) loop copying frames both ways until `stop`.
struct Bridge {
    stop: Arc<AtomicBool>,
    stats: Arc<Stats>,
    handle: Option<thread::JoinHandle<()>>,
}

impl Bridge {
    fn start(a: &Netns, net: u8) -> Bridge {
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Stats::default());
        let (ready_tx, ready_rx) = mpsc::channel();
        let (name, st, sp) = (a.0.clone(), stats.clone(), stop.clone());
        let handle = thread::spawn(move || {
            enter(&name);
            let tap = Tap::create("rbt0").unwrap();
            assert_eq!(tap.name(), "rbt0");
            let slave = netlink::link_by_name("veth0").unwrap().unwrap();
            let bond = netlink::link_by_index(tap.ifindex()).unwrap().unwrap();
            assert_eq!(bond.name, "rbt0");
            // Like the bonding driver: the slave takes the bond's MAC.
            netlink::set_mac(slave.index, bond.mac).unwrap();
            netlink::add_address(tap.ifindex(), IpAddr::V4(Ipv4Addr::new(198, 18, net, 1)), 24).unwrap();
            netlink::set_up(tap.ifindex(), true).unwrap();
            let pkt = PacketSocket::bind(slave.index).unwrap();
            pkt.set_promisc(true).unwrap();
            ready_tx.send(()).unwrap();
            let mut buf = vec![0u8; FRAME_BUF_LEN];
            let mut fds = [
                libc::pollfd { fd: tap.fd(), events: libc::POLLIN, revents: 0 },
                libc::pollfd { fd: pkt.fd(), events: libc::POLLIN, revents: 0 },
            ];
            while !sp.load(Ordering::Relaxed) {
                if unsafe { libc::poll(fds.as_mut_ptr(), 2, 50) } <= 0 {
                    continue;
                }
                while let Ok(n) = tap.read(&mut buf) {
                    pkt.send(&buf[..n]).unwrap();
                    st.to_slave.fetch_add(1, Ordering::Relaxed);
                    st.max_to_slave.fetch_max(n, Ordering::Relaxed);
                }
                loop {
                    match pkt.recv(&mut buf) {
                        Ok(n) => {
                            tap.write(&buf[..n]).unwrap();
                            st.to_tap.fetch_add(1, Ordering::Relaxed);
                            st.max_to_tap.fetch_max(n, Ordering::Relaxed);
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        Err(e) => panic!("recv: {e}"),
                    }
                }
            }
        });
        ready_rx.recv_timeout(Duration::from_secs(10)).expect("bridge did not start");
        Bridge { stop, stats, handle: Some(handle) }
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let r = h.join();
            if !thread::panicking() {
                r.expect("bridge thread panicked");
            }
        }
    }
}

/// TCP both ways between B (client) and A's bond address, `len` bytes each way.
fn tcp_both_ways(a: &Netns, b: &Netns, net: u8, len: usize) {
    let (ready_tx, ready_rx) = mpsc::channel();
    let aname = a.0.clone();
    let server = thread::spawn(move || {
        enter(&aname);
        let l = TcpListener::bind((Ipv4Addr::new(198, 18, net, 1), 5201)).unwrap();
        ready_tx.send(()).unwrap();
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut got = vec![0u8; len];
        s.read_exact(&mut got).unwrap();
        assert!(got.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8), "corrupted A<-B");
        s.write_all(&got).unwrap();
    });
    ready_rx.recv().unwrap();
    in_ns(b, move || {
        let mut s = TcpStream::connect_timeout(&(Ipv4Addr::new(198, 18, net, 1), 5201).into(), Duration::from_secs(5))
            .unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let w = s.try_clone().unwrap();
        let writer = thread::spawn(move || {
            let mut w = w;
            w.write_all(&data).unwrap();
        });
        let mut back = vec![0u8; len];
        s.read_exact(&mut back).unwrap();
        writer.join().unwrap();
        assert!(back.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8), "corrupted B<-A");
    });
    server.join().unwrap();
}

#[test]
fn bond_datapath_through_tap_and_isolated_slave() {
    if !root_or_skip() {
        return;
    }
    let net = 1;
    let (a, b) = pair("dp", net);
    let bond_ip = Ipv4Addr::new(198, 18, net, 1);
    let peer_ip = Ipv4Addr::new(198, 18, net, 2);
    // Make the control experiment below independent of the host's defaults: with the weak
    // host model the slave's stack answers ARP for the bond's address.
    for k in ["all", "veth0"] {
        a.exec(&["sysctl", "-qw", &format!("net.ipv4.conf.{k}.rp_filter=0")]);
        a.exec(&["sysctl", "-qw", &format!("net.ipv4.conf.{k}.arp_ignore=0")]);
    }
    let bridge = Bridge::start(&a, net);

    // Control: without isolation the slave's own stack answers too.
    assert_eq!(arp_replies(&b, peer_ip, bond_ip), 2, "expected bond + slave replies without isolation");
    let frames = experimental_frames_in_b(&a, &b, || assert!(send_unmarked(b"unmarked")));
    assert_eq!(frames.len(), 1, "unmarked frame must pass without isolation");

    let iso = in_ns(&a, || SlaveIsolation::apply("veth0").unwrap());
    assert!(nft_tables(&a).contains(iso.table()));

    // Exactly one ARP reply: the bond's, through the TAP and the packet socket.
    assert_eq!(arp_replies(&b, peer_ip, bond_ip), 1, "slave still answers ARP");
    let out = b.exec(&["ping", "-c", "3", "-i", "0.2", "-W", "2", &bond_ip.to_string()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "ping failed: {text}");
    assert!(text.contains("3 received"), "{text}");
    assert!(!text.contains("DUP!"), "duplicate replies: {text}");

    // The slave's stack cannot transmit; rbond's marked frames can.
    let frames = experimental_frames_in_b(&a, &b, || {
        assert!(!send_unmarked(b"unmarked"), "egress hook did not drop");
        let s = PacketSocket::bind(sys_ifindex("veth0")).unwrap();
        s.send_plain(&experimental_frame(b"marked")).unwrap();
    });
    assert_eq!(frames.len(), 1, "egress filter: {frames:?}");
    assert!(frames[0].starts_with(b"marked"));
    let _ = TX_MARK;

    // TCP both ways: checksums and GSO frames survive TAP <-> AF_PACKET via vnet headers.
    tcp_both_ways(&a, &b, net, 8 << 20);
    let st = &bridge.stats;
    assert!(st.to_tap.load(Ordering::Relaxed) > 0 && st.to_slave.load(Ordering::Relaxed) > 0);
    assert!(st.max_to_tap.load(Ordering::Relaxed) > 1514 + VNET_HDR_LEN, "no GSO frame from the slave");
    assert!(st.max_to_slave.load(Ordering::Relaxed) > 1514 + VNET_HDR_LEN, "no GSO frame from the TAP");

    // Dropped from this (host-namespace) thread: removal still happens in A.
    let table = iso.table().to_owned();
    drop(iso);
    assert!(!nft_tables(&a).contains(&table), "isolation table left behind");
    drop(bridge);
    // The TAP is gone with its fd.
    assert!(in_ns(&a, || netlink::link_by_name("rbt0").unwrap()).is_none());
}

// ---------------------------------------------------------------- link state

#[test]
fn link_events_carrier_and_ethtool() {
    if !root_or_skip() {
        return;
    }
    let (a, b) = pair("ev", 2);
    let bname = b.0.clone();
    in_ns(&a, move || {
        let ip_b = |args: &[&str]| {
            let mut v = vec!["-n", bname.as_str()];
            v.extend_from_slice(args);
            assert!(Command::new("ip").args(&v).status().unwrap().success());
        };
        assert_eq!(ethtool::speed_duplex("veth0").unwrap(), (Some(10000), Duplex::Full));
        assert!(ethtool::link_detected("veth0").unwrap());
        assert!(ethtool::speed_duplex("nosuchdev0").is_err());
        let idx = sys_ifindex("veth0");
        let mut ev = LinkEvents::open().unwrap();
        assert!(ev.drain().unwrap().is_empty());

        // Waits for an event about veth0 matching `want`.
        let mut wait = |want: &dyn Fn(&LinkEvent) -> bool| {
            let end = Instant::now() + Duration::from_secs(3);
            while Instant::now() < end {
                poll_in(ev.fd(), Duration::from_millis(100));
                if ev.drain().unwrap().iter().any(want) {
                    return true;
                }
            }
            false
        };

        ip_b(&["link", "set", "veth1", "down"]);
        assert!(wait(&|e| matches!(e, LinkEvent::Changed(l) if l.index == idx && l.name == "veth0" && l.admin_up && !l.carrier)));
        let li = netlink::link_by_name("veth0").unwrap().unwrap();
        assert!(li.admin_up && !li.carrier);
        assert!(!ethtool::link_detected("veth0").unwrap());

        ip_b(&["link", "set", "veth1", "up"]);
        assert!(wait(&|e| matches!(e, LinkEvent::Changed(l) if l.index == idx && l.carrier)));
        assert!(netlink::link_by_index(idx).unwrap().unwrap().carrier);
        assert!(ethtool::link_detected("veth0").unwrap());

        netlink::set_up(idx, false).unwrap();
        assert!(wait(&|e| matches!(e, LinkEvent::Changed(l) if l.index == idx && !l.admin_up && !l.carrier)));
        netlink::set_up(idx, true).unwrap();

        ip_b(&["link", "del", "veth1"]);
        assert!(wait(&|e| matches!(e, LinkEvent::Removed { index, name } if *index == idx && name == "veth0")));
        assert!(netlink::link_by_index(idx).unwrap().is_none());
    });
}

// ---------------------------------------------------------------- link, address, route ops

#[test]
fn netlink_link_address_route_ops() {
    if !root_or_skip() {
        return;
    }
    let (a, _b) = pair("nl", 3);
    in_ns(&a, || {
        assert!(netlink::link_by_name("nosuchdev0").unwrap().is_none());
        assert!(netlink::link_by_index(99_999).unwrap().is_none());
        let li = netlink::link_by_name("veth0").unwrap().unwrap();
        assert_eq!(netlink::link_by_index(li.index).unwrap().unwrap(), li);
        assert_eq!(li.mtu, 1500);
        assert_eq!(li.master, None);

        let mac = [0x02, 0x52, 0x42, 0x00, 0x00, 0x07];
        netlink::set_mac(li.index, mac).unwrap();
        netlink::set_mtu(li.index, 1400).unwrap();
        let now = netlink::link_by_name("veth0").unwrap().unwrap();
        assert_eq!((now.mac, now.mtu), (mac, 1400));
        netlink::set_mac(li.index, li.mac).unwrap();
        netlink::set_mtu(li.index, li.mtu).unwrap();
        let back = netlink::link_by_index(li.index).unwrap().unwrap();
        assert_eq!((back.mac, back.mtu), (li.mac, li.mtu));

        let v4: IpAddr = "198.18.3.1".parse().unwrap();
        let v6: IpAddr = "2001:2::3:1".parse().unwrap();
        netlink::add_address(li.index, v4, 24).unwrap();
        netlink::add_address(li.index, v4, 24).unwrap(); // idempotent
        netlink::add_address(li.index, v6, 64).unwrap();
        let have = netlink::addresses(li.index).unwrap();
        assert!(have.contains(&(v4, 24)) && have.contains(&(v6, 64)), "{have:?}");
        assert_eq!(have.iter().filter(|x| x.0 == v4).count(), 1);

        let gw: IpAddr = "198.18.3.2".parse().unwrap();
        netlink::replace_default_route(gw, Some(li.index)).unwrap();
        netlink::replace_default_route(gw, None).unwrap();
        let out = Command::new("ip").args(["-4", "route", "show", "default"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("default via 198.18.3.2 dev veth0"), "{text}");
        netlink::del_default_route(gw).unwrap();
        netlink::del_default_route(gw).unwrap(); // absent is fine
        let out = Command::new("ip").args(["-4", "route", "show", "default"]).output().unwrap();
        assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));

        netlink::del_address(li.index, v4, 24).unwrap();
        netlink::del_address(li.index, v6, 64).unwrap();
        netlink::del_address(li.index, v4, 24).unwrap(); // absent is fine
        let have = netlink::addresses(li.index).unwrap();
        assert!(!have.iter().any(|x| x.0 == v4 || x.0 == v6), "{have:?}");

        assert!(!rbond::sys::uname_release().is_empty());
    });
}

// ---------------------------------------------------------------- isolation restore

#[test]
fn isolation_drop_restores_state() {
    if !root_or_skip() {
        return;
    }
    let (a, _b) = pair("is", 4);
    let sysctl = |ns: &Netns| {
        let out = ns.exec(&["cat", "/proc/sys/net/ipv6/conf/veth0/disable_ipv6"]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let before_tables = nft_tables(&a);
    let before = sysctl(&a);
    assert_eq!(before, "0");

    // Main mechanism: nft ingress + egress chains, sysctl untouched.
    let iso = in_ns(&a, || SlaveIsolation::apply("veth0").unwrap());
    let rules = String::from_utf8_lossy(&a.exec(&["nft", "list", "table", "netdev", iso.table()]).stdout).into_owned();
    assert!(rules.contains("hook ingress device \"veth0\"") && rules.contains("hook egress device \"veth0\""), "{rules}");
    assert_eq!(sysctl(&a), "0");
    // Applying again (a restarted daemon) replaces the table instead of failing.
    let again = in_ns(&a, || SlaveIsolation::apply("veth0").unwrap());
    assert_eq!(again.table(), iso.table());
    drop(again);
    assert_eq!(nft_tables(&a), before_tables);
    in_ns(&a, move || {
        let mut iso = iso;
        iso.remove().unwrap();
        iso.remove().unwrap(); // second call is a no-op
    });
    assert_eq!(nft_tables(&a), before_tables);

    // Fallback for kernels without the netdev egress hook: disable_ipv6, restored on drop.
    let iso = in_ns(&a, || SlaveIsolation::apply_with("veth0", false).unwrap());
    let rules = String::from_utf8_lossy(&a.exec(&["nft", "list", "table", "netdev", iso.table()]).stdout).into_owned();
    assert!(rules.contains("hook ingress") && !rules.contains("hook egress"), "{rules}");
    assert_eq!(sysctl(&a), "1");
    drop(iso);
    assert_eq!(sysctl(&a), before);
    assert_eq!(nft_tables(&a), before_tables);

    assert!(in_ns(&a, || SlaveIsolation::apply("nosuchdev0")).is_err());
}

// ---------------------------------------------------------------- batched send/receive

/// `send_batch` sends frames in order with one sendmmsg and drops only the frame the kernel
/// refuses (EINVAL for an undefined GSO type in its vnet header), `recv_batch` takes several frames per call into
/// `FrameBatch` slots, jumbo frames included, and neither socket sees its own transmissions.
#[test]
fn packet_batch_send_and_receive() {
    if !root_or_skip() {
        return;
    }
    use rbond::sys::packet::{FrameBatch, BATCH_MAX};
    let (a, b) = pair("bat", 61);
    a.ip(&["link", "set", "veth0", "mtu", "9000"]);
    b.ip(&["link", "set", "veth1", "mtu", "9000"]);
    let (tx_s, rx_s) = mpsc::channel::<()>();
    let (done_s, done_r) = mpsc::channel::<()>();
    // Receiver in B, bound before anything is sent.
    let bname = b.0.clone();
    let receiver = thread::spawn(move || {
        enter(&bname);
        let sock = PacketSocket::bind(sys_ifindex("veth1")).unwrap();
        tx_s.send(()).unwrap();
        let mut batch = FrameBatch::new(BATCH_MAX);
        let mut got: Vec<Vec<u8>> = Vec::new();
        let mut most_per_call = 0;
        let end = Instant::now() + Duration::from_secs(5);
        // Wait for the sender to finish first, so several frames are queued per call.
        let _ = done_r.recv_timeout(Duration::from_secs(5));
        while got.len() < 42 && Instant::now() < end {
            if !poll_in(sock.fd(), Duration::from_millis(200)) {
                continue;
            }
            let n = match sock.recv_batch(&mut batch) {
                Ok(n) => n,
                Err(e) => {
                    assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock, "{e}");
                    continue;
                }
            };
            assert_eq!(batch.len(), n);
            most_per_call = most_per_call.max(n);
            for i in 0..n {
                let f = batch.frame(i);
                if f.len() > VNET_HDR_LEN && ethertype(&f[VNET_HDR_LEN..]) == ETH_P_EXPERIMENTAL {
                    got.push(f[VNET_HDR_LEN..].to_vec());
                }
            }
        }
        (got, most_per_call)
    });
    rx_s.recv_timeout(Duration::from_secs(5)).expect("receiver ready");

    let (rep, own) = in_ns(&a, || {
        let sock = PacketSocket::bind(sys_ifindex("veth0")).unwrap();
        // 40 small frames numbered 0..40, then one jumbo (8000 B payload) that fits the MTU,
        // then one with a bad vnet header (dropped alone), then a last small one.
        let mut frames: Vec<Vec<u8>> = (0u8..40).map(|k| {
            let mut f = vec![0u8; VNET_HDR_LEN];
            f.extend(experimental_frame(&[b'B', k]));
            f
        }).collect();
        let mut jumbo = vec![0u8; VNET_HDR_LEN];
        jumbo.extend(&experimental_frame(&[])[..14]); // (experimental_frame pads/cuts to 60)
        jumbo.extend([b'J'; 8000]);
        frames.push(jumbo);
        // virtio_net_hdr: flags, gso_type = 2 (not defined), hdr_len, gso_size = 1000, ...
        let mut bad = vec![0, 2, 0, 0, 0xe8, 0x03, 0, 0, 0, 0];
        bad.extend(experimental_frame(&[b'X'; 3000]));
        frames.push(bad);
        let mut last = vec![0u8; VNET_HDR_LEN];
        last.extend(experimental_frame(&[b'L', 0]));
        frames.push(last);
        let refs: Vec<&[u8]> = frames.iter().map(|f| f.as_slice()).collect();
        let rep = sock.send_batch(&refs);
        // Our own transmissions never come back on the sending socket.
        thread::sleep(Duration::from_millis(100));
        let mut batch = FrameBatch::new(8);
        let own = match sock.recv_batch(&mut batch) {
            // (B's own traffic, IPv6 neighbour discovery e.g., may arrive: only ours counts.)
            Ok(n) => (0..n)
                .map(|i| batch.frame(i))
                .filter(|f| f.len() > VNET_HDR_LEN && ethertype(&f[VNET_HDR_LEN..]) == ETH_P_EXPERIMENTAL)
                .count(),
            Err(e) => {
                assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock, "{e}");
                0
            }
        };
        (rep, own)
    });
    done_s.send(()).unwrap();
    let (got, most_per_call) = receiver.join().unwrap();

    assert_eq!(rep.sent, 42, "{rep:?}");
    assert_eq!(rep.dropped, 1, "{rep:?}");
    assert_eq!(rep.last_err, Some(libc::EINVAL), "{rep:?}");
    assert_eq!(own, 0, "the sender saw its own frames");
    assert_eq!(got.len(), 42, "frames received: {}", got.len());
    for (k, f) in got[..40].iter().enumerate() {
        assert_eq!(&f[14..16], &[b'B', k as u8], "frame {k} out of order");
    }
    let tail: Vec<(usize, u8)> = got[40..].iter().map(|f| (f.len(), f[14])).collect();
    assert_eq!(got[40].len(), 14 + 8000, "last frames (len, first payload byte): {tail:?}");
    assert!(got[40][14..].iter().all(|&c| c == b'J'));
    assert_eq!(&got[41][14..16], b"L\0");
    assert!(most_per_call > 1, "recv_batch never returned more than one frame");
}

//! Issue 14, faults 2-6: rbond sits on the host's only network path, so a second daemon, a
//! wrong command, a hostile local client or the seed's own configuration must never act on
//! the wrong bond, take an interface it does not own, or stall the daemon. Each test drives
//! the real rbond binary in its own network namespaces.
//!
//! - fault 2: per-namespace identity (default socket and run dir name the namespace; a live
//!   socket is never taken over, a stale one is reused);
//! - fault 3: a duplicate name in one enslave, and a second daemon's hands off the first's
//!   slaves and bond TAP;
//! - fault 4: what the kernel refuses or warns about (loopback, `%d` names, active_slave in
//!   802.3ad, addresses on a new slave, a slave put under a bridge from outside);
//! - fault 5: a bounded control socket (silent clients, huge requests, clients that never
//!   read, the CLI's timeout);
//! - SIGHUP keeps the daemon running;
//! - fault 6: the seed's GATEWAY outside its subnet is a warning, the bond comes up.

mod common;

use common::{require_root, rbond_bin, wait_ping};
use rbond::lab::netns::{unique_id, veth, Netns, ProcLog};
use rbond::lab::topology::{Daemon, RunDir};
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// `rbond <args>` inside `ns`, with the default socket (no --socket, no $RBOND_SOCKET).
fn rbond_in(ns: &Netns, args: &[&str]) -> Out {
    run_limited(Command::new("ip").args(["netns", "exec", ns.name()]).arg(rbond_bin()).args(args), Duration::from_secs(60))
}

/// `rbond --socket <daemon's> <args>` in the daemon's namespace.
fn cli(d: &Daemon, args: &[&str]) -> Out {
    run_limited(
        Command::new("ip").args(["netns", "exec", &d.ns]).arg(&d.bin).arg("--socket").arg(&d.socket).args(args),
        Duration::from_secs(60),
    )
}

fn cli_ok(d: &Daemon, args: &[&str]) -> String {
    let o = cli(d, args);
    assert_eq!(o.code, Some(0), "rbond {} failed: {}", args.join(" "), o.stderr);
    o.stdout
}

/// Runs a command, killing it after `limit` (a hung CLI must fail the test, not hang it).
fn run_limited(cmd: &mut Command, limit: Duration) -> Out {
    let start = Instant::now();
    let mut child = cmd
        .env_remove("RBOND_SOCKET")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let (mut so, mut se) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = so.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = se.read_to_string(&mut s);
        s
    });
    let code = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st.code();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = start.elapsed();
    Out { code, stdout: t_out.join().unwrap(), stderr: t_err.join().unwrap(), took }
}

/// The inode of a namespace's file under /run/netns (the namespace's nsfs inode).
fn ns_inode(ns: &Netns) -> u64 {
    std::fs::metadata(ns.path()).unwrap().ino()
}

/// The default run dir rbond must use inside `ns`.
fn default_dir(ns: &Netns) -> PathBuf {
    PathBuf::from(format!("/run/rbond/ns-{}", ns_inode(ns)))
}

/// Removes a namespace's default run dir on drop (the daemon removes it itself on a clean
/// exit; this covers a failed test).
struct DirGuard(PathBuf);
impl Drop for DirGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `rbond daemon` with default paths in `ns`, waited for.
fn start_default_daemon(ns: &Netns) -> ProcLog {
    let log = ns.spawn(&format!("rbond daemon in {}", ns.name()), Path::new(rbond_bin()), &["daemon"]).unwrap();
    log.wait_for("rbond daemon ready", Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("daemon in {} not ready: {e}\n{}", ns.name(), log.lines().join("\n")));
    log
}

/// The pid of the rbond daemon in `ns` whose command line contains `needle`.
fn daemon_pid(ns: &Netns, needle: &str) -> u32 {
    let out = Command::new("ip").args(["netns", "pids", ns.name()]).output().unwrap();
    for p in String::from_utf8_lossy(&out.stdout).split_whitespace() {
        let cmd = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains(" daemon") && cmd.contains(needle) {
            return p.parse().unwrap();
        }
    }
    panic!("no rbond daemon with {needle:?} in {}", ns.name());
}

/// Polls `rbond status` until `pred` holds, or panics with the last status.
fn wait_status_cli(d: &Daemon, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
    let end = Instant::now() + timeout;
    loop {
        let s = cli_ok(d, &["status"]);
        if pred(&s) {
            return s;
        }
        if Instant::now() > end {
            panic!("status never showed {what} within {timeout:?}:\n{s}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `/proc/<pid>/status` memory figure in KiB: `VmRSS` (now) or `VmHWM` (the peak).
fn vm_kib(pid: u32, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = s.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default().contains(") Z ")
}

/// One namespace with veth pairs eth0..ethN-1 (peers pN, in the same namespace, up so the
/// slaves get carrier) and `rbond daemon --socket` daemons started on demand.
struct Host {
    ns: Netns,
    dir: RunDir,
}

impl Host {
    fn new(id: &str, role: &str, n: usize) -> Host {
        require_root();
        let dir = RunDir::new(&format!("{id}-{role}")).unwrap();
        let ns = Netns::new(id, role).unwrap();
        rbond::lab::topology::quiet_ipv6(&ns).unwrap();
        for i in 0..n {
            veth(&ns, &format!("eth{i}"), &ns, &format!("p{i}")).unwrap();
            ns.ip(&["link", "set", &format!("p{i}"), "up"]).unwrap();
        }
        Host { ns, dir }
    }
    fn daemon(&self, role: &str) -> Daemon {
        Daemon::start(&self.ns, Path::new(rbond_bin()), &self.dir.0, role).unwrap()
    }
}

// ----- fault 2: per-namespace identity ------------------------------------------------------

#[test]
fn fault2_each_namespace_has_its_own_default_socket() {
    require_root();
    let id = unique_id();
    let a = Netns::new(&id, "nsa").unwrap();
    let b = Netns::new(&id, "nsb").unwrap();
    let _ga = DirGuard(default_dir(&a));
    let _gb = DirGuard(default_dir(&b));
    let log_a = start_default_daemon(&a);
    let _log_b = start_default_daemon(&b);

    // Each daemon's socket is in its own namespace's dir.
    for ns in [&a, &b] {
        let sock = default_dir(ns).join("rbond.sock");
        assert!(sock.exists(), "{} has no socket at {}", ns.name(), sock.display());
    }

    // A bond made in one namespace is not seen, not changed and not deletable from the other.
    let o = rbond_in(&a, &["add", "bonda", "mode", "active-backup", "miimon", "100"]);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let o = rbond_in(&b, &["add", "bondb", "mode", "balance-rr"]);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let la = rbond_in(&a, &["status", "--json"]);
    let lb = rbond_in(&b, &["status", "--json"]);
    println!("a: {}\nb: {}", la.stdout, lb.stdout);
    assert!(la.stdout.contains("bonda") && !la.stdout.contains("bondb"), "namespace a sees: {}", la.stdout);
    assert!(lb.stdout.contains("bondb") && !lb.stdout.contains("bonda"), "namespace b sees: {}", lb.stdout);
    let o = rbond_in(&b, &["del", "bonda"]);
    assert_eq!(o.code, Some(2), "deleting a's bond from b: {}", o.stderr);
    assert!(a.ip(&["link", "show", "bonda"]).is_ok(), "bonda vanished from namespace a");
    assert!(b.ip(&["link", "show", "bonda"]).is_err(), "bonda appeared in namespace b");
    // Status files live in each namespace's own run dir.
    assert!(default_dir(&a).join("bonda").exists());
    assert!(!default_dir(&b).join("bonda").exists());

    // A second daemon in namespace a refuses to start: the first one answers there.
    let second = rbond_in(&a, &["daemon"]);
    println!("second daemon: exit {:?}, stderr {}", second.code, second.stderr.trim());
    assert_eq!(second.code, Some(1), "a second daemon in one namespace must refuse to start");
    let sock_a = default_dir(&a).join("rbond.sock");
    assert!(second.stderr.contains("another rbond daemon is running"), "{}", second.stderr);
    assert!(second.stderr.contains(&sock_a.display().to_string()), "{}", second.stderr);
    // ... and the first is untouched.
    let o = rbond_in(&a, &["status", "bonda"]);
    assert_eq!(o.code, Some(0), "the first daemon stopped answering: {}", o.stderr);
    a.check_processes().unwrap();
    assert!(log_a.lines().iter().all(|l| !l.contains("panicked")));
    drop(a);
    drop(b);
}

#[test]
fn fault2_a_stale_socket_is_reused() {
    require_root();
    let id = unique_id();
    let c = Netns::new(&id, "nsc").unwrap();
    let dir = default_dir(&c);
    let _g = DirGuard(dir.clone());
    std::fs::create_dir_all(&dir).unwrap();
    // A socket file nobody listens on, as a killed daemon leaves it.
    drop(UnixListener::bind(dir.join("rbond.sock")).unwrap());
    let log = start_default_daemon(&c);
    // stderr and stdout are read by different threads: wait for the line, do not race it.
    let end = Instant::now() + Duration::from_secs(5);
    while !log.lines().iter().any(|l| l.contains("removing the stale socket")) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(log.lines().iter().any(|l| l.contains("removing the stale socket")), "{:?}", log.lines());
    let o = rbond_in(&c, &["add", "bondc"]);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    drop(c);
    assert!(!dir.exists(), "the daemon left its per-namespace dir behind: {}", dir.display());
}

// ----- fault 3: one command, one owner --------------------------------------------------------

#[test]
fn fault3_duplicate_names_and_a_second_daemon_change_nothing() {
    let id = unique_id();
    let h = Host::new(&id, "own", 3);
    let _records = OwnerRecords(ns_inode(&h.ns));
    let d1 = h.daemon("one");
    let d2 = h.daemon("two");
    cli_ok(&d1, &["add", "bond0", "mode", "active-backup", "miimon", "100"]);
    let mac_eth2 = h.ns.read_sys("/sys/class/net/eth2/address").unwrap();

    // `enslave bond0 eth2 eth2`: refused before anything changes.
    let before = cli_ok(&d1, &["status", "bond0"]);
    let o = cli(&d1, &["enslave", "bond0", "eth2", "eth2"]);
    println!("duplicate: exit {:?}: {}", o.code, o.stderr.trim());
    assert_eq!(o.code, Some(2));
    assert!(o.stderr.contains("(slave eth2): Error: eth2 is named twice in one command"), "{}", o.stderr);
    assert_eq!(cli_ok(&d1, &["status", "bond0"]), before, "a refused enslave changed the bond");
    assert_eq!(h.ns.read_sys("/sys/class/net/eth2/address").unwrap(), mac_eth2);
    let tables = h.ns.exec_ok(&["nft", "list", "tables"]).unwrap();
    assert!(!tables.contains("eth2"), "eth2 kept an isolation table: {tables}");

    // Daemon one owns eth0 and its TAP bond0; daemon two must not take either.
    cli_ok(&d1, &["enslave", "bond0", "eth0"]);
    cli_ok(&d2, &["add", "bond1", "mode", "active-backup", "miimon", "100"]);
    let tables_before = h.ns.exec_ok(&["nft", "list", "tables"]).unwrap();
    for victim in ["eth0", "bond0"] {
        let o = cli(&d2, &["enslave", "bond1", victim]);
        println!("second daemon enslaving {victim}: exit {:?}: {}", o.code, o.stderr.trim());
        assert_eq!(o.code, Some(2), "the second daemon enslaved {victim}");
        let want = format!(
            "(slave {victim}): Error: Device is in use and cannot be enslaved (owned by the rbond daemon at {})",
            d1.socket.display()
        );
        assert!(o.stderr.contains(&want), "{}", o.stderr);
    }
    assert!(!cli_ok(&d2, &["status", "bond1"]).contains("Slave Interface"), "bond1 got a slave");
    assert!(cli_ok(&d1, &["status", "bond0"]).contains("Slave Interface: eth0"));
    assert_eq!(h.ns.exec_ok(&["nft", "list", "tables"]).unwrap(), tables_before, "eth0's isolation was touched");

    // Once daemon one lets eth0 go, daemon two may have it.
    cli_ok(&d1, &["release", "bond0", "eth0"]);
    cli_ok(&d2, &["enslave", "bond1", "eth0"]);
    assert!(cli_ok(&d2, &["status", "bond1"]).contains("Slave Interface: eth0"));

    // An owner that died (kill -9) holds nothing: its record is stale and taken over.
    cli_ok(&d1, &["enslave", "bond0", "eth1"]);
    let pid1 = daemon_pid(&h.ns, &d1.socket.display().to_string());
    // SAFETY: kill(2) on the daemon this test started.
    unsafe { libc::kill(pid1 as i32, libc::SIGKILL) };
    let end = Instant::now() + Duration::from_secs(5);
    while alive(pid1) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = cli(&d2, &["enslave", "bond1", "eth1"]);
    assert_eq!(o.code, Some(0), "a dead owner's slave must be free: {}", o.stderr);
    cli_ok(&d2, &["del", "bond1"]);
    // No record of this namespace is left once its daemons let go.
    let ino = ns_inode(&h.ns);
    let leftover: Vec<String> = std::fs::read_dir("/run/rbond/owners")
        .map(|r| r.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    // bond0's TAP record of the killed daemon may remain until someone looks at it; eth0
    // and eth1 (released by a live daemon) must be gone.
    let eth = |n: &str| h.ns.read_sys(&format!("/sys/class/net/{n}/ifindex")).unwrap();
    for n in ["eth0", "eth1"] {
        let rec = format!("ns-{ino}-if-{}", eth(n));
        assert!(!leftover.contains(&rec), "{n}'s ownership record was left behind: {leftover:?}");
    }
}

/// Removes the ownership records of one namespace on drop (a killed daemon leaves its own).
struct OwnerRecords(u64);
impl Drop for OwnerRecords {
    fn drop(&mut self) {
        let prefix = format!("ns-{}-", self.0);
        for e in std::fs::read_dir("/run/rbond/owners").into_iter().flatten().flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

// ----- fault 4: refusals and warnings as the kernel --------------------------------------

#[test]
fn fault4_kernel_refusals_and_warnings() {
    let id = unique_id();
    let h = Host::new(&id, "kern", 3);
    let d = h.daemon("k");
    cli_ok(&d, &["add", "bond0", "mode", "active-backup", "miimon", "100"]);
    let before = cli_ok(&d, &["status", "bond0"]);

    // Loopback: refused, lo keeps its address and traffic.
    let o = cli(&d, &["enslave", "bond0", "lo"]);
    println!("lo: exit {:?}: {}", o.code, o.stderr.trim());
    assert_eq!(o.code, Some(2));
    assert!(o.stderr.contains("(slave lo): Error: the loopback device cannot be enslaved"), "{}", o.stderr);
    assert!(o.stderr.contains("(write error: Operation not supported)"), "{}", o.stderr);
    assert_eq!(cli_ok(&d, &["status", "bond0"]), before);
    assert_eq!(h.ns.read_sys("/sys/class/net/lo/address").unwrap(), "00:00:00:00:00:00");
    assert!(common::ping_ok(&h.ns, "127.0.0.1"), "loopback broken");

    // Names the kernel would rewrite: nothing created, nothing tracked.
    let o = cli(&d, &["add", "a%d"]);
    println!("a%d: exit {:?}: {}", o.code, o.stderr.trim());
    assert_eq!(o.code, Some(2));
    assert!(o.stderr.contains("invalid bond name 'a%d': '%' is not allowed"), "{}", o.stderr);
    assert!(h.ns.ip(&["link", "show", "a0"]).is_err(), "a0 was created");
    assert_eq!(cli_ok(&d, &["status"]).matches("Bonding Mode").count(), 1);

    // active_slave in 802.3ad: the mode dependency refusal on every path.
    cli_ok(&d, &["add", "bond1", "mode", "802.3ad", "miimon", "100"]);
    cli_ok(&d, &["enslave", "bond1", "eth2"]);
    let want = "bond1: option active_slave: mode dependency failed, not supported in mode 802.3ad(4)";
    for args in [
        &["active-slave", "bond1", "eth2"][..],
        &["set", "bond1", "active_slave", "eth2"][..],
        &["set", "bond1", "active_slave", ""][..],
    ] {
        let o = cli(&d, args);
        assert_eq!(o.code, Some(2), "rbond {args:?} accepted");
        assert!(o.stderr.contains(want), "rbond {args:?}: {}", o.stderr);
    }
    let o = cli(&d, &["add", "bond2", "mode", "802.3ad", "active_slave", "eth2"]);
    assert_eq!(o.code, Some(2));
    assert!(o.stderr.contains("option active_slave: mode dependency failed, not supported in mode 802.3ad(4)"), "{}", o.stderr);
    assert!(h.ns.ip(&["link", "show", "bond2"]).is_err());
    cli_ok(&d, &["del", "bond1"]);

    // An interface that is up with addresses: enslaved, with a warning naming them.
    h.ns.ip(&["addr", "add", "198.18.7.1/24", "dev", "eth1"]).unwrap();
    h.ns.ip(&["addr", "add", "2001:2::71/64", "dev", "eth1", "nodad"]).ok();
    h.ns.ip(&["link", "set", "eth1", "up"]).unwrap();
    let o = cli(&d, &["enslave", "bond0", "eth1"]);
    println!("eth1 with addresses: exit {:?}: {}", o.code, o.stderr.trim());
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert!(o.stderr.contains("warning: bond0: (slave eth1): is up with address(es) 198.18.7.1/24"), "{}", o.stderr);
    assert!(o.stderr.contains("become unreachable while it is a slave"), "{}", o.stderr);
    // eth0 has none: no warning.
    let o = cli(&d, &["enslave", "bond0", "eth0"]);
    assert_eq!(o.code, Some(0));
    assert!(!o.stderr.contains("address"), "{}", o.stderr);

    // A slave put under a bridge from outside stops being listed, with a log line.
    h.ns.ip(&["link", "add", "br9", "type", "bridge"]).unwrap();
    h.ns.ip(&["link", "set", "eth0", "master", "br9"]).unwrap();
    wait_status_cli(&d, "eth0 released", Duration::from_secs(3), |s| !s.contains("Slave Interface: eth0"));
    assert!(cli_ok(&d, &["status", "bond0"]).contains("Slave Interface: eth1"));
    let log = d.log.lines();
    assert!(
        log.iter().any(|l| l == "bond0: (slave eth0): was given the master br9 from outside rbond; releasing it"),
        "no log line: {log:?}"
    );
    assert!(log.iter().any(|l| l.starts_with("bond0: (slave eth0): Releasing")), "{log:?}");
    // Released means restored: no isolation table is left on eth0.
    let tables = h.ns.exec_ok(&["nft", "list", "tables"]).unwrap();
    assert!(!tables.contains("eth0"), "{tables}");
    cli_ok(&d, &["del", "bond0"]);
}

// ----- fault 5: a bounded control socket --------------------------------------------------

/// Connects and sends nothing; kept open until dropped.
fn silent_client(sock: &Path) -> UnixStream {
    UnixStream::connect(sock).unwrap()
}

#[test]
fn fault5_silent_clients_do_not_delay_commands() {
    let id = unique_id();
    let h = Host::new(&id, "ctl1", 0);
    let d = h.daemon("c");
    cli_ok(&d, &["add", "bond0"]);
    let one = silent_client(&d.socket);
    std::thread::sleep(Duration::from_millis(50));
    let o = cli(&d, &["status", "bond0"]);
    println!("1 silent client: status took {:?}", o.took);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert!(o.took < Duration::from_secs(1), "a silent client delayed a command by {:?}", o.took);
    let six: Vec<UnixStream> = (0..6).map(|_| silent_client(&d.socket)).collect();
    std::thread::sleep(Duration::from_millis(50));
    let mut worst = Duration::ZERO;
    for _ in 0..3 {
        let o = cli(&d, &["status", "bond0"]);
        assert_eq!(o.code, Some(0), "{}", o.stderr);
        worst = worst.max(o.took);
    }
    println!("7 silent clients: worst of 3 commands took {worst:?}");
    assert!(worst < Duration::from_secs(1), "silent clients stacked delays: {worst:?}");
    drop(one);
    drop(six);
}

/// More silent clients than the daemon serves at once: the extra ones are answered at once
/// (never left hanging), the silent ones are dropped at the read deadline, and the daemon's
/// threads and file descriptors come back to where they were.
#[test]
fn fault5_client_cap_refuses_fast_and_recovers() {
    let id = unique_id();
    let h = Host::new(&id, "ctl4", 0);
    let d = h.daemon("c");
    cli_ok(&d, &["add", "bond0"]);
    let pid = daemon_pid(&h.ns, &d.socket.display().to_string());
    let threads = || vm_kib(pid, "Threads:");
    let fds = || std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap().count();
    let (t0, f0) = (threads(), fds());
    let silent: Vec<UnixStream> = (0..64).map(|_| silent_client(&d.socket)).collect();
    std::thread::sleep(Duration::from_millis(200));
    let t_busy = threads();
    let start = Instant::now();
    let mut extra = UnixStream::connect(&d.socket).unwrap();
    extra.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut reply = String::new();
    let _ = extra.read_to_string(&mut reply);
    let took = start.elapsed();
    println!("64 silent clients: daemon threads {t0} -> {t_busy}; the 65th client answered in {took:?}: {}", reply.trim());
    assert!(reply.contains("too many clients at once (limit 64)"), "{reply:?}");
    assert!(took < Duration::from_secs(1), "{took:?}");
    // The read deadline (2 s) frees every place.
    let end = Instant::now() + Duration::from_secs(6);
    loop {
        let o = cli(&d, &["status", "bond0"]);
        if o.code == Some(0) {
            break;
        }
        assert!(Instant::now() < end, "the daemon never recovered: {}", o.stderr);
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(silent);
    std::thread::sleep(Duration::from_millis(300));
    let (t1, f1) = (threads(), fds());
    println!("after: threads {t1} (before {t0}), fds {f1} (before {f0})");
    assert_eq!(t1, t0, "client threads left behind");
    assert_eq!(f1, f0, "file descriptors left behind");
}

#[test]
fn fault5_huge_request_is_refused_without_growing_the_daemon() {
    let id = unique_id();
    let h = Host::new(&id, "ctl2", 0);
    let d = h.daemon("c");
    cli_ok(&d, &["add", "bond0"]);
    let pid = daemon_pid(&h.ns, &d.socket.display().to_string());
    let (rss0, hwm0) = (vm_kib(pid, "VmRSS:"), vm_kib(pid, "VmHWM:"));
    let start = Instant::now();
    let s = UnixStream::connect(&d.socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    // 300 MB on one line, written until the daemon closes the connection.
    let writer = {
        let mut w = s.try_clone().unwrap();
        std::thread::spawn(move || {
            let chunk = vec![b'x'; 1 << 20];
            let mut sent = 0usize;
            let _ = w.write_all(b"{\"cmd\":\"show\",\"bond\":\"");
            while sent < 300 << 20 {
                match w.write(&chunk) {
                    Ok(n) => sent += n,
                    Err(_) => break,
                }
            }
            sent
        })
    };
    let mut reply = String::new();
    let _ = (&s).read_to_string(&mut reply);
    let sent = writer.join().unwrap();
    let took = start.elapsed();
    let (rss1, hwm1) = (vm_kib(pid, "VmRSS:"), vm_kib(pid, "VmHWM:"));
    println!(
        "huge request: {sent} bytes taken before the refusal, {took:?}; daemon VmRSS {rss0} KiB -> {rss1} KiB, peak (VmHWM) {hwm0} KiB -> {hwm1} KiB; reply {}",
        reply.trim()
    );
    assert!(reply.contains("request too long (limit 65536 bytes)"), "reply: {reply:?}");
    assert!(sent < 300 << 20, "the daemon read all 300 MB");
    assert!(took < Duration::from_secs(5), "refusing took {took:?}");
    assert!(rss1 < rss0 + 4 * 1024, "daemon RSS grew from {rss0} KiB to {rss1} KiB");
    // The peak too: memory taken while reading and given back afterwards still counts.
    assert!(hwm1 < hwm0 + 4 * 1024, "daemon peak RSS grew from {hwm0} KiB to {hwm1} KiB");
    let o = cli(&d, &["status", "bond0"]);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
}

#[test]
fn fault5_a_client_that_never_reads_blocks_nobody() {
    let id = unique_id();
    let h = Host::new(&id, "ctl3", 0);
    let d = h.daemon("c");
    cli_ok(&d, &["add", "bond0", "miimon", "100"]);
    // A request whose answer is larger than a unix socket's buffer (~208 KiB): 3 000 writes of
    // `updelay 250`, each answered with the kernel's rounding warning (~90 bytes each, ~270
    // KiB in all), from a request that stays under the 64 KiB limit.
    let pairs: Vec<(String, String)> = (0..3000).map(|_| ("updelay".to_string(), "250".to_string())).collect();
    let req = serde_json::json!({"cmd": "set_many", "bond": "bond0", "opts": pairs}).to_string() + "\n";
    assert!(req.len() < 65536, "request of {} bytes", req.len());
    let mut hog = UnixStream::connect(&d.socket).unwrap();
    hog.write_all(req.as_bytes()).unwrap();
    // Never read. Later commands still complete at once, repeatedly.
    std::thread::sleep(Duration::from_millis(300));
    for i in 0..3 {
        let o = run_limited(
            Command::new("ip").args(["netns", "exec", &d.ns]).arg(&d.bin).arg("--socket").arg(&d.socket).args(["status", "bond0"]),
            Duration::from_secs(8),
        );
        println!("command {i} while a client does not read: exit {:?} in {:?}", o.code, o.took);
        assert_eq!(o.code, Some(0), "blocked: {}", o.stderr);
        assert!(o.took < Duration::from_secs(1), "took {:?}", o.took);
    }
    assert!(cli_ok(&d, &["show", "bond0", "updelay"]).trim() == "200");
    drop(hog);
}

#[test]
fn fault5_cli_times_out_on_a_daemon_that_never_answers() {
    require_root();
    let dir = RunDir::new(&format!("{}-mute", unique_id())).unwrap();
    let sock = dir.0.join("mute.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    // Accepts and holds every connection, never answering.
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let h2 = held.clone();
    std::thread::spawn(move || {
        for c in listener.incoming().flatten() {
            h2.lock().unwrap().push(c);
        }
    });
    let o = run_limited(
        Command::new(rbond_bin()).arg("--socket").arg(&sock).args(["--timeout", "1", "status"]),
        Duration::from_secs(10),
    );
    println!("mute daemon: exit {:?} in {:?}: {}", o.code, o.took, o.stderr.trim());
    assert_eq!(o.code, Some(1));
    assert!(
        o.stderr.contains(&format!("the rbond daemon at {} did not answer within 1 s", sock.display())),
        "{}",
        o.stderr
    );
    assert!(o.took < Duration::from_secs(3), "took {:?}", o.took);
    // The default is 10 s.
    let o = run_limited(Command::new(rbond_bin()).arg("--socket").arg(&sock).args(["status"]), Duration::from_secs(20));
    println!("default timeout: exit {:?} in {:?}", o.code, o.took);
    assert_eq!(o.code, Some(1));
    assert!(o.stderr.contains("did not answer within 10 s"), "{}", o.stderr);
    assert!(o.took >= Duration::from_secs(9) && o.took < Duration::from_secs(13), "{:?}", o.took);
}

// ----- SIGHUP -------------------------------------------------------------------------------

#[test]
fn sighup_keeps_the_daemon_running() {
    let id = unique_id();
    let h = Host::new(&id, "hup", 1);
    let d = h.daemon("h");
    cli_ok(&d, &["add", "bond0", "miimon", "100"]);
    cli_ok(&d, &["enslave", "bond0", "eth0"]);
    let pid = daemon_pid(&h.ns, &d.socket.display().to_string());
    for _ in 0..3 {
        // SAFETY: kill(2) on the daemon this test started.
        unsafe { libc::kill(pid as i32, libc::SIGHUP) };
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(alive(pid), "SIGHUP killed the daemon");
    h.ns.check_processes().unwrap();
    let s = cli_ok(&d, &["status", "bond0"]);
    assert!(s.contains("Slave Interface: eth0"), "{s}");
    let lines = d.log.lines();
    assert!(lines.iter().any(|l| l.contains("SIGHUP received: nothing to reload")), "{lines:?}");
}

/// A child process stopped (SIGTERM, then SIGKILL) and reaped on drop, also on a panic.
struct ChildGuard(std::process::Child);
impl Drop for ChildGuard {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own, not yet reaped child.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        let end = Instant::now() + Duration::from_secs(3);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `rbond daemon &` from a terminal that then closes: SIGHUP, and every later log line fails
/// to write (here: its stdout and stderr pipes are closed, so writes fail with EPIPE). The
/// daemon must neither die of the signal nor of the failing writes.
#[test]
fn sighup_and_a_closed_terminal_keep_the_daemon_running() {
    let id = unique_id();
    let h = Host::new(&id, "tty", 2);
    let sock = h.dir.0.join("tty.sock");
    let run = h.dir.0.join("tty");
    let mut child = Command::new("ip")
        .args(["netns", "exec", h.ns.name()])
        .arg(rbond_bin())
        .arg("--socket")
        .arg(&sock)
        .arg("daemon")
        .arg("--run-dir")
        .arg(&run)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let guard = ChildGuard(child);
    let mut first = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut first).unwrap();
    assert!(first.contains("rbond daemon ready"), "{first:?}");
    // The terminal goes away: both pipes are closed (the BufReader took stdout and is gone).
    drop(err);
    let pid = guard.0.id();
    // SAFETY: kill(2) on the daemon this test started.
    unsafe { libc::kill(pid as i32, libc::SIGHUP) };
    std::thread::sleep(Duration::from_millis(100));
    let d = Daemon { ns: h.ns.name().to_string(), bin: PathBuf::from(rbond_bin()), socket: sock, run_dir: run, log: ProcLog::default() };
    // These log lines ("Enslaving ...", "Releasing ...") cannot be written any more.
    cli_ok(&d, &["add", "bond0", "miimon", "100"]);
    cli_ok(&d, &["enslave", "bond0", "eth0", "eth1"]);
    cli_ok(&d, &["release", "bond0", "eth1"]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(alive(pid), "the daemon died after its terminal closed");
    assert!(cli_ok(&d, &["status", "bond0"]).contains("Slave Interface: eth0"));
    drop(guard);
}

// ----- fault 6: the seed's GATEWAY outside its subnet ---------------------------------------

#[test]
fn fault6_gateway_outside_the_subnet_warns_and_the_bond_comes_up() {
    let id = unique_id();
    // The peer answers at 198.18.1.1, inside the bond's 198.18.1.0/24; GATEWAY names
    // 198.19.0.1, outside it (as the seed's 172.16.0.1 is outside 192.168.1.0/24). The
    // gateway is only a configuration value here: nothing is ever sent to it.
    let net = common::SeedNet::build(&id, "198.18.1.1");
    let conf = std::env::temp_dir().join(format!("rbond-e2e-gw-{id}"));
    let _g = DirGuard(conf.clone());
    std::fs::create_dir_all(&conf).unwrap();
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rbond-config/tests/fixtures/seed");
    for e in std::fs::read_dir(&seed).unwrap().flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap();
        std::fs::write(conf.join(e.file_name()), text.replace("GATEWAY=198.18.1.1", "GATEWAY=198.19.0.1")).unwrap();
    }
    assert!(std::fs::read_to_string(conf.join("ifcfg-bond0")).unwrap().contains("GATEWAY=198.19.0.1"));
    let c = conf.to_str().unwrap();
    let mp = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rbond-config/tests/fixtures/seed-modprobe.conf");
    let mp = mp.to_str().unwrap();
    let d = &net.daemon;

    let o = cli(d, &["check", "--config-dir", c, "--modprobe-conf", mp]);
    println!("check: exit {:?}\n{}{}", o.code, o.stdout, o.stderr);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert!(o.stderr.contains("warning: GATEWAY: 198.19.0.1 is not in the bond's subnet 198.18.1.0/24"), "{}", o.stderr);
    assert!(o.stdout.contains("no default route: GATEWAY 198.19.0.1 is outside 198.18.1.0/24"), "{}", o.stdout);
    assert!(net.host.ip(&["link", "show", "bond0"]).is_err(), "check created the bond");

    let o = cli(d, &["up", "bond0", "--config-dir", c, "--modprobe-conf", mp]);
    println!("up: exit {:?}\n{}{}", o.code, o.stdout, o.stderr);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert!(
        o.stderr.contains("warning: bond0: the default route via 198.19.0.1 could not be added: 198.19.0.1 is outside 198.18.1.0/24"),
        "{}",
        o.stderr
    );
    let addrs = net.host.ip(&["-4", "addr", "show", "dev", "bond0"]).unwrap();
    assert!(addrs.contains("198.18.1.11/24"), "{addrs}");
    let routes = net.host.ip(&["route", "show", "default"]).unwrap();
    assert!(routes.trim().is_empty(), "a default route appeared: {routes}");
    assert!(wait_ping(&net.host, "198.18.1.1", Duration::from_secs(5)), "the bond does not carry traffic");
    let o = cli(d, &["down", "bond0"]);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    net.teardown();
}

// ----- fault 3: a renamed slave stays isolated and listed under its new name ----------------

#[test]
fn fault3_a_renamed_slave_keeps_its_isolation_and_its_new_name() {
    let id = unique_id();
    let h = Host::new(&id, "ren", 2);
    let _records = OwnerRecords(ns_inode(&h.ns));
    let d = h.daemon("one");
    cli_ok(&d, &["add", "bond0", "mode", "active-backup", "miimon", "100"]);
    cli_ok(&d, &["enslave", "bond0", "eth0", "eth1"]);
    let index = h.ns.read_sys("/sys/class/net/eth0/ifindex").unwrap();
    let index = index.trim();
    h.ns.ip(&["link", "set", "eth0", "down"]).unwrap();
    h.ns.ip(&["link", "set", "eth0", "name", "ren0"]).unwrap();
    h.ns.ip(&["link", "set", "ren0", "up"]).unwrap();
    // The status follows the new name ...
    let s = wait_status_cli(&d, "the new name", Duration::from_secs(5), |s| s.contains("Slave Interface: ren0"));
    assert!(!s.contains("Slave Interface: eth0"), "{s}");
    // ... the isolation hooks the new name (the old table named a device that is gone) ...
    let tables = h.ns.exec_ok(&["nft", "list", "tables"]).unwrap();
    println!("tables after the rename:\n{tables}");
    assert!(tables.contains(&format!("rbond_ren0_{index}")), "no isolation for ren0: {tables}");
    assert!(!tables.contains(&format!("rbond_eth0_{index}")), "the old table is left: {tables}");
    let chain = h.ns.exec_ok(&["nft", "list", "table", "netdev", &format!("rbond_ren0_{index}")]).unwrap();
    assert!(chain.contains("device \"ren0\""), "{chain}");
    // ... and the name works in commands; the release lifts it.
    cli_ok(&d, &["release", "bond0", "ren0"]);
    let tables = h.ns.exec_ok(&["nft", "list", "tables"]).unwrap();
    assert!(!tables.contains("ren0"), "the renamed slave kept its isolation after release: {tables}");
}

// ----- isolation removed from outside is put back at once ----------------------------------

#[test]
fn isolation_removed_from_outside_is_restored_and_logged() {
    let id = unique_id();
    let h = Host::new(&id, "iso", 1);
    let _records = OwnerRecords(ns_inode(&h.ns));
    let d = h.daemon("one");
    cli_ok(&d, &["add", "bond0", "mode", "active-backup", "miimon", "100"]);
    cli_ok(&d, &["enslave", "bond0", "eth0"]);
    let index = h.ns.read_sys("/sys/class/net/eth0/ifindex").unwrap();
    let table = format!("rbond_eth0_{}", index.trim());
    let whole = || {
        let t = h.ns.exec(&["nft", "list", "table", "netdev", &table]).map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
        // Two chains (ingress, egress), each with its drop rule.
        let chains: Vec<&str> = t.split("\tchain ").skip(1).collect();
        chains.len() == 2 && chains.iter().all(|c| c.contains("drop"))
    };
    let wait_whole = |what: &str| {
        let end = Instant::now() + Duration::from_secs(3);
        while !whole() {
            assert!(Instant::now() < end, "{what}: the isolation was not restored within 3 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    assert!(whole(), "no isolation after enslave");
    let restored = |n: usize| d.log.lines().iter().filter(|l| l.contains("isolation was removed from outside; restored")).count() >= n;
    // The whole table deleted ...
    let t0 = Instant::now();
    h.ns.exec_ok(&["nft", "delete", "table", "netdev", &table]).unwrap();
    wait_whole("table deleted");
    println!("table deleted: whole again after {:?}", t0.elapsed());
    // ... or only its drop rule flushed: both come back.
    let t0 = Instant::now();
    h.ns.exec_ok(&["nft", "flush", "chain", "netdev", &table, "ingress"]).unwrap();
    wait_whole("chain flushed");
    println!("ingress chain flushed: whole again after {:?}", t0.elapsed());
    let end = Instant::now() + Duration::from_secs(3);
    while !restored(2) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(restored(2), "no log line for the restorations: {:?}", d.log.lines());
    // The daemon's own removal at release is not "from outside": nothing comes back.
    cli_ok(&d, &["release", "bond0", "eth0"]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(!whole(), "the released slave was isolated again");
}

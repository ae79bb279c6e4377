//! `rbond daemon`: one thread runs every bond of this network namespace. It polls the TAP
//! and slave sockets (the data path), netlink link events, the control socket and the
//! core's timers. The bonds are owned by this thread alone, so nothing is locked.

mod bond_rt;
mod control;
pub mod metrics;
mod notify;
pub mod obs;
mod pump;
pub mod state;
mod workers;

pub use bond_rt::{log_line, BondRt};

use crate::sys::{self, netlink};
use anyhow::{Context, Result};
use rbond_core::Millis;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// `--busy-poll` default (µs): off. Measured on this 2-vCPU machine (BENCHMARKS.md, the
/// suite's latency rows), polling 50 µs after traffic made round trips worse, not better
/// (+79 µs p50 and +1.5 ms p99 added, against +17 µs and +65 µs without): the spinning thread
/// holds the CPU the woken application needs, while an idle vCPU wakes quickly anyway
/// (haltpoll). It stays an option for machines with cores to spare.
pub const DEFAULT_BUSY_POLL_US: u32 = 0;

/// How the daemon runs its data path (`rbond daemon --workers N --busy-poll USECS`).
#[derive(Clone, Copy, Debug)]
pub struct DaemonOpts {
    /// Data-path threads per bond, the event loop's own included (1: it alone).
    pub workers: usize,
    pub busy_poll_us: u32,
    /// Slaves' carrier changes from netlink events (else only from the miimon poll).
    pub link_events: bool,
}

/// `--workers` default: one per CPU this process may run on.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 64)
}

/// The backstop link poll's interval when link changes come as netlink events (ms).
const LINK_POLL_MS: u64 = 1000;

static STOP: AtomicBool = AtomicBool::new(false);
static HUP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// SIGHUP: the daemon has no configuration file to reload, and a closing terminal (`rbond
/// daemon &` from a shell that exits) must not take the host's bonds down with it. It is
/// logged and otherwise ignored.
extern "C" fn on_hup(_: libc::c_int) {
    HUP.store(true, Ordering::SeqCst);
}

pub struct Daemon {
    pub bonds: BTreeMap<String, BondRt>,
    run_dir: PathBuf,
    start: Instant,
    release: String,
    /// Slave polling (the kernel's miimon carrier read), per bond: next time.
    next_poll: Millis,
    /// The status text last written to the run dir, per bond.
    written: std::collections::HashMap<String, String>,
    /// `--workers`, `--busy-poll`.
    pub dp: DaemonOpts,
}

impl Daemon {
    pub fn now(&self) -> Millis {
        self.start.elapsed().as_millis() as Millis
    }

    fn write_status(&mut self, name: &str) {
        if let Some(b) = self.bonds.get(name) {
            let text = b.core.proc_text();
            // Most monitor ticks change nothing: write only what changed.
            if self.written.get(name) == Some(&text) {
                return;
            }
            self.written.insert(name.to_string(), text.clone());
            let path = self.run_dir.join(name);
            let tmp = self.run_dir.join(format!(".{name}.tmp"));
            if std::fs::write(&tmp, text).is_ok() {
                let _ = std::fs::rename(&tmp, &path);
            }
        }
    }

    /// Brings the state files up to date with the bonds' options (they change only through
    /// control requests; slaves are recorded by `BondRt` itself, before each change).
    fn record_state(&self) {
        for b in self.bonds.values() {
            if let Err(e) = state::record_bond_info(&b.core, b.tap.ifindex()) {
                log_line(b.core.name(), None, &format!("cannot write the state file: {e}"));
            }
        }
    }

    /// Re-adopts a bond a previous daemon of this run dir left behind (killed, crashed):
    /// attach to its persistent TAP, replay its options, re-enslave its slaves in the
    /// recorded order with their recorded MACs as permanent addresses, then take the
    /// device's admin state, as `ip link set up` would have been seen.
    fn adopt(&mut self, st: state::BondState) {
        let now = self.now();
        let name = st.bond.clone();
        let mut rt = match BondRt::attach(&name, &self.release, self.dp) {
            Ok(rt) => rt,
            Err(e) if e.downcast_ref::<std::io::Error>().is_none_or(|io| io.kind() != std::io::ErrorKind::NotFound) => {
                // EBUSY: another live process (a second daemon on this run dir) holds the
                // device; its slaves are not ours to restore. Left as found.
                log_line(&name, None, &format!("cannot re-adopt the bond device ({e:#}); bond and state file left alone"));
                return;
            }
            Err(e) => {
                log_line(&name, None, &format!("cannot re-adopt the bond device ({e:#}); restoring its slaves"));
                for line in crate::cleanup::restore_slaves(&st) {
                    log_line(&name, None, &line);
                }
                let _ = state::forget_bond(&name);
                return;
            }
        };
        let found = netlink::link_by_index(rt.tap.ifindex()).ok().flatten();
        for e in state::replay_options(&mut rt.core, &st.options, now) {
            log_line(&name, None, &format!("option not restored: {e}"));
        }
        for rec in &st.slaves {
            if netlink::link_by_index(rec.ifindex).ok().flatten().is_none() {
                log_line(&name, Some(&rec.name), "gone while no daemon ran; forgotten");
                let _ = state::forget_slave(&name, rec.ifindex);
                continue;
            }
            match rt.readopt(rec, now) {
                Ok(_) => log_line(&name, Some(&rec.name), &format!("re-adopted (permanent HW addr {})", rec.perm_mac)),
                Err(e) => log_line(&name, Some(&rec.name), &format!("cannot re-adopt, restored instead: {}", e.lines.join("; "))),
            }
        }
        if let Some(info) = found {
            // An address the administrator gave bond0 (not the first slave's) stays.
            if info.mac != rt.core.mac().0 {
                rt.core.set_bond_mac(rbond_core::MacAddr(info.mac));
            }
            rt.core.set_admin_up(info.admin_up, now);
            if info.admin_up {
                rt.refresh_addrs();
            }
        }
        rt.run_actions();
        // The bond carries traffic again: resolve neighbours now, not at the next ARP/ND
        // retransmission of requests sent while no daemon ran.
        if let Err(e) = netlink::flush_unresolved_neighbours(rt.tap.ifindex()) {
            log_line(&name, None, &format!("cannot flush unresolved neighbours: {e}"));
        }
        // The dead daemon's ownership records are stale: the devices are this daemon's now.
        let _ = crate::sys::owner::claim(rt.tap.ifindex(), &name);
        for s in &rt.slaves {
            let _ = crate::sys::owner::claim(s.ifindex, &s.name);
        }
        log_line(&name, None, &format!("re-adopted with {} slave(s)", rt.slaves.len()));
        self.bonds.insert(name, rt);
        self.record_state();
    }

    fn write_all_status(&mut self) {
        let names: Vec<String> = self.bonds.keys().cloned().collect();
        for n in names {
            self.write_status(&n);
        }
    }

    /// Link events from netlink: carrier/admin changes of slaves and of the bonds.
    fn on_link_event(&mut self, ev: netlink::LinkEvent) {
        let now = self.now();
        match ev {
            netlink::LinkEvent::Changed(info) => {
                for b in self.bonds.values_mut() {
                    if info.index == b.tap.ifindex() {
                        // `ip link set bond0 address ...`: the bond adopts it as the kernel's
                        // does (slaves follow).
                        b.mac_seen(info.mac);
                        b.mtu_changed(info.mtu);
                        b.core.set_admin_up(info.admin_up, now);
                        if info.admin_up {
                            b.refresh_addrs();
                        }
                    } else if b.slaves.iter().any(|s| s.ifindex == info.index) {
                        let id = rbond_core::SlaveId(info.index);
                        b.renamed(id, &info.name);
                        match info.master {
                            Some(master) => release_to_master(b, id, master, now),
                            None if self.dp.link_events => b.link_seen(id, &info, now),
                            None => {}
                        }
                    }
                    b.run_actions();
                }
            }
            netlink::LinkEvent::Removed { index, .. } => {
                // By ifindex: the slave may have been renamed since it was enslaved.
                for b in self.bonds.values_mut() {
                    if b.slaves.iter().any(|s| s.ifindex == index) {
                        b.release_id(rbond_core::SlaveId(index), now);
                    }
                }
            }
            netlink::LinkEvent::Addr { index } => {
                // The core announces the bond's addresses at failover (bond_main.c: bond_should_notify_peers) and the ARP/NS
                // monitor probes from them: keep its copy current.
                for b in self.bonds.values_mut().filter(|b| b.tap.ifindex() == index) {
                    b.refresh_addrs();
                }
            }
            netlink::LinkEvent::Overrun => {
                for b in self.bonds.values_mut() {
                    b.refresh_addrs();
                }
                self.poll_links()
            }
        }
        self.write_all_status();
    }

    /// Reads every slave's link like the kernel's MII monitor reads the carrier each
    /// miimon; events make this fast, the poll makes it certain.
    fn poll_links(&mut self) {
        let now = self.now();
        // One dump for every slave of every bond (a slave missing from it is gone; its
        // RTM_DELLINK event releases it).
        let Ok(all) = netlink::links() else { return };
        for b in self.bonds.values_mut() {
            let mut seen = Vec::new();
            for s in &b.slaves {
                if let Some(info) = all.iter().find(|l| l.index == s.ifindex) {
                    seen.push((s.id, info.clone()));
                }
            }
            for (id, info) in seen {
                // A rename whose event was lost (overrun) is caught here too.
                b.renamed(id, &info.name);
                match info.master {
                    Some(m) => release_to_master(b, id, m, now),
                    None => b.link_seen(id, &info, now),
                }
            }
            b.run_actions();
        }
    }
}

/// A slave was put under a kernel master from outside (`ip link set eth0 master br0`): that
/// master now handles every frame the slave receives too, and a kernel device has one master
/// only (netdev_master_upper_dev_link refuses a second), so the slave is not ours any more.
/// It is released as the kernel releases a slave that leaves (__bond_release_one logs
/// "Releasing ... interface"), after a line saying why.
fn release_to_master(b: &mut BondRt, id: rbond_core::SlaveId, master: u32, now: Millis) {
    let m = netlink::link_by_index(master).ok().flatten().map(|l| l.name).unwrap_or_else(|| format!("ifindex {master}"));
    let name = b.core.slave(id).map(|s| s.name.clone()).unwrap_or_default();
    log_line(b.core.name(), Some(&name), &format!("was given the master {m} from outside rbond; releasing it"));
    b.release_id(id, now);
}

/// One log line on stderr. A daemon started from a terminal that has since closed (the
/// SIGHUP case) gets EIO or EPIPE on every write; `eprintln!` would panic on that and take the
/// host's bonds down with it, so a line that cannot be written is dropped.
pub fn log(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

fn poll_fds(fds: &mut Vec<libc::pollfd>, timeout_ms: i32) -> usize {
    // SAFETY: fds is a valid array of pollfd for its length.
    let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as _, timeout_ms) };
    r.max(0) as usize
}

fn pfd(fd: RawFd) -> libc::pollfd {
    libc::pollfd { fd, events: libc::POLLIN, revents: 0 }
}

/// Runs the daemon until SIGTERM/SIGINT.
pub fn run(socket: &Path, run_dir: &Path, opts: DaemonOpts) -> Result<()> {
    std::fs::create_dir_all(run_dir).with_context(|| format!("creating {}", run_dir.display()))?;
    if let Some(parent) = socket.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let _lock = claim_socket(socket)?;
    let listener = UnixListener::bind(socket).with_context(|| format!("binding {}", socket.display()))?;
    crate::sys::owner::set_socket(socket);
    crate::sys::owner::sweep_dead();
    // Root only: the socket changes network configuration.
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))?;
    let (calls_tx, calls) = std::sync::mpsc::channel::<control::Call>();
    let (wake_rx, wake_tx) = std::os::unix::net::UnixStream::pair()?;
    wake_rx.set_nonblocking(true)?;
    control::spawn_listener(listener, calls_tx, wake_tx)?;
    let mut events = netlink::LinkEvents::open().context("netlink link events")?;
    // Deletions in nftables: a slave's isolation removed from outside is restored at once.
    let mut nft_events = netlink::NftEvents::open()
        .map_err(|e| log(&format!("rbond: no nftables notifications ({e}); isolation removed from outside is not restored")))
        .ok();
    // SAFETY: installing a plain async-signal-safe handler that only stores an atomic.
    unsafe {
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        libc::signal(libc::SIGHUP, on_hup as *const () as libc::sighandler_t);
    }
    let mut d = Daemon {
        bonds: BTreeMap::new(),
        run_dir: run_dir.to_path_buf(),
        start: Instant::now(),
        release: sys::uname_release(),
        next_poll: 0,
        written: Default::default(),
        dp: opts,
    };
    // Before taking requests: the bonds a killed daemon left are ours again.
    for r in state::init(run_dir).context("reading the state files")? {
        match r {
            Ok(st) => d.adopt(st),
            Err((p, e)) => log(&format!("rbond: cannot read {}: {e}; left as is", p.display())),
        }
    }
    d.write_all_status();
    let notifier = notify::Notifier::from_env();
    let ping_every = notifier.as_ref().and_then(|n| n.ping_every());
    let mut next_ping = Instant::now();
    let _ = writeln!(std::io::stdout(), "rbond daemon ready");
    let _ = std::io::stdout().flush();
    if let Some(n) = &notifier {
        n.send("READY=1\nSTATUS=bonding");
    }

    let mut fds: Vec<libc::pollfd> = Vec::with_capacity(64);
    let busy_poll = std::time::Duration::from_micros(opts.busy_poll_us as u64);
    // Until then the loop polls without sleeping: the data path moved frames a moment ago.
    let mut busy_until: Option<Instant> = None;
    while !STOP.load(Ordering::SeqCst) {
        if HUP.swap(false, Ordering::SeqCst) {
            log("rbond: SIGHUP received: nothing to reload, the daemon keeps running");
        }
        // Layout: control wake-up, netlink, nftables, then per bond (in map order) its TAP and
        // its slaves. A missing nftables socket is fd -1, which poll skips.
        fds.clear();
        fds.push(pfd(wake_rx.as_raw_fd()));
        fds.push(pfd(events.fd()));
        fds.push(pfd(nft_events.as_ref().map_or(-1, |n| n.fd())));
        for b in d.bonds.values() {
            fds.extend(b.fds().map(pfd));
        }
        let now = d.now();
        let mut deadline = d.bonds.values().filter_map(|b| b.core.poll_timeout()).min();
        // The link poll backs up the netlink events (which report every carrier change at
        // once, and say so when they overflow). With use_carrier=1 it only has to catch what
        // no event would show, so once a second is enough; use_carrier=0 reads the ethtool
        // link state, which has no events: that is polled every miimon, as the kernel does.
        let poll_iv = d
            .bonds
            .values()
            .filter(|b| b.core.opts().miimon > 0)
            .map(|b| {
                let miimon = b.core.opts().miimon as u64;
                if b.core.opts().use_carrier && d.dp.link_events { miimon.max(LINK_POLL_MS) } else { miimon }
            })
            .min();
        if let Some(iv) = poll_iv {
            if d.next_poll <= now {
                d.next_poll = now + iv;
            }
            deadline = Some(deadline.map_or(d.next_poll, |x| x.min(d.next_poll)));
        }
        // Wake at least every 500 ms to notice a stop request, and in time for the
        // watchdog ping. The ping comes from this loop, so a stuck loop stops it.
        let mut cap = 500;
        if let (Some(n), Some(every)) = (&notifier, ping_every) {
            if Instant::now() >= next_ping {
                n.send("WATCHDOG=1");
                next_ping = Instant::now() + every;
            }
            cap = cap.min(next_ping.saturating_duration_since(Instant::now()).as_millis() as u64 + 1);
        }
        let mut timeout = deadline.map_or(cap as i32, |t| t.saturating_sub(now).min(cap) as i32);
        if busy_until.is_some_and(|t| Instant::now() < t) {
            timeout = 0;
        }
        poll_fds(&mut fds, timeout);
        let now = d.now();

        // Data path first: it is what latency matters for. Nothing below has changed the
        // bonds or their slaves since `fds` was built, so the layout still holds.
        let mut k = 3;
        if !busy_poll.is_zero() && fds[3..].iter().any(|f| f.revents & libc::POLLIN != 0) {
            busy_until = Some(Instant::now() + busy_poll);
        }
        for b in d.bonds.values_mut() {
            let n = b.slaves.len();
            if fds[k].revents & libc::POLLIN != 0 {
                b.pump_tx();
            }
            for j in 0..n {
                // POLLERR too: a slave going down leaves a pending socket error (ENETDOWN)
                // that only a receive clears; ignoring it would make poll spin.
                if fds[k + 1 + j].revents & (libc::POLLIN | libc::POLLERR) != 0 {
                    b.pump_rx(j, now);
                }
            }
            if fds[k + 1 + n].revents & libc::POLLIN != 0 {
                b.pump_core(now);
            }
            k += 2 + n;
        }
        if fds[1].revents & libc::POLLIN != 0 {
            if let Ok(evs) = events.drain() {
                for ev in evs {
                    d.on_link_event(ev);
                }
            }
        }
        if fds[2].revents & libc::POLLIN != 0 {
            if let Some(n) = nft_events.as_mut() {
                let tables = n.drain();
                if tables.iter().any(|t| t == "*" || t.starts_with("rbond_")) {
                    for b in d.bonds.values_mut() {
                        b.check_isolation(&tables);
                    }
                }
            }
        }
        let mut polled = false;
        if let Some(iv) = poll_iv.filter(|_| now >= d.next_poll) {
            d.poll_links();
            d.next_poll = now + iv;
            polled = true;
        }
        // Timers run on every pass when due, whatever the data path did: each pump above
        // handles at most one batch per fd, so under full load (iperf3) a pass stays short
        // and the LACP machines' 100 ms tick (hence LACPDUs) is never starved.
        let mut changed = false;
        for b in d.bonds.values_mut() {
            if b.core.poll_timeout().is_some_and(|t| t <= now) {
                b.core.tick(now);
                b.run_actions();
                changed = true;
            }
        }
        if changed {
            d.write_all_status();
        }
        if fds[0].revents & libc::POLLIN != 0 {
            let mut drain = [0u8; 64];
            while (&wake_rx).read(&mut drain).is_ok_and(|n| n > 0) {}
            while let Ok((req, reply)) = calls.try_recv() {
                let resp = control::handle(&mut d, req);
                // Recorded before the client hears "done".
                d.record_state();
                let _ = reply.send(resp);
            }
        }
        // The workers' plan follows every change of the bonds: events, timers, requests
        // (a frame of the data path changes nothing the plan holds, except an LACPDU, which
        // marks its bond itself).
        let control_work = changed || polled || fds[..3].iter().any(|f| f.revents != 0);
        for b in d.bonds.values_mut() {
            b.plan_dirty |= control_work;
            b.sync_workers();
        }
    }
    if let Some(n) = &notifier {
        n.send("STOPPING=1");
    }
    // Leave everything as found.
    let names: Vec<String> = d.bonds.keys().cloned().collect();
    for n in names {
        if let Some(mut b) = d.bonds.remove(&n) {
            b.teardown();
            crate::sys::owner::release(b.tap.ifindex());
        }
        let _ = std::fs::remove_file(run_dir.join(&n));
    }
    let _ = std::fs::remove_file(socket);
    let _ = std::fs::remove_file(format!("{}.lock", socket.display()));
    // The state dir is empty after a clean stop (every bond was torn down); the
    // per-namespace default dir goes too when nothing else is left in it.
    let _ = std::fs::remove_dir(state::dir(run_dir));
    for dir in [Some(run_dir), socket.parent()].into_iter().flatten() {
        if dir.file_name().is_some_and(|n| n.to_string_lossy().starts_with("ns-")) {
            let _ = std::fs::remove_dir(dir);
        }
    }
    Ok(())
}

/// Makes sure no other daemon serves `socket`, and keeps it so: an exclusive flock(2) on
/// `<socket>.lock`, held for the daemon's life, serializes daemons starting at once; a
/// socket that still answers belongs to a live daemon and is never taken over; a socket
/// file nobody listens on (ECONNREFUSED: its daemon died) is removed and reused.
fn claim_socket(socket: &Path) -> Result<std::fs::File> {
    use std::os::fd::AsRawFd;
    let busy = || anyhow::anyhow!("another rbond daemon is running on {} (it answers there); stop it first, or give this one its own --socket", socket.display());
    let lock_path = PathBuf::from(format!("{}.lock", socket.display()));
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("opening {}", lock_path.display()))?;
    // SAFETY: flock on an fd we own.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return Err(busy());
    }
    match std::os::unix::net::UnixStream::connect(socket) {
        Ok(_) => return Err(busy()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            log(&format!("rbond: removing the stale socket {} (no daemon answers there)", socket.display()));
            std::fs::remove_file(socket).with_context(|| format!("removing the stale socket {}", socket.display()))?;
        }
        Err(e) => {
            // Not a socket at all (a regular file, ...): do not delete what we do not know.
            if socket.exists() {
                anyhow::bail!("{} exists and is not an rbond socket ({e}); remove it or choose another --socket", socket.display());
            }
        }
    }
    Ok(lock)
}

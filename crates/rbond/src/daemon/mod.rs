//! `rbond daemon`: one thread runs every bond of this network namespace. It polls the TAP
//! and slave sockets (the data path), netlink link events, the control socket and the
//! core's timers. The bonds are owned by this thread alone, so nothing is locked.

mod bond_rt;
mod control;
pub mod metrics;
pub mod obs;

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

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
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
}

impl Daemon {
    pub fn now(&self) -> Millis {
        self.start.elapsed().as_millis() as Millis
    }

    fn write_status(&mut self, name: &str) {
        if let Some(b) = self.bonds.get(name) {
            let text = b.core.status().render_proc(true);
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
                        b.link_seen(rbond_core::SlaveId(info.index), &info, now);
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
                // The core announces the bond's addresses at failover (§6.6) and the ARP/NS
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
        for b in self.bonds.values_mut() {
            let mut seen = Vec::new();
            for s in &b.slaves {
                if let Ok(Some(info)) = netlink::link_by_index(s.ifindex) {
                    seen.push((s.id, info));
                }
            }
            for (id, info) in seen {
                b.link_seen(id, &info, now);
            }
            b.run_actions();
        }
    }
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
pub fn run(socket: &Path, run_dir: &Path) -> Result<()> {
    std::fs::create_dir_all(run_dir).with_context(|| format!("creating {}", run_dir.display()))?;
    if let Some(parent) = socket.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let _ = std::fs::remove_file(socket);
    let listener = UnixListener::bind(socket).with_context(|| format!("binding {}", socket.display()))?;
    // Root only: the socket changes network configuration.
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))?;
    let (calls_tx, calls) = std::sync::mpsc::channel::<control::Call>();
    let (wake_rx, wake_tx) = std::os::unix::net::UnixStream::pair()?;
    wake_rx.set_nonblocking(true)?;
    control::spawn_listener(listener, calls_tx, wake_tx)?;
    let mut events = netlink::LinkEvents::open().context("netlink link events")?;
    // SAFETY: installing a plain async-signal-safe handler that only stores an atomic.
    unsafe {
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    let mut d = Daemon {
        bonds: BTreeMap::new(),
        run_dir: run_dir.to_path_buf(),
        start: Instant::now(),
        release: sys::uname_release(),
        next_poll: 0,
        written: Default::default(),
    };
    println!("rbond daemon ready");
    let _ = std::io::stdout().flush();

    let mut fds: Vec<libc::pollfd> = Vec::with_capacity(64);
    while !STOP.load(Ordering::SeqCst) {
        // Layout: control wake-up, netlink, then per bond (in map order) its TAP and its slaves.
        fds.clear();
        fds.push(pfd(wake_rx.as_raw_fd()));
        fds.push(pfd(events.fd()));
        for b in d.bonds.values() {
            fds.extend(b.fds().map(pfd));
        }
        let now = d.now();
        let mut deadline = d.bonds.values().filter_map(|b| b.core.poll_timeout()).min();
        let poll_iv = d.bonds.values().map(|b| b.core.opts().miimon as u64).filter(|&m| m > 0).min();
        if let Some(iv) = poll_iv {
            if d.next_poll <= now {
                d.next_poll = now + iv;
            }
            deadline = Some(deadline.map_or(d.next_poll, |x| x.min(d.next_poll)));
        }
        // Wake at least every 500 ms to notice a stop request.
        let timeout = deadline.map_or(500, |t| t.saturating_sub(now).min(500) as i32);
        poll_fds(&mut fds, timeout);
        let now = d.now();

        // Data path first: it is what latency matters for. Nothing below has changed the
        // bonds or their slaves since `fds` was built, so the layout still holds.
        let mut k = 2;
        for b in d.bonds.values_mut() {
            let n = 1 + b.slaves.len();
            if fds[k].revents & libc::POLLIN != 0 {
                b.pump_tx();
            }
            for j in 0..n - 1 {
                // POLLERR too: a slave going down leaves a pending socket error (ENETDOWN)
                // that only a receive clears; ignoring it would make poll spin.
                if fds[k + 1 + j].revents & (libc::POLLIN | libc::POLLERR) != 0 {
                    b.pump_rx(j, now);
                }
            }
            k += n;
        }
        if fds[1].revents & libc::POLLIN != 0 {
            if let Ok(evs) = events.drain() {
                for ev in evs {
                    d.on_link_event(ev);
                }
            }
        }
        if let Some(iv) = poll_iv.filter(|_| now >= d.next_poll) {
            d.poll_links();
            d.next_poll = now + iv;
        }
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
                let _ = reply.send(control::handle(&mut d, req));
            }
        }
    }
    // Leave everything as found.
    let names: Vec<String> = d.bonds.keys().cloned().collect();
    for n in names {
        if let Some(mut b) = d.bonds.remove(&n) {
            b.teardown();
        }
        let _ = std::fs::remove_file(run_dir.join(&n));
    }
    let _ = std::fs::remove_file(socket);
    Ok(())
}

//! Control requests: the daemon's equivalents of `ip link add/del`, sysfs writes and
//! reads, `ifenslave` and `cat /proc/net/bonding/<bond>`.

use super::{log_line, BondRt, Daemon};
use crate::ctl::{parse_request, Request, Response, MAX_REQUEST};
use crate::sys::netlink;
use rbond_core::options::{Errno, OptError};
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// A request from a client, with the way back.
pub type Call = (Request, mpsc::Sender<Response>);

/// Most clients served at once. Each costs one thread with a small stack and at most one
/// request buffer (`MAX_REQUEST`), so this bounds what clients can make the daemon hold (64
/// × (128 KiB stack + 64 KiB) at worst); a client over the cap gets an immediate "too many
/// clients" answer. A place is held at most READ_DEADLINE + WRITE_DEADLINE plus the request's
/// own time, so only more than 64 clients stalling at once (the socket is root-only) can
/// make a command wait, and only by being refused, never by hanging.
pub const MAX_CLIENTS: usize = 64;
/// How long a client may take to send its whole request line.
pub const READ_DEADLINE: Duration = Duration::from_secs(2);
/// How long a client may take to take its answer off the socket.
pub const WRITE_DEADLINE: Duration = Duration::from_secs(2);

/// The control socket's thread: it accepts clients and hands each to a short-lived thread
/// of its own, so a slow or silent client never holds up the data path nor another client.
///
/// Why a thread per connection (bounded by `MAX_CLIENTS`) and not non-blocking multiplexing:
/// the protocol is one request line and one answer per connection, so a connection's whole
/// life is two blocking calls, each bounded by a socket deadline (SO_RCVTIMEO/SO_SNDTIMEO,
/// socket(7)); a thread per client keeps that code straight-line, and the cap keeps the
/// cost bounded. The request itself still runs on the event loop, which alone owns the
/// bonds: the client thread sends it over `calls` and wakes the loop with a byte on `wake`.
pub fn spawn_listener(listener: UnixListener, calls: mpsc::Sender<Call>, wake: UnixStream) -> std::io::Result<()> {
    listener.set_nonblocking(false)?;
    // A full wake-up pipe means the loop is already due to wake: never wait on it.
    wake.set_nonblocking(true)?;
    let wake = Arc::new(wake);
    let active = Arc::new(AtomicUsize::new(0));
    std::thread::Builder::new().name("rbond-control".into()).spawn(move || {
        for conn in listener.incoming() {
            let conn = match conn {
                Ok(c) => c,
                // EMFILE and the like: back off instead of spinning.
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            };
            if active.fetch_add(1, Ordering::SeqCst) >= MAX_CLIENTS {
                active.fetch_sub(1, Ordering::SeqCst);
                let _ = conn.set_nonblocking(true);
                reply(&conn, &Response::err(format!("too many clients at once (limit {MAX_CLIENTS}); try again")));
                continue;
            }
            let (calls, wake, slot) = (calls.clone(), wake.clone(), Slot(active.clone()));
            let spawned = std::thread::Builder::new()
                .name("rbond-client".into())
                .stack_size(128 * 1024)
                .spawn(move || {
                    let _slot = slot;
                    serve(conn, &calls, &wake);
                });
            // On failure the closure (and its slot) was dropped: the count is right again.
            if spawned.is_err() {
                continue;
            }
        }
    })?;
    Ok(())
}

/// Holds one of the `MAX_CLIENTS` places while a client thread runs.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One client: read its request (bounded in time and size), have the loop carry it out,
/// write the answer (bounded in time).
fn serve(conn: UnixStream, calls: &mpsc::Sender<Call>, wake: &UnixStream) {
    let resp = match read_request(&conn) {
        Ok(req) => {
            let (tx, rx) = mpsc::channel();
            if calls.send((req, tx)).is_err() {
                return; // the event loop has stopped
            }
            let _ = (&*wake).write_all(&[1]);
            rx.recv().unwrap_or_else(|_| Response::err("the daemon is stopping".into()))
        }
        Err(e) => Response::err(format!("bad request: {e}")),
    };
    reply(&conn, &resp);
}

/// Writes one answer line within `WRITE_DEADLINE` in all (SO_SNDTIMEO bounds each write
/// call, so the remaining time is set before each one: a client taking its answer a byte at a
/// time cannot stretch it). A client that does not read only loses its own answer.
fn reply(conn: &UnixStream, resp: &Response) {
    let deadline = Instant::now() + WRITE_DEADLINE;
    let mut out = serde_json::to_string(resp).unwrap_or_default();
    out.push('\n');
    let mut rest = out.as_bytes();
    while !rest.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || conn.set_write_timeout(Some(left)).is_err() {
            break;
        }
        match (&*conn).write(rest) {
            Ok(0) => break,
            Ok(n) => rest = &rest[n..],
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let _ = conn.shutdown(std::net::Shutdown::Both);
}

/// Reads one request line: at most `MAX_REQUEST` bytes, all of it within `READ_DEADLINE`.
fn read_request(conn: &UnixStream) -> Result<Request, String> {
    let deadline = Instant::now() + READ_DEADLINE;
    let mut line = Vec::with_capacity(512);
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("no complete request within {} s", READ_DEADLINE.as_secs()));
        }
        let _ = conn.set_read_timeout(Some(left));
        let n = match (&*conn).read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return Err(format!("no complete request within {} s", READ_DEADLINE.as_secs()))
            }
            Err(e) => return Err(e.to_string()),
        };
        let chunk = &buf[..n];
        let end = chunk.iter().position(|&b| b == b'\n');
        let take = end.map_or(n, |p| p + 1);
        if line.len() + take > MAX_REQUEST {
            return Err(crate::ctl::too_long());
        }
        line.extend_from_slice(&chunk[..take]);
        if end.is_some() {
            break;
        }
    }
    parse_request(&line)
}

/// A refusal as the kernel would log it, each line prefixed with the bond name.
fn refusal(bond: &str, e: &OptError) -> Response {
    let text: Vec<String> = e.lines.iter().map(|l| format!("{bond}: {l}")).collect();
    Response::err(format!("{}\n(write error: {})", text.join("\n"), e.errno.describe()))
}

fn prefixed(bond: &str, w: Vec<String>) -> Vec<String> {
    w.into_iter().map(|l| format!("{bond}: {l}")).collect()
}

fn no_bond(bond: &str) -> Response {
    Response::err(format!("{bond}: no such bond (rbond add {bond} ... creates it)"))
}

/// Carries out one request on the event loop's thread.
pub fn handle(d: &mut Daemon, req: Request) -> Response {
    let now = d.now();
    let resp = match req {
        Request::Add { bond, opts } => add(d, &bond, &opts),
        Request::Del { bond } => match d.bonds.remove(&bond) {
            Some(mut b) => {
                b.teardown();
                crate::sys::owner::release(b.tap.ifindex());
                let _ = std::fs::remove_file(d.run_dir.join(&bond));
                d.written.remove(&bond);
                Response::ok(String::new(), vec![])
            }
            None => Response::err(format!("bonding: unable to delete non-existent {bond}")),
        },
        Request::Enslave { bond, ifaces } => enslave(d, &bond, &ifaces),
        Request::Release { bond, ifaces } => {
            let Some(b) = d.bonds.get_mut(&bond) else { return no_bond(&bond) };
            for i in &ifaces {
                if b.slave_pos(i).is_none() {
                    return refusal(&bond, &OptError::new("slaves", Errno::EINVAL, vec![format!("option slaves: invalid value (-{i})")]));
                }
            }
            for i in &ifaces {
                if let Err(e) = b.release(i, now) {
                    return refusal(&bond, &e);
                }
            }
            Response::ok(String::new(), vec![])
        }
        Request::Link { bond, mtu, up, mac } => link(d, &bond, mtu, up, mac.as_deref()),
        Request::Set { bond, option, value } => set_many(d, &bond, &[(option, value)]),
        Request::SetMany { bond, opts } => set_many(d, &bond, &opts),
        Request::ActiveSlave { bond, slave } => set_many(d, &bond, &[("active_slave".into(), slave)]),
        Request::Show { bond, option } => {
            let Some(b) = d.bonds.get(&bond) else { return no_bond(&bond) };
            match b.core.show(&option) {
                Some(v) => Response::ok(v, vec![]),
                None => Response::err(format!("{bond}: {}", rbond_core::options::unknown_option(&option))),
            }
        }
        Request::Status { bond, json } => status(d, bond.as_deref(), json),
        Request::List => Response::ok(d.bonds.keys().cloned().collect::<Vec<_>>().join(" "), vec![]),
        Request::Events { bond, since } => {
            let evs = super::obs::events_since(since, bond.as_deref());
            Response::ok(serde_json::to_string(&evs).unwrap_or_default(), vec![])
        }
        Request::Metrics => Response::ok(super::metrics::render(d.bonds.values()), vec![]),
    };
    d.write_all_status();
    resp
}

fn status(d: &Daemon, bond: Option<&str>, json: bool) -> Response {
    let list: Vec<&BondRt> = match bond {
        Some(n) => match d.bonds.get(n) {
            Some(b) => vec![b],
            None => return no_bond(n),
        },
        None => d.bonds.values().collect(),
    };
    let out = if json {
        // The status model plus the counters (core and data path), see obs::status_json.
        let models: Vec<_> = list.iter().map(|b| super::obs::status_json(b)).collect();
        if bond.is_some() {
            serde_json::to_string_pretty(&models[0]).unwrap_or_default()
        } else {
            serde_json::to_string_pretty(&models).unwrap_or_default()
        }
    } else {
        list.iter().map(|b| b.core.proc_text()).collect::<Vec<_>>().join("\n")
    };
    Response::ok(out, vec![])
}

/// `ip link add <bond> type bond <opts>`: created down; options applied in order; any
/// refusal creates nothing (the core checks the writes on a fresh bond first).
fn add(d: &mut Daemon, bond: &str, opts: &[(String, String)]) -> Response {
    if d.bonds.contains_key(bond) || netlink::link_by_name(bond).ok().flatten().is_some() {
        return Response::err(format!("bonding: {bond} is being created...\nbonding: {bond} already exists"));
    }
    if bond.is_empty() || bond.len() > 15 || bond.contains('/') || bond.contains(char::is_whitespace) {
        return Response::err(format!("bonding: invalid bond name '{bond}' (1-15 characters, no '/' or spaces)"));
    }
    // The kernel treats a name with '%' as a pattern: `ip link add a%d type bond` makes `a0`
    // (dev_alloc_name / __dev_alloc_name expand one %d to the first free number). rbond must
    // know the exact name of the bond it runs, so it refuses patterns instead of expanding
    // them behind the caller's back.
    if bond.contains('%') {
        return Response::err(format!(
            "bonding: invalid bond name '{bond}': '%' is not allowed (the kernel would expand a %d pattern to a free number, e.g. a%d -> a0); give the exact name"
        ));
    }
    if let Err(e) = rbond_core::bond::Bond::check_new(bond, opts) {
        return refusal(bond, &e);
    }
    let mut rt = match BondRt::create(bond, &d.release, d.dp) {
        Ok(rt) => rt,
        Err(e) => return Response::err(format!("{bond}: cannot create the bond device: {e:#}")),
    };
    let now = d.now();
    // They passed on a fresh bond, so they pass here.
    let warnings = match rt.core.set_options(opts, now) {
        Ok(w) => w,
        Err(e) => return refusal(bond, &e),
    };
    rt.run_actions();
    // The bond's TAP is ours: other rbond daemons must not enslave it.
    let _ = crate::sys::owner::claim(rt.tap.ifindex(), bond);
    d.bonds.insert(bond.to_string(), rt);
    Response::ok(String::new(), prefixed(bond, warnings))
}

/// `ip link set <bond> [mtu N] [address MAC] [up|down]`, done by the daemon so that it is
/// the only writer of its bonds: the device changes and the netlink event that follows
/// reaches the core like any administrator's change.
fn link(d: &mut Daemon, bond: &str, mtu: Option<u32>, up: Option<bool>, mac: Option<&str>) -> Response {
    let Some(b) = d.bonds.get_mut(bond) else { return no_bond(bond) };
    let mac = match mac.map(rbond_core::MacAddr::parse) {
        Some(None) => return Response::err(format!("{bond}: invalid MAC address {:?}", mac.unwrap_or_default())),
        Some(Some(m)) => Some(m),
        None => None,
    };
    match b.set_link(mtu, up, mac) {
        Ok(()) => Response::ok(String::new(), vec![]),
        Err(e) => Response::err(format!("{bond}: {e}")),
    }
}

/// Sysfs writes, all or nothing: the core tries them on a copy of the bond first.
fn set_many(d: &mut Daemon, bond: &str, opts: &[(String, String)]) -> Response {
    let now = d.now();
    if !d.bonds.contains_key(bond) {
        return no_bond(bond);
    }
    // `slaves +eth0` / `-eth0`.
    if opts.len() == 1 && opts[0].0 == "slaves" {
        let v = opts[0].1.trim();
        return match v.as_bytes().first() {
            Some(b'+') if v.len() > 1 => enslave(d, bond, &[v[1..].to_string()]),
            Some(b'-') if v.len() > 1 => {
                let b = d.bonds.get_mut(bond).unwrap();
                match b.release(&v[1..], now) {
                    Ok(()) => Response::ok(String::new(), vec![]),
                    Err(e) => refusal(bond, &e),
                }
            }
            _ => refusal(bond, &OptError::new("slaves", Errno::EPERM, vec!["no command found in slaves file - use +ifname or -ifname".into()])),
        };
    }
    let b = d.bonds.get_mut(bond).unwrap();
    let r = b.core.set_options(opts, now);
    b.run_actions();
    match r {
        Ok(w) => {
            super::obs::options_changed(&b.core, opts);
            Response::ok(String::new(), prefixed(bond, w))
        }
        Err(e) => refusal(bond, &e),
    }
}

/// ifenslave-style: every interface is checked before any is enslaved, and a failure in
/// the middle releases the ones this command enslaved, so a refused command changes nothing.
fn enslave(d: &mut Daemon, bond: &str, ifaces: &[String]) -> Response {
    let now = d.now();
    if !d.bonds.contains_key(bond) {
        return no_bond(bond);
    }
    let mut warnings = Vec::new();
    let mut infos = Vec::new();
    for (k, i) in ifaces.iter().enumerate() {
        // Enslaving one device twice in one command would isolate it twice under one name,
        // and the failing second attempt would lift the first one's isolation.
        if ifaces[..k].contains(i) {
            return refusal(bond, &OptError::new("slaves", Errno::EINVAL, vec![
                format!("(slave {i}): Error: {i} is named twice in one command; nothing was changed"),
            ]));
        }
        if i == bond {
            return refusal(bond, &OptError::new("slaves", Errno::EPERM, vec!["Error: Cannot enslave bond to itself.".into()]));
        }
        let info = match netlink::link_by_name(i) {
            Ok(Some(l)) if l.master.is_some() => {
                return refusal(bond, &OptError::new("slaves", Errno::EBUSY, vec![
                    format!("(slave {i}): Error: Device is in use and cannot be enslaved (it has a master device)"),
                ]));
            }
            Ok(Some(l)) => l,
            _ => {
                return refusal(bond, &OptError::new("slaves", Errno::ENODEV, vec![format!("option slaves: interface +{i} does not exist!")]))
            }
        };
        if info.loopback {
            return refusal(bond, &loopback_refusal(i));
        }
        if d.bonds.contains_key(i) {
            return refusal(bond, &OptError::new("slaves", Errno::EPERM, vec![format!("(slave {i}): Error: cannot enslave a bond of this daemon")]));
        }
        if let Some(owner) = d.bonds.iter().find(|(_, b)| b.slave_pos(i).is_some()).map(|(n, _)| n.clone()) {
            let mut lines = vec![format!("(slave {i}): Error: Device is in use and cannot be enslaved")];
            if owner != bond {
                lines[0].push_str(&format!(" (it is a slave of {owner})"));
            }
            lines.push("option slaves: unable to set because the bond device is up".into());
            return refusal(bond, &OptError::new("slaves", Errno::EBUSY, lines));
        }
        if let Some(o) = crate::sys::owner::other_owner(info.index) {
            return refusal(bond, &owned_refusal(i, &o));
        }
        if let Some(w) = address_warning(i, &info) {
            warnings.push(w);
        }
        infos.push(info);
    }
    let b = d.bonds.get_mut(bond).unwrap();
    let mut done: Vec<&str> = Vec::new();
    let undo = |b: &mut BondRt, done: &[&str]| {
        for n in done.iter().rev() {
            let _ = b.release(n, now);
        }
    };
    for (i, info) in ifaces.iter().zip(&infos) {
        // Claimed first, so of two daemons enslaving one device at once only one proceeds.
        match crate::sys::owner::claim(info.index, i) {
            Ok(()) => {}
            Err(crate::sys::owner::ClaimError::Owned(o)) => {
                undo(b, &done);
                return refusal(bond, &owned_refusal(i, &o));
            }
            // /run not writable: run without the record rather than refuse the enslave.
            Err(crate::sys::owner::ClaimError::Io(e)) => log_line(bond, Some(i), &format!("cannot record ownership: {e}")),
        }
        match b.enslave(i, now) {
            Ok(w) => {
                warnings.extend(w);
                done.push(i);
            }
            Err(e) => {
                crate::sys::owner::release(info.index);
                undo(b, &done);
                return refusal(bond, &e);
            }
        }
    }
    Response::ok(String::new(), prefixed(bond, warnings))
}

fn owned_refusal(ifname: &str, o: &crate::sys::owner::Owner) -> OptError {
    OptError::new("slaves", Errno::EBUSY, vec![crate::sys::owner::in_use_line(ifname, o)])
}

/// Loopback: the kernel's bond_enslave has no loopback test of its own; `lo` fails there
/// because its driver has no ndo_set_mac_address ("The slave device specified does not
/// support setting the MAC address", then EOPNOTSUPP unless fail_over_mac=active). rbond
/// would instead give `lo` the bond's MAC and cut the host's own loopback traffic off, so it
/// refuses it outright; the second line is rbond's own text.
fn loopback_refusal(ifname: &str) -> OptError {
    OptError::new("slaves", Errno::EOPNOTSUPP, vec![
        format!("(slave {ifname}): The slave device specified does not support setting the MAC address"),
        format!("(slave {ifname}): Error: the loopback device cannot be enslaved"),
    ])
}

/// An interface that is up with addresses keeps them, but once it is a slave nothing reaches
/// them: rbond isolates the slave's own stack (as the kernel's bonding hands every frame to
/// the bond). Said at enslave time, naming them. IPv6 link-local addresses are left out:
/// the kernel's addrconf makes them by itself, nobody configured them.
fn address_warning(ifname: &str, info: &netlink::LinkInfo) -> Option<String> {
    if !info.admin_up {
        return None;
    }
    let addrs: Vec<String> = netlink::addresses(info.index)
        .unwrap_or_default()
        .into_iter()
        .filter(|(a, _)| !matches!(a, std::net::IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80))
        .map(|(a, p)| format!("{a}/{p}"))
        .collect();
    if addrs.is_empty() {
        return None;
    }
    Some(format!(
        "(slave {ifname}): is up with address(es) {}; they stay on {ifname} but become unreachable while it is a slave (configure them on the bond instead)",
        addrs.join(", ")
    ))
}

//! Control requests: the daemon's equivalents of `ip link add/del`, sysfs writes and
//! reads, `ifenslave` and `cat /proc/net/bonding/<bond>`.

use super::{BondRt, Daemon};
use crate::ctl::{Request, Response};
use crate::sys::netlink;
use rbond_core::options::{Errno, OptError};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::mpsc;
use std::time::Duration;

/// A request from a client, with the way back.
pub type Call = (Request, mpsc::Sender<Response>);

/// The control socket's thread: it accepts clients and reads their requests, so a slow or
/// silent client never holds up the data path. Requests go to the event loop over `calls`,
/// which is woken by a byte on `wake`; the loop's answer comes back on the call's channel.
pub fn spawn_listener(listener: UnixListener, calls: mpsc::Sender<Call>, wake: UnixStream) -> std::io::Result<()> {
    listener.set_nonblocking(false)?;
    std::thread::Builder::new().name("rbond-control".into()).spawn(move || {
        for conn in listener.incoming().flatten() {
            let resp = match read_request(&conn) {
                Ok(req) => {
                    let (tx, rx) = mpsc::channel();
                    if calls.send((req, tx)).is_err() {
                        return; // the event loop has stopped
                    }
                    let _ = (&wake).write_all(&[1]);
                    rx.recv().unwrap_or_else(|_| Response::err("the daemon is stopping".into()))
                }
                Err(e) => Response::err(format!("bad request: {e}")),
            };
            let mut out = serde_json::to_string(&resp).unwrap_or_default();
            out.push('\n');
            let _ = (&conn).write_all(out.as_bytes());
        }
    })?;
    Ok(())
}

fn read_request(conn: &UnixStream) -> Result<Request, String> {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut line = String::new();
    BufReader::new(conn).read_line(&mut line).map_err(|e| e.to_string())?;
    serde_json::from_str::<Request>(&line).map_err(|e| e.to_string())
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
        list.iter().map(|b| b.core.status().render_proc(true)).collect::<Vec<_>>().join("\n")
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
    if let Err(e) = rbond_core::bond::Bond::check_new(bond, opts) {
        return refusal(bond, &e);
    }
    let mut rt = match BondRt::create(bond, &d.release) {
        Ok(rt) => rt,
        Err(e) => return Response::err(format!("{bond}: cannot create the bond device: {e:#}")),
    };
    let now = d.now();
    // They passed on a fresh bond, so they pass here.
    let mut warnings = match rt.core.set_options(opts, now) {
        Ok(w) => w,
        Err(e) => return refusal(bond, &e),
    };
    rt.run_actions();
    if rt.core.opts().mode == rbond_core::Mode::Ieee8023ad {
        warnings.push("802.3ad: the LACP state machines are not implemented yet; no aggregator will form and the bond will not carry traffic".into());
    }
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

/// ifenslave-style: every interface is checked before any is enslaved.
fn enslave(d: &mut Daemon, bond: &str, ifaces: &[String]) -> Response {
    let now = d.now();
    if !d.bonds.contains_key(bond) {
        return no_bond(bond);
    }
    for i in ifaces {
        if i == bond {
            return refusal(bond, &OptError::new("slaves", Errno::EPERM, vec!["Error: Cannot enslave bond to itself.".into()]));
        }
        match netlink::link_by_name(i) {
            Ok(Some(l)) if l.master.is_some() => {
                return refusal(bond, &OptError::new("slaves", Errno::EBUSY, vec![
                    format!("(slave {i}): Error: Device is in use and cannot be enslaved (it has a master device)"),
                ]));
            }
            Ok(Some(_)) => {}
            _ => {
                return refusal(bond, &OptError::new("slaves", Errno::ENODEV, vec![format!("option slaves: interface +{i} does not exist!")]))
            }
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
    }
    let b = d.bonds.get_mut(bond).unwrap();
    let mut warnings = Vec::new();
    for i in ifaces {
        match b.enslave(i, now) {
            Ok(w) => warnings.extend(w),
            Err(e) => return refusal(bond, &e),
        }
    }
    Response::ok(String::new(), prefixed(bond, warnings))
}

//! systemd's readiness and watchdog protocol (sd_notify(3)): datagrams `READY=1`,
//! `WATCHDOG=1`, `STOPPING=1` sent to the unix socket named by `$NOTIFY_SOCKET` (a path, or
//! `@name` for the abstract namespace). `$WATCHDOG_USEC` is the unit's WatchdogSec=; when
//! `$WATCHDOG_PID` is set, only that process is meant (systemd.service(5), sd_watchdog_enabled(3)).
//!
//! Why hand-written and not the `sd-notify` crate: the protocol is one datagram per message
//! on a socket whose address is in the environment; std has unix datagram sockets and
//! abstract addresses, so the whole client is the few lines below, with nothing to vet.

use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

pub struct Notifier {
    sock: UnixDatagram,
    addr: SocketAddr,
    /// Half the watchdog timeout: ping at least this often (sd_watchdog_enabled(3) advises
    /// half the interval).
    ping_every: Option<Duration>,
}

impl Notifier {
    /// None when the daemon does not run under a unit with Type=notify (no NOTIFY_SOCKET).
    pub fn from_env() -> Option<Notifier> {
        let path = std::env::var_os("NOTIFY_SOCKET")?;
        let path = path.to_string_lossy().into_owned();
        let addr = match path.strip_prefix('@') {
            Some(name) => {
                use std::os::linux::net::SocketAddrExt;
                SocketAddr::from_abstract_name(name.as_bytes()).ok()?
            }
            None => SocketAddr::from_pathname(&path).ok()?,
        };
        let sock = UnixDatagram::unbound().ok()?;
        let for_us = match std::env::var("WATCHDOG_PID") {
            Ok(p) => p.trim().parse::<u32>().ok() == Some(std::process::id()),
            Err(_) => true,
        };
        let ping_every = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&us| us > 0 && for_us)
            .map(|us| Duration::from_micros(us / 2));
        Some(Notifier { sock, addr, ping_every })
    }

    pub fn ping_every(&self) -> Option<Duration> {
        self.ping_every
    }

    /// Sends one message; a lost notification is not worth failing for (systemd then
    /// times the start out or restarts us, which is the point of the watchdog).
    pub fn send(&self, msg: &str) {
        let _ = self.sock.send_to_addr(msg.as_bytes(), &self.addr);
    }
}

//! What the daemon shows of its bonds besides the /proc text: data-path counters per slave,
//! the event log (one structured `tracing` event per state change, kept in a bounded ring
//! that `rbond events` reads), and the interfaces' aliases (`ip link` shows them).
//!
//! The data path only adds to plain `u64` fields (`SlaveCounters`); everything else runs
//! when the core's actions are carried out, and compares the bond's state with the last one
//! seen before doing anything, so the common case (nothing changed) allocates nothing.

use super::BondRt;
use crate::sys::netlink;
use rbond_core::bond::{Bond, FailoverCause};
use rbond_core::{LinkState, SlaveId};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Mutex;

// ----- data-path counters -------------------------------------------------------------

/// One slave's frames as rbond sees them on its AF_PACKET socket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SlaveCounters {
    /// Frames (and their bytes, Ethernet header on) received on the slave.
    pub rx_packets: u64,
    pub rx_bytes: u64,
    /// Of those, handed to the bond device.
    pub rx_delivered: u64,
    /// Refused by the receive filter (an inactive slave's frames, bond_should_deliver_exact_match
    /// and the `inactive` flag, bonding.rst "all_slaves_active").
    pub rx_filtered: u64,
    /// Taken by the bond itself (ARP/NS monitor replies, LACPDUs).
    pub rx_consumed: u64,
    /// Accepted but lost: writing to the bond device failed.
    pub rx_dropped: u64,
    /// Frames of the bond device sent on this slave, and the bytes of all handed to it.
    pub tx_packets: u64,
    pub tx_bytes: u64,
    /// Sends that failed (unicast decisions only).
    pub tx_dropped: u64,
}

// ----- the event log --------------------------------------------------------------------

/// One state change.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Event {
    /// Increasing from 1 over the daemon's life; a gap means the ring dropped events.
    pub seq: u64,
    /// Wall clock, ms since the Unix epoch.
    pub time_ms: u64,
    pub bond: String,
    /// `create`, `enslave`, `release`, `link`, `failover`, `option`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slave: Option<String>,
    /// link: the MII states; failover: the slaves (None: no slave); option: the values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// failover: why (`link_failure`, `released`, `manual`, `reselect`, `no_active`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// The event as one line of text (without the `bond: (slave x): ` prefix).
    pub message: String,
}

/// Events kept for `rbond events`: enough for hours of flapping, bounded memory.
pub const RING_LEN: usize = 1024;

struct Ring {
    seq: u64,
    events: VecDeque<Event>,
}

/// The ring is written by the event loop and read by it too (control requests run there);
/// the lock is never contended on the data path, which does not log.
static RING: Mutex<Ring> = Mutex::new(Ring { seq: 0, events: VecDeque::new() });

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Records one event: a structured `tracing` event (journald or stderr) and an entry in the
/// ring.
pub fn emit(bond: &str, kind: &str, slave: Option<&str>, from: Option<&str>, to: Option<&str>, cause: Option<&str>, message: String) {
    tracing::info!(
        target: "rbond::event",
        bond,
        kind,
        slave = slave.unwrap_or(""),
        from = from.unwrap_or(""),
        to = to.unwrap_or(""),
        cause = cause.unwrap_or(""),
        "{message}"
    );
    let mut r = RING.lock().unwrap_or_else(|e| e.into_inner());
    r.seq += 1;
    let ev = Event {
        seq: r.seq,
        time_ms: now_ms(),
        bond: bond.to_string(),
        kind: kind.to_string(),
        slave: slave.map(str::to_string),
        from: from.map(str::to_string),
        to: to.map(str::to_string),
        cause: cause.map(str::to_string),
        message,
    };
    if r.events.len() >= RING_LEN {
        r.events.pop_front();
    }
    r.events.push_back(ev);
}

/// The events after `since` (a `seq`), oldest first, optionally of one bond.
pub fn events_since(since: u64, bond: Option<&str>) -> Vec<Event> {
    let r = RING.lock().unwrap_or_else(|e| e.into_inner());
    r.events.iter().filter(|e| e.seq > since && bond.is_none_or(|b| e.bond == b)).cloned().collect()
}

/// An option write that the core accepted, as events (one per option, its value as sysfs
/// reads it now).
pub fn options_changed(core: &Bond, opts: &[(String, String)]) {
    for (name, _) in opts {
        let now = core.show(name).unwrap_or_default();
        emit(core.name(), "option", None, None, Some(&now), None, format!("option {name} set to {now}"));
    }
}

// ----- following the bond's state ---------------------------------------------------------

/// What was last seen of one slave.
#[derive(Clone, Copy, PartialEq, Eq)]
struct SlaveSeen {
    id: SlaveId,
    link: LinkState,
    backup: bool,
}

/// Per bond: the state last seen (to turn changes into events and aliases) and the aliases
/// the slaves had before rbond took them.
#[derive(Default)]
pub struct BondObs {
    created: bool,
    seen: Vec<SlaveSeen>,
    active: Option<SlaveId>,
    mode: Option<rbond_core::Mode>,
    /// Slave ifindex and the alias it had when enslaved, restored on release.
    orig_alias: Vec<(u32, Option<String>)>,
    /// The names of the slaves seen last (a released slave is named in its events).
    names: Vec<(SlaveId, String)>,
    /// The names before the last change of the slave set: a failover caused by a release is
    /// reported after `sync` has already seen the slave go.
    prev_names: Vec<(SlaveId, String)>,
    scratch: Vec<SlaveSeen>,
}

fn state_word(l: LinkState) -> &'static str {
    match l {
        LinkState::Up => "up",
        LinkState::Fail => "fail",
        LinkState::Down => "down",
        LinkState::Back => "back",
    }
}

impl BondObs {
    /// The core changed the active slave, for `cause`.
    /// Call `sync` first, so the link change that caused it is logged before.
    pub fn active_changed(&mut self, core: &Bond, old: Option<SlaveId>, new: Option<SlaveId>, cause: FailoverCause) {
        let known = |id: SlaveId| self.names.iter().chain(&self.prev_names).find(|(i, _)| *i == id).map(|(_, n)| n.clone());
        let name = |id: Option<SlaveId>| -> Option<String> {
            let id = id?;
            core.slave(id).map(|s| s.name.clone()).or_else(|| known(id))
        };
        let (from, to) = (name(old), name(new));
        let msg = format!(
            "failover from {} to {} ({})",
            from.as_deref().unwrap_or("none"),
            to.as_deref().unwrap_or("none"),
            cause.name()
        );
        emit(core.name(), "failover", None, Some(from.as_deref().unwrap_or("none")), Some(to.as_deref().unwrap_or("none")), Some(cause.name()), msg);
    }

    /// Compares the bond with what was seen last; emits events for enslaved, released and
    /// changed slaves, and updates the aliases when anything shown in them changed.
    pub fn sync(&mut self, core: &Bond, bond_ifindex: u32) {
        let name = core.name();
        if !self.created {
            self.created = true;
            emit(name, "create", None, None, None, None, format!("bond created, mode {}", core.opts().mode.name()));
        }
        self.scratch.clear();
        self.scratch.extend(core.slaves().iter().map(|s| SlaveSeen { id: s.id, link: s.link, backup: s.backup }));
        let active = core.active_slave();
        let mode = Some(core.opts().mode);
        if self.scratch == self.seen && active == self.active && mode == self.mode {
            return;
        }
        // Released slaves: their alias goes back to what it was.
        for old in &self.seen {
            if !self.scratch.iter().any(|s| s.id == old.id) {
                let orig = self.orig_alias.iter().position(|(ix, _)| *ix == old.id.0).map(|p| self.orig_alias.remove(p).1);
                let _ = netlink::set_alias(old.id.0, orig.flatten().as_deref().unwrap_or(""));
                let n = self.names.iter().find(|(i, _)| *i == old.id).map(|(_, n)| n.clone()).unwrap_or_else(|| format!("ifindex {}", old.id.0));
                emit(name, "release", Some(&n), None, None, None, "released".into());
            }
        }
        for s in &self.scratch {
            let sname = core.slave(s.id).map(|x| x.name.as_str()).unwrap_or("");
            match self.seen.iter().find(|o| o.id == s.id) {
                None => {
                    if !self.orig_alias.iter().any(|(ix, _)| *ix == s.id.0) {
                        self.orig_alias.push((s.id.0, netlink::alias(s.id.0).ok().flatten()));
                    }
                    let msg = format!("enslaved, link {}, {}", state_word(s.link), if s.backup { "backup" } else { "active" });
                    emit(name, "enslave", Some(sname), None, Some(state_word(s.link)), None, msg);
                }
                Some(o) if o.link != s.link => {
                    let msg = format!("link {} -> {}", state_word(o.link), state_word(s.link));
                    emit(name, "link", Some(sname), Some(state_word(o.link)), Some(state_word(s.link)), None, msg);
                }
                Some(_) => {}
            }
        }
        if self.seen.len() != self.scratch.len() || self.seen.iter().zip(&self.scratch).any(|(a, b)| a.id != b.id) {
            self.prev_names = std::mem::replace(&mut self.names, core.slaves().iter().map(|s| (s.id, s.name.clone())).collect());
        }
        std::mem::swap(&mut self.seen, &mut self.scratch);
        self.active = active;
        self.mode = mode;
        self.update_aliases(core, bond_ifindex);
    }

    fn update_aliases(&self, core: &Bond, bond_ifindex: u32) {
        let _ = netlink::set_alias(bond_ifindex, &bond_alias(core));
        for s in core.slaves() {
            let _ = netlink::set_alias(s.id.0, &slave_alias(core.name(), s.backup));
        }
    }
}

/// A bond that goes away without its slaves being released one by one (a panic unwinding
/// the event loop) still gives the slaves their aliases back.
impl Drop for BondObs {
    fn drop(&mut self) {
        for (ix, orig) in self.orig_alias.drain(..) {
            let _ = netlink::set_alias(ix, orig.as_deref().unwrap_or(""));
        }
    }
}

/// `rbond bond0 active-backup, active eth0`: the mode and who carries the traffic.
pub fn bond_alias(core: &Bond) -> String {
    let mode = core.opts().mode;
    let who = if mode.uses_primary() {
        match core.active_slave().and_then(|id| core.slave(id)) {
            Some(s) => format!("active {}", s.name),
            None => "no active slave".to_string(),
        }
    } else {
        let up = core.slaves().iter().filter(|s| s.link == LinkState::Up).count();
        format!("{up}/{} slaves up", core.slaves().len())
    };
    format!("rbond {} {}, {who}", core.name(), mode.name())
}

/// `rbond slave of bond0 (backup)`: the slave's sysfs state.
pub fn slave_alias(bond: &str, backup: bool) -> String {
    format!("rbond slave of {bond} ({})", if backup { "backup" } else { "active" })
}

// ----- `rbond status --json` -------------------------------------------------------------

/// The status model as JSON plus `counters`: the core's (failovers by cause, link failures)
/// merged with the data path's (per slave and per bond).
pub fn status_json(b: &BondRt) -> serde_json::Value {
    let mut v = serde_json::to_value(b.core.status()).unwrap_or_default();
    let mut c = serde_json::to_value(b.core.counters()).unwrap_or_default();
    if let Some(slaves) = c.get_mut("slaves").and_then(|s| s.as_array_mut()) {
        for s in slaves.iter_mut() {
            let name = s.get("name").and_then(|n| n.as_str()).unwrap_or("").to_string();
            if let (Some(rt), Some(obj)) = (b.slaves.iter().find(|x| x.name == name), s.as_object_mut()) {
                if let Ok(serde_json::Value::Object(dp)) = serde_json::to_value(rt.counters()) {
                    obj.extend(dp);
                }
            }
        }
    }
    if let Some(obj) = c.as_object_mut() {
        let (tx_frames, tx_dropped, rx_frames) = b.frame_totals();
        obj.insert("tx_packets".into(), tx_frames.into());
        obj.insert("tx_dropped".into(), tx_dropped.into());
        obj.insert("rx_packets".into(), rx_frames.into());
        // Which data-path thread carries what (`--workers`; the event loop is worker 0).
        let per: Vec<serde_json::Value> = b
            .worker_totals()
            .map(|(tx, txd, rx)| serde_json::json!({"tx_packets": tx, "tx_dropped": txd, "rx_packets": rx}))
            .collect();
        obj.insert("workers".into(), per.into());
        let sum = |f: fn(&SlaveCounters) -> u64| b.slaves.iter().map(|s| f(&s.counters())).sum::<u64>();
        obj.insert("rx_filtered".into(), sum(|c| c.rx_filtered).into());
        obj.insert("rx_dropped".into(), sum(|c| c.rx_dropped).into());
    }
    if let Some(obj) = v.as_object_mut() {
        obj.insert("counters".into(), c);
    }
    v
}

// ----- where the events go ------------------------------------------------------------------

/// Installs the `tracing` subscriber of `rbond daemon`: the systemd journal when the daemon
/// runs under systemd (it sets JOURNAL_STREAM for services whose output goes to the journal,
/// systemd.exec(5)), stderr otherwise, as kernel-style lines (`bond0: (slave eth0): ...`).
pub fn init_tracing() {
    use tracing_subscriber::layer::SubscriberExt;
    // Journal fields RBOND_BOND, RBOND_KIND, RBOND_SLAVE, ... (`journalctl RBOND_KIND=failover`).
    let journald = if std::env::var_os("JOURNAL_STREAM").is_some() {
        tracing_journald::layer().ok().map(|l| l.with_field_prefix(Some("RBOND".into())))
    } else {
        None
    };
    let stderr = journald.is_none().then_some(KernelLines);
    let sub = tracing_subscriber::registry().with(journald).with(stderr);
    let _ = tracing::subscriber::set_global_default(sub);
}

/// A `tracing` layer writing each event as the kernel would log it.
pub struct KernelLines;

#[derive(Default)]
struct Fields {
    bond: String,
    slave: String,
    message: String,
}

impl tracing::field::Visit for Fields {
    fn record_str(&mut self, f: &tracing::field::Field, v: &str) {
        match f.name() {
            "bond" => self.bond = v.to_string(),
            "slave" => self.slave = v.to_string(),
            "message" => self.message = v.to_string(),
            _ => {}
        }
    }
    fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
        if f.name() == "message" {
            self.message = format!("{v:?}");
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for KernelLines {
    fn on_event(&self, ev: &tracing::Event<'_>, _ctx: tracing_subscriber::layer::Context<'_, S>) {
        let mut f = Fields::default();
        ev.record(&mut f);
        let line = match (f.bond.is_empty(), f.slave.is_empty()) {
            (true, _) => f.message,
            (false, true) => format!("{}: {}", f.bond, f.message),
            (false, false) => format!("{}: (slave {}): {}", f.bond, f.slave, f.message),
        };
        // Never `eprintln!`: it panics when stderr is gone (a closed terminal, SIGHUP).
        super::log(&line);
    }
}

// ----- text form for `rbond events` -----------------------------------------------------------

/// `2026-12-03T14:55:19.123Z bond0: (slave eth0): link up -> down`.
pub fn event_line(e: &Event) -> String {
    let who = match &e.slave {
        Some(s) => format!("{}: (slave {s}): ", e.bond),
        None => format!("{}: ", e.bond),
    };
    format!("{} {who}{}", utc(e.time_ms), e.message)
}

/// RFC 3339 UTC time of `ms` since the epoch (days to civil date: the proleptic Gregorian
/// calendar, era arithmetic as in H. Hinnant's `civil_from_days`).
pub fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z", rem / 3600, rem % 3600 / 60, rem % 60, ms % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01T00:00:00.000Z");
        // 2000-02-29 12:34:56.789 UTC (a leap day of a century leap year).
        assert_eq!(utc(951_827_696_789), "2000-02-29T12:34:56.789Z");
        assert_eq!(utc(1_798_761_599_000), "2026-12-31T23:59:59.000Z");
    }

    #[test]
    fn ring_keeps_the_newest_in_order() {
        for i in 0..(RING_LEN + 10) {
            emit("rbtring0", "option", None, None, Some(&i.to_string()), None, format!("n {i}"));
        }
        let all = events_since(0, Some("rbtring0"));
        assert_eq!(all.len(), RING_LEN);
        assert!(all.windows(2).all(|w| w[1].seq == w[0].seq + 1));
        assert_eq!(all.last().unwrap().message, format!("n {}", RING_LEN + 9));
        let last_seq = all.last().unwrap().seq;
        assert!(events_since(last_seq, Some("rbtring0")).is_empty());
        assert_eq!(events_since(last_seq - 3, Some("rbtring0")).len(), 3);
    }

    #[test]
    fn aliases_read_as_in_the_issue() {
        let mut b = Bond::new("bond0", rbond_core::MacAddr([2, 0, 0, 0, 0, 1]), "6.1");
        b.set_option("mode", "active-backup", 0).unwrap();
        assert_eq!(bond_alias(&b), "rbond bond0 active-backup, no active slave");
        let up = rbond_core::LinkObservation { admin_up: true, carrier: true, speed_mbps: Some(1000), duplex: rbond_core::Duplex::Full };
        b.enslave(SlaveId(7), "eth0", rbond_core::MacAddr([2, 0, 0, 0, 1, 1]), up, 0).unwrap();
        b.enslave(SlaveId(8), "eth1", rbond_core::MacAddr([2, 0, 0, 0, 1, 2]), up, 0).unwrap();
        b.set_admin_up(true, 0);
        assert_eq!(bond_alias(&b), "rbond bond0 active-backup, active eth0");
        assert_eq!(slave_alias("bond0", b.slave(SlaveId(8)).unwrap().backup), "rbond slave of bond0 (backup)");
        assert_eq!(slave_alias("bond0", b.slave(SlaveId(7)).unwrap().backup), "rbond slave of bond0 (active)");
    }
}

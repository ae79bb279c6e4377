//! One bond at run time: the core `Bond` plus the Linux objects it drives (the TAP device
//! and one AF_PACKET socket per slave). A slave is known to the core and to this file by the
//! same `SlaveId`: its interface index, which survives renames and is never renumbered.

use crate::sys::packet::{FrameBatch, PacketSocket};
use super::state;
use crate::sys::{ethtool, isolate::SlaveIsolation, netlink, tap::Tap, VNET_HDR_LEN};
use anyhow::Result;
use rbond_core::bond::{Action, Bond, Level, RxDecision};
use rbond_core::options::{Errno, OptError};
use rbond_core::{LinkObservation, MacAddr, Millis, SlaveId};
use std::net::IpAddr;
use std::os::fd::RawFd;

/// What was found on a slave before rbond touched it, restored on release.
pub struct SlaveRt {
    /// The core's id of this slave (= the ifindex).
    pub id: SlaveId,
    pub name: String,
    pub ifindex: u32,
    pub sock: PacketSocket,
    isolation: Option<SlaveIsolation>,
    orig_mac: [u8; 6],
    orig_mtu: u32,
    orig_up: bool,
    restored: bool,
    /// Frames and bytes through this slave (observability; plain adds on the data path).
    pub ctr: super::obs::SlaveCounters,
    /// What the data-path workers counted on it (see `counters`).
    shared_ctr: std::sync::Arc<super::workers::SharedCounters>,
    /// The PACKET_FANOUT group `sock` made once the bond had workers.
    fanout: Option<u16>,
}

impl SlaveRt {
    /// The slave's counters: the event loop's and the workers'.
    pub fn counters(&self) -> super::obs::SlaveCounters {
        self.shared_ctr.add_to(self.ctr)
    }
}

/// Dropping a slave (release, bond deletion, daemon exit or panic) restores it.
impl Drop for SlaveRt {
    fn drop(&mut self) {
        self.restore();
    }
}

pub struct BondRt {
    pub core: Bond,
    pub tap: Tap,
    pub slaves: Vec<SlaveRt>,
    /// Frames processed, for the daemon's counters.
    pub tx_frames: u64,
    pub rx_frames: u64,
    pub tx_dropped: u64,
    /// The bond device's MTU as last seen; slaves follow it (bond_change_mtu).
    pub mtu: u32,
    /// MACs the daemon itself gave the bond device, newest last. Netlink reports MAC changes
    /// late, so an event may still show an address we replaced since; only an address that
    /// is not one of ours is an administrator's `ip link set bond0 address`.
    own_macs: Vec<[u8; 6]>,
    /// BATCH frame buffers for the data path, allocated once: `pump_rx` receives into them
    /// with one recvmmsg, `pump_tx` gathers TAP frames in them for one sendmmsg per slave.
    /// The two never run at the same time, so they share it.
    batch: FrameBatch,
    /// Events and aliases: the bond's state as last shown (see obs.rs).
    pub obs: super::obs::BondObs,
    /// The extra data-path workers (`--workers N` > 1 and a multi-queue TAP).
    pool: Option<super::workers::Pool>,
    /// Something changed that the workers' plan may depend on (see `sync_workers`).
    pub plan_dirty: bool,
}

// TUNSETCARRIER = _IOW('T', 226, int): the TAP's carrier follows the bond's (bonding.rst, mode).
const TUNSETCARRIER: libc::c_ulong = 0x4004_54e2;

use super::pump::{self, BATCH};

/// Slaves per bond: a frame's destinations are a 64-bit mask over the slave list.
pub const MAX_SLAVES: usize = 64;

/// What the MII monitor sees of a slave (bond_main.c: bond_miimon_inspect): the carrier, or with use_carrier=0 the
/// ethtool link status; speed and duplex from ethtool, re-read only when the link changed
/// since `prev`.
pub fn observe(ifname: &str, info: &netlink::LinkInfo, use_carrier: bool, prev: Option<LinkObservation>) -> LinkObservation {
    let carrier = if use_carrier { info.carrier } else { ethtool::link_detected(ifname).unwrap_or(info.carrier) };
    if let Some(p) = prev.filter(|p| p.admin_up == info.admin_up && p.carrier == carrier) {
        return p;
    }
    let (speed, duplex) = ethtool::speed_duplex(ifname).unwrap_or((None, rbond_core::Duplex::Unknown));
    LinkObservation { admin_up: info.admin_up, carrier, speed_mbps: speed, duplex }
}

impl BondRt {
    /// A new bond: recorded in the state file first, then its device is created as a
    /// persistent TAP, so a daemon that dies leaves bond0 (addresses, routes) in place.
    pub fn create(name: &str, release: &str, dp: super::DaemonOpts) -> Result<BondRt> {
        state::record_bond(name)?;
        let tap = match Tap::create_or_attach_as(name, dp.workers > 1) {
            // The kernel expands a name like "bond%d": the record and the device must agree.
            Ok((tap, _)) if tap.name() != name => {
                let _ = tap.set_persist(false);
                let _ = state::forget_bond(name);
                anyhow::bail!("the kernel named the device {} instead of {name}", tap.name());
            }
            Ok((tap, _)) => tap,
            Err(e) => {
                let _ = state::forget_bond(name);
                return Err(e.into());
            }
        };
        Self::with_tap(name, tap, release, dp)
    }

    /// Re-adoption after a crash: attaches to the persistent TAP `name` a previous daemon
    /// left. Slaves and options come from the state file (`daemon::adopt`).
    pub fn attach(name: &str, release: &str, dp: super::DaemonOpts) -> Result<BondRt> {
        let tap = Tap::attach(name)?;
        tap.set_persist(true)?;
        Self::with_tap(name, tap, release, dp)
    }

    fn with_tap(name: &str, tap: Tap, release: &str, dp: super::DaemonOpts) -> Result<BondRt> {
        let info = netlink::link_by_index(tap.ifindex())?
            .ok_or_else(|| anyhow::anyhow!("{name}: the TAP device vanished"))?;
        let mut core = Bond::new(name, MacAddr(info.mac), release);
        core.seed_rng(random_seed());
        // A device a daemon of an older kind (or with --workers 1) made has one queue: this
        // bond then runs on the event loop alone.
        let pool = if dp.workers > 1 && tap.is_multi_queue() {
            let busy = std::time::Duration::from_micros(dp.busy_poll_us as u64);
            Some(super::workers::Pool::start(name, &tap, dp.workers - 1, busy)?)
        } else {
            if dp.workers > 1 {
                log_line(name, None, "the device has a single queue (made by an earlier daemon): one data-path thread");
            }
            None
        };
        let rt = BondRt {
            core,
            tap,
            slaves: Vec::new(),
            tx_frames: 0,
            rx_frames: 0,
            tx_dropped: 0,
            mtu: info.mtu,
            own_macs: vec![info.mac],
            batch: FrameBatch::new(BATCH),
            obs: Default::default(),
            pool,
            plan_dirty: true,
        };
        rt.set_tap_carrier(false);
        Ok(rt)
    }

    fn set_tap_carrier(&self, on: bool) {
        let v: libc::c_int = on as libc::c_int;
        // SAFETY: TUNSETCARRIER reads an int from the pointer.
        unsafe { libc::ioctl(self.tap.fd(), TUNSETCARRIER as _, &v) };
    }

    /// `ip link set bond0 mtu N`: every slave takes the bond's MTU, as in the kernel.
    pub fn mtu_changed(&mut self, mtu: u32) {
        if mtu == self.mtu {
            return;
        }
        self.mtu = mtu;
        for s in &self.slaves {
            if let Err(e) = netlink::set_mtu(s.ifindex, mtu) {
                log_line(self.core.name(), Some(&s.name), &format!("cannot set mtu {mtu}: {e}"));
            }
        }
    }

    /// `ip link set <bond> mtu|address|up`, carried out on the bond device; the netlink
    /// event that follows brings the change to the core (slaves follow MTU and MAC).
    pub fn set_link(&mut self, mtu: Option<u32>, up: Option<bool>, mac: Option<MacAddr>) -> std::io::Result<()> {
        let ix = self.tap.ifindex();
        if let Some(m) = mac {
            netlink::set_mac(ix, m.0)?;
        }
        if let Some(m) = mtu {
            netlink::set_mtu(ix, m)?;
        }
        if let Some(u) = up {
            netlink::set_up(ix, u)?;
        }
        Ok(())
    }

    /// The bond device reported MAC `mac`: adopt it if an administrator set it.
    pub fn mac_seen(&mut self, mac: [u8; 6]) {
        if mac != self.core.mac().0 && !self.own_macs.contains(&mac) {
            self.own_macs.push(mac);
            self.core.set_bond_mac(MacAddr(mac));
        }
    }

    /// Feeds a fresh look at slave `id` to the core.
    pub fn link_seen(&mut self, id: SlaveId, info: &netlink::LinkInfo, now: Millis) {
        let Some(s) = self.core.slave(id) else { return };
        let obs = observe(&info.name, info, self.core.opts().use_carrier, Some(s.obs));
        self.core.link_observed(id, obs, now);
    }

    /// Slave `id` was renamed (`ip link set eth0 name ren0`): the core and status show the
    /// new name, and the isolation moves to it. An nftables netdev chain names its device, so
    /// the old table stops isolating the slave once the name is gone: it is replaced by one for
    /// the new name before anything else happens on this thread.
    pub fn renamed(&mut self, id: SlaveId, new_name: &str) {
        let bond = self.core.name().to_string();
        let Some(s) = self.slaves.iter_mut().find(|s| s.id == id) else { return };
        if s.name == new_name {
            return;
        }
        let old = std::mem::replace(&mut s.name, new_name.to_string());
        if let Some(mut iso) = s.isolation.take() {
            let _ = iso.remove();
        }
        match SlaveIsolation::apply(new_name) {
            Ok(iso) => {
                let _ = state::rename_slave(&bond, s.ifindex, new_name, iso.table());
                s.isolation = Some(iso);
            }
            Err(e) => log_line(&bond, Some(new_name), &format!("cannot isolate the renamed slave: {e}")),
        }
        self.core.rename_slave(id, new_name);
        log_line(&bond, Some(new_name), &format!("renamed from {old}; isolation follows the new name"));
    }

    /// nftables reported deletions in these tables (`*`: events were lost, check all): a
    /// slave whose isolation was removed from outside gets it back at once, with a log line.
    pub fn check_isolation(&mut self, tables: &[String]) {
        let bond = self.core.name().to_string();
        for s in &mut self.slaves {
            let Some(iso) = s.isolation.as_mut() else { continue };
            if !tables.iter().any(|t| t == "*" || t == iso.table()) {
                continue;
            }
            match iso.restore_if_broken() {
                Ok(true) => log_line(&bond, Some(&s.name), "isolation was removed from outside; restored"),
                Ok(false) => {}
                Err(e) => log_line(&bond, Some(&s.name), &format!("isolation was removed from outside and cannot be restored: {e}")),
            }
        }
    }

    pub fn slave_pos(&self, name: &str) -> Option<usize> {
        self.slaves.iter().position(|s| s.name == name)
    }

    fn slave_by_id(&self, id: SlaveId) -> Option<&SlaveRt> {
        self.slaves.iter().find(|s| s.id == id)
    }

    /// Enslaves an existing interface (the caller checked it exists and is free). On any
    /// failure the interface is left as it was found: the `SlaveRt` is built before anything
    /// is touched, and dropping it restores the slave.
    pub fn enslave(&mut self, ifname: &str, now: Millis) -> Result<Vec<String>, OptError> {
        self.enslave_as(ifname, None, now)
    }

    /// Re-adoption: enslaves the interface recorded in `rec` (found again by its ifindex),
    /// taking the recorded MAC, MTU and admin state as the ones to restore; its current MAC
    /// is the bond's, set by the dead daemon, and must never become its permanent address.
    pub fn readopt(&mut self, rec: &state::SlaveState, now: Millis) -> Result<Vec<String>, OptError> {
        let ifname = netlink::link_by_index(rec.ifindex).ok().flatten().map(|l| l.name).unwrap_or_else(|| rec.name.clone());
        self.enslave_as(&ifname, Some(rec), now)
    }

    fn enslave_as(&mut self, ifname: &str, recorded: Option<&state::SlaveState>, now: Millis) -> Result<Vec<String>, OptError> {
        let sysfail = |e: std::io::Error| OptError::new("slaves", Errno::EINVAL, vec![format!("(slave {ifname}): {e}")]);
        let info = netlink::link_by_name(ifname).map_err(sysfail)?.ok_or_else(|| no_such(ifname))?;
        // The record comes first: from here on a crash leaves what is needed to undo it.
        let rec = match recorded {
            Some(r) => {
                // Renamed while no daemon ran: the old table hooks a name that is gone.
                let table = crate::sys::isolate::table_name(&info.name, info.index);
                if r.nft_table != table {
                    let _ = crate::sys::isolate::remove_table(&r.nft_table);
                }
                state::SlaveState { name: info.name.clone(), ifindex: info.index, nft_table: table, ..r.clone() }
            }
            None => state::SlaveState::found(&info),
        };
        // Already our slave (a repeated name): its record holds its real MAC, and the core
        // refuses the request; the record must stay as it is.
        let already = self.slaves.iter().any(|s| s.ifindex == info.index);
        if !already {
            state::record_slave(self.core.name(), &rec).map_err(sysfail)?;
        }
        let r = self.enslave_recorded(ifname, &info, &rec, now);
        if r.is_err() && !already {
            // The SlaveRt was dropped, so the interface is restored: forget it.
            let _ = state::forget_slave(self.core.name(), info.index);
        }
        r
    }

    fn enslave_recorded(&mut self, ifname: &str, info: &netlink::LinkInfo, rec: &state::SlaveState, now: Millis) -> Result<Vec<String>, OptError> {
        let sysfail = |e: std::io::Error| OptError::new("slaves", Errno::EINVAL, vec![format!("(slave {ifname}): {e}")]);
        let perm = rec.mac().unwrap_or(info.mac);
        if self.slaves.len() >= MAX_SLAVES {
            return Err(OptError::new("slaves", Errno::EINVAL, vec![format!("(slave {ifname}): Error: a bond has at most {MAX_SLAVES} slaves in rbond")]));
        }
        let id = SlaveId(info.index);
        let mut slave = SlaveRt {
            id,
            name: ifname.to_string(),
            ifindex: info.index,
            sock: PacketSocket::bind(info.index).map_err(sysfail)?,
            isolation: None,
            orig_mac: perm,
            orig_mtu: rec.mtu,
            orig_up: rec.admin_up,
            restored: false,
            ctr: Default::default(),
            shared_ctr: Default::default(),
            fanout: None,
        };
        // The bond MAC is unicast to the slave, and multicast must reach the bond too.
        let _ = slave.sock.set_allmulti(true);
        slave.isolation = Some(SlaveIsolation::apply(ifname).map_err(sysfail)?);
        if info.mtu != self.mtu {
            let _ = netlink::set_mtu(info.index, self.mtu);
        }
        if !info.admin_up {
            netlink::set_up(info.index, true).map_err(sysfail)?;
        }
        let info_now = netlink::link_by_index(info.index).map_err(sysfail)?.unwrap_or(info.clone());
        let obs = observe(ifname, &info_now, self.core.opts().use_carrier, None);
        let notes = self.core.enslave(id, ifname, MacAddr(perm), obs, now)?;
        self.slaves.push(slave);
        self.run_actions();
        Ok(notes)
    }

    /// `-ifname`: refused as the kernel does when it is not our slave.
    pub fn release(&mut self, ifname: &str, now: Millis) -> Result<(), OptError> {
        let id = self.core.release_named(ifname, now)?;
        self.forget(id);
        Ok(())
    }

    /// The slave with `id` went away (deleted, or taken by another master): release it.
    pub fn release_id(&mut self, id: SlaveId, now: Millis) {
        self.core.release(id, now);
        self.forget(id);
    }

    /// The slave leaves our list (dropping it restores it). The core's actions of the release
    /// run first, while its socket is still open: in 802.3ad they include the port's final
    /// LACPDU (Synchronization, Collecting and Distributing cleared, `bond_3ad_unbind_slave`),
    /// which makes the partner stop sending on that link at once instead of after its timeout
    /// (up to 90 s at the slow rate). The core no longer knows the slave, so no other action
    /// (a new bond MAC, ...) touches it; its own MAC restore repeats what the drop does.
    fn forget(&mut self, id: SlaveId) {
        self.run_actions();
        if let Some(p) = self.slaves.iter().position(|s| s.id == id) {
            // No worker may use the slave once it is restored.
            self.sync_workers_without(Some(id));
            let s = self.slaves.remove(p);
            let ifindex = s.ifindex;
            drop(s);
            let _ = state::forget_slave(self.core.name(), ifindex);
        }
        self.run_actions();
    }

    /// Deleting the bond: all slaves go at once, without failovers, as they were found;
    /// then the device goes (persistence off: it vanishes with the fd) and so does the record.
    pub fn teardown(&mut self) {
        // The workers stop (and close their sockets and queues) before anything is restored.
        self.pool = None;
        self.core.release_all();
        self.slaves.clear();
        self.run_actions();
        let _ = self.tap.set_persist(false);
        let _ = state::forget_bond(self.core.name());
    }

    /// Carries out the core's actions.
    pub fn run_actions(&mut self) {
        while let Some(a) = self.core.poll_action() {
            match a {
                Action::SetSlaveMac { slave, mac } => {
                    // A released slave is no longer in our list: restoring it (its original
                    // MAC included) is the job of SlaveRt's Drop.
                    if let Some(s) = self.slave_by_id(slave) {
                        set_mac_hard(s.ifindex, mac.0);
                    }
                }
                Action::SetBondMac(mac) => {
                    if self.own_macs.len() >= 8 {
                        self.own_macs.remove(0);
                    }
                    self.own_macs.push(mac.0);
                    if let Err(e) = netlink::set_mac(self.tap.ifindex(), mac.0) {
                        log_line(self.core.name(), None, &format!("cannot set bond MAC: {e}"));
                    }
                }
                Action::SetCarrier(on) => self.set_tap_carrier(on),
                Action::SendFrame { slave, frame } => {
                    if let Some(s) = self.slave_by_id(slave) {
                        // Control frames (LACPDUs above all: a partner expires a port after
                        // three missed ones) share the socket with the data path; when a
                        // burst of data has filled its send buffer, retry briefly instead of
                        // losing the frame.
                        for _ in 0..20 {
                            match s.sock.send_plain(&frame) {
                                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.raw_os_error() == Some(libc::ENOBUFS) => {
                                    std::thread::sleep(std::time::Duration::from_micros(50))
                                }
                                _ => break,
                            }
                        }
                    }
                }
                Action::ActiveChanged { old, new, cause } => {
                    // The link change that caused it is logged first.
                    self.obs.sync(&self.core, self.tap.ifindex());
                    self.obs.active_changed(&self.core, old, new, cause);
                }
                // alb (bond_alb.c: rlb_*): the active slave receives for a failed slave's MAC. On veth the
                // packet socket sees every frame anyway; a real NIC needs the membership.
                Action::SetPromisc { slave, on } => {
                    if let Some(s) = self.slave_by_id(slave) {
                        let _ = s.sock.set_promisc(on);
                    }
                }
                Action::Log { level, slave, msg } => {
                    if level >= Level::Info {
                        log_line(self.core.name(), slave.as_deref(), &msg);
                    }
                }
            }
        }
        self.obs.sync(&self.core, self.tap.ifindex());
    }

    /// Refreshes the core's view of the bond's addresses (ARP/NS monitor).
    pub fn refresh_addrs(&mut self) {
        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        for (a, _) in netlink::addresses(self.tap.ifindex()).unwrap_or_default() {
            match a {
                IpAddr::V4(v) => v4.push(v),
                IpAddr::V6(v) => v6.push(v),
            }
        }
        self.core.set_local_addrs(&v4, &v6);
    }

    // ----- the per-frame path -------------------------------------------------------

    /// Frames the host sent into bond0: decide and transmit. The TAP has no batched read, so
    /// frames are read one by one (up to BATCH) and decided in order (one call into the core
    /// each, which also rewrites the source MAC where the mode wants it); then each slave
    /// gets its frames, in that order, with one sendmmsg.
    pub fn pump_tx(&mut self) {
        // Per frame: the slaves (bit j = self.slaves[j]) it goes to.
        let mut dest = [0u64; BATCH];
        let (core, slaves) = (&mut self.core, &self.slaves);
        let n = pump::read_and_decide(&self.tap, &mut self.batch, &mut dest, |f| {
            pump::mask(core.tx(f), || slaves.iter().map(|s| s.id))
        });
        if n == 0 {
            return;
        }
        self.tx_frames += n as u64;
        self.tx_dropped += dest[..n].iter().filter(|&&d| d == 0).count() as u64;
        let slaves = &mut self.slaves;
        let mut reports = [(0u64, 0u64, 0u64); MAX_SLAVES];
        self.tx_dropped += pump::send_by_mask(&self.batch, &dest[..n], slaves.iter().map(|s| &s.sock), |j, rep, bytes| {
            reports[j] = (rep.sent as u64, bytes, rep.dropped as u64);
        });
        for (s, (sent, bytes, dropped)) in slaves.iter_mut().zip(reports) {
            s.ctr.tx_packets += sent;
            s.ctr.tx_bytes += bytes;
            s.ctr.tx_dropped += dropped;
        }
    }

    /// Frames that arrived on slave `i` of our list: hand the accepted ones to bond0. One
    /// recvmmsg takes up to BATCH of them; each is one receive event for the core.
    pub fn pump_rx(&mut self, i: usize, now: Millis) {
        let Some(s) = self.slaves.get(i) else { return };
        let id = s.id;
        // An error (none queued, or a pending ENETDOWN that this receive clears) ends it.
        let Ok(n) = s.sock.recv_batch(&mut self.batch) else { return };
        let mut c = super::obs::SlaveCounters::default();
        for k in 0..n {
            let f = self.batch.frame_mut(k);
            if f.len() <= VNET_HDR_LEN {
                continue;
            }
            c.rx_packets += 1;
            c.rx_bytes += (f.len() - VNET_HDR_LEN) as u64;
            match self.core.rx(id, &mut f[VNET_HDR_LEN..], now) {
                RxDecision::Deliver => {
                    self.rx_frames += 1;
                    c.rx_delivered += 1;
                    if self.tap.write(f).is_err() {
                        c.rx_dropped += 1;
                    }
                }
                RxDecision::Drop => c.rx_filtered += 1,
                RxDecision::Consumed => c.rx_consumed += 1,
            }
        }
        if let Some(s) = self.slaves.get_mut(i) {
            let t = &mut s.ctr;
            t.rx_packets += c.rx_packets;
            t.rx_bytes += c.rx_bytes;
            t.rx_delivered += c.rx_delivered;
            t.rx_filtered += c.rx_filtered;
            t.rx_consumed += c.rx_consumed;
            t.rx_dropped += c.rx_dropped;
        }
        // LACP may have changed what the workers' plan holds.
        self.plan_dirty |= c.rx_consumed != 0;
        // What the receive hooks emitted (LACP answers, later RLB updates).
        self.run_actions();
    }

    /// The fds the event loop polls for this bond: the TAP (queue 0), each slave's socket,
    /// then (-1 without workers) the workers' hand-over to the core.
    pub fn fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        std::iter::once(self.tap.fd())
            .chain(self.slaves.iter().map(|s| s.sock.fd()))
            .chain(std::iter::once(self.pool.as_ref().map_or(-1, |p| p.core_fd())))
    }

    /// Data-path threads of this bond, the event loop included.
    pub fn workers(&self) -> usize {
        1 + self.pool.as_ref().map_or(0, |p| p.extra())
    }

    /// (frames from the bond device, of those dropped, frames delivered to it), over all
    /// data-path threads.
    pub fn frame_totals(&self) -> (u64, u64, u64) {
        self.worker_totals().fold((0, 0, 0), |a, t| (a.0 + t.0, a.1 + t.1, a.2 + t.2))
    }

    /// `frame_totals` per data-path thread, the event loop first.
    pub fn worker_totals(&self) -> impl Iterator<Item = (u64, u64, u64)> + '_ {
        std::iter::once((self.tx_frames, self.tx_dropped, self.rx_frames)).chain(self.pool.iter().flat_map(|p| p.totals()))
    }

    /// Frames the workers received that the core must see (LACPDUs the fanout hash gave
    /// them): one receive event each, as if they had come on the event loop's socket.
    pub fn pump_core(&mut self, now: Millis) {
        let Some(pool) = &self.pool else { return };
        let frames: Vec<_> = pool.take_core_frames().collect();
        if frames.is_empty() {
            return;
        }
        for (id, mut f) in frames {
            let Some(i) = self.slaves.iter().position(|s| s.id == id) else { continue };
            match self.core.rx(id, &mut f[VNET_HDR_LEN..], now) {
                RxDecision::Deliver => {
                    self.rx_frames += 1;
                    self.slaves[i].ctr.rx_delivered += 1;
                    if self.tap.write(&f).is_err() {
                        self.slaves[i].ctr.rx_dropped += 1;
                    }
                }
                RxDecision::Drop => self.slaves[i].ctr.rx_filtered += 1,
                RxDecision::Consumed => self.slaves[i].ctr.rx_consumed += 1,
            }
        }
        self.plan_dirty = true;
        self.run_actions();
    }

    /// Brings the workers' plan up to date with the core, if something may have changed.
    pub fn sync_workers(&mut self) {
        if self.plan_dirty {
            self.sync_workers_without(None);
        }
    }

    /// Publishes the plan, leaving out slave `gone` (about to be released); then waits until
    /// every worker has taken it.
    fn sync_workers_without(&mut self, gone: Option<SlaveId>) {
        self.plan_dirty = false;
        let Some(pool) = self.pool.as_mut() else { return };
        let mut fast = self.core.fast_path();
        if fast.is_some() {
            // The event loop's socket of each slave founds the slave's fanout group.
            for s in &mut self.slaves {
                if s.fanout.is_none() {
                    match s.sock.join_fanout(None) {
                        Ok(g) => s.fanout = Some(g),
                        Err(e) => log_line(self.core.name(), Some(&s.name), &format!("no PACKET_FANOUT ({e}): one data-path thread for it")),
                    }
                }
            }
        }
        // A slave without a group would be one the workers cannot send on.
        if self.slaves.iter().any(|s| s.fanout.is_none()) {
            fast = None;
        }
        let slaves = self
            .slaves
            .iter()
            .filter(|s| Some(s.id) != gone)
            .filter_map(|s| {
                Some(super::workers::PlanSlave { id: s.id, ifindex: s.ifindex, fanout: s.fanout?, ctr: s.shared_ctr.clone() })
            })
            .collect();
        pool.publish(super::workers::Plan { fast, slaves }, gone.is_some());
    }
}

fn no_such(ifname: &str) -> OptError {
    OptError::new(
        "slaves",
        Errno::ENODEV,
        vec![format!("option slaves: interface +{ifname} does not exist!")],
    )
}

/// Some drivers refuse a MAC change while up (EBUSY): then down, change, up.
fn set_mac_hard(ifindex: u32, mac: [u8; 6]) {
    if netlink::set_mac(ifindex, mac).is_err() {
        let was_up = netlink::link_by_index(ifindex).ok().flatten().map(|l| l.admin_up).unwrap_or(false);
        let _ = netlink::set_up(ifindex, false);
        let _ = netlink::set_mac(ifindex, mac);
        if was_up {
            let _ = netlink::set_up(ifindex, true);
        }
    }
}

impl SlaveRt {
    /// Puts back the MAC, MTU and admin state found at enslave time, and lifts the
    /// isolation. Runs once.
    fn restore(&mut self) {
        if std::mem::replace(&mut self.restored, true) {
            return;
        }
        crate::sys::owner::release(self.ifindex); // other rbond daemons may take it again
        if let Some(mut iso) = self.isolation.take() {
            let _ = iso.remove();
        }
        if let Ok(Some(now)) = netlink::link_by_index(self.ifindex) {
            if now.mac != self.orig_mac {
                set_mac_hard(self.ifindex, self.orig_mac);
            }
            if now.mtu != self.orig_mtu {
                let _ = netlink::set_mtu(self.ifindex, self.orig_mtu);
            }
            if now.admin_up != self.orig_up {
                let _ = netlink::set_up(self.ifindex, self.orig_up);
            }
        }
    }
}

/// Kernel-style log lines: `bond0: (slave eth0): link status definitely down, ...`.
pub fn log_line(bond: &str, slave: Option<&str>, msg: &str) {
    match slave {
        Some(s) => super::log(&format!("{bond}: (slave {s}): {msg}")),
        None => super::log(&format!("{bond}: {msg}")),
    }
}

/// A seed for the core's PRNG (random slave for packets_per_slave=0, random bond MACs).
pub(super) fn random_seed() -> u32 {
    let mut b = [0u8; 4];
    // SAFETY: getrandom writes at most b.len() bytes into b.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    if n == 4 {
        u32::from_ne_bytes(b)
    } else {
        std::process::id() ^ (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(7))
    }
}

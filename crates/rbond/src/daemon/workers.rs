//! Data-path workers: the bond's frames on more than one core (`rbond daemon --workers N`).
//!
//! The event loop's thread stays worker 0: it reads queue 0 of the bond's TAP and its own
//! AF_PACKET socket of each slave, and decides with the core itself (`Bond::tx`/`Bond::rx`).
//! Each extra worker here owns one more queue of the multi-queue TAP and, per slave, one
//! more socket in the slave's PACKET_FANOUT group, so the kernel spreads both directions by
//! flow: a flow stays on one worker, in order.
//!
//! A worker decides from a [`FastPath`], the core's read-only copy of what the per-frame
//! decisions need (the kernel publishes its usable-slave array the same way, by RCU:
//! bond_main.c: bond_update_slave_arr). The event loop publishes a new [`Plan`] when the bond
//! changes: it swaps an `Arc` under a mutex and bumps a generation number; a worker compares
//! the generation once per wake-up (one atomic load) and takes the mutex only when it moved,
//! so the per-frame path takes no lock. A frame the core must see (an LACPDU that the fanout
//! hash gave to a worker) is handed to the event loop through a channel.
//!
//! Where the core needs every frame (balance-tlb/alb, the ARP/NS monitor: no fast path) the
//! workers step aside: they detach their TAP queues and close their sockets, which leaves the
//! fanout groups with the event loop's socket alone, so it gets every frame again.

use crate::sys::packet::{FrameBatch, PacketSocket};
use crate::sys::tap::Tap;
use crate::sys::VNET_HDR_LEN;
use super::pump::{self, BATCH};
use rbond_core::bond::{FastPath, FastPathState, RxVerdict};
use rbond_core::SlaveId;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::obs::SlaveCounters;

/// Counters the workers add to, once per batch; summed with the event loop's own.
#[derive(Debug, Default)]
pub struct SharedCounters {
    rx_packets: AtomicU64,
    rx_bytes: AtomicU64,
    rx_delivered: AtomicU64,
    rx_filtered: AtomicU64,
    rx_dropped: AtomicU64,
    tx_packets: AtomicU64,
    tx_bytes: AtomicU64,
    tx_dropped: AtomicU64,
}

impl SharedCounters {
    /// `c` plus what the workers counted.
    pub fn add_to(&self, mut c: SlaveCounters) -> SlaveCounters {
        let r = |a: &AtomicU64| a.load(Ordering::Relaxed);
        c.rx_packets += r(&self.rx_packets);
        c.rx_bytes += r(&self.rx_bytes);
        c.rx_delivered += r(&self.rx_delivered);
        c.rx_filtered += r(&self.rx_filtered);
        c.rx_dropped += r(&self.rx_dropped);
        c.tx_packets += r(&self.tx_packets);
        c.tx_bytes += r(&self.tx_bytes);
        c.tx_dropped += r(&self.tx_dropped);
        c
    }

    fn add(&self, c: &SlaveCounters) {
        let a = |x: &AtomicU64, v: u64| {
            if v != 0 {
                x.fetch_add(v, Ordering::Relaxed);
            }
        };
        a(&self.rx_packets, c.rx_packets);
        a(&self.rx_bytes, c.rx_bytes);
        a(&self.rx_delivered, c.rx_delivered);
        a(&self.rx_filtered, c.rx_filtered);
        a(&self.rx_dropped, c.rx_dropped);
        a(&self.tx_packets, c.tx_packets);
        a(&self.tx_bytes, c.tx_bytes);
        a(&self.tx_dropped, c.tx_dropped);
    }
}

/// One slave as the workers see it.
#[derive(Clone, Debug)]
pub struct PlanSlave {
    pub id: SlaveId,
    pub ifindex: u32,
    /// The slave's PACKET_FANOUT group (the event loop's socket made it).
    pub fanout: u16,
    pub ctr: Arc<SharedCounters>,
}

/// What the workers run on. `fast: None`: step aside (see the module comment).
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub fast: Option<FastPath>,
    pub slaves: Vec<PlanSlave>,
}

impl Plan {
    /// Whether publishing `self` after `other` changes anything a worker uses.
    fn same_as(&self, other: &Plan) -> bool {
        self.fast == other.fast
            && self.slaves.len() == other.slaves.len()
            && self.slaves.iter().zip(&other.slaves).all(|(a, b)| a.id == b.id && a.fanout == b.fanout)
    }
}

/// Frames of the bond device counted by the workers (the bond-wide figures).
#[derive(Debug, Default)]
pub struct BondTotals {
    pub tx_frames: AtomicU64,
    pub tx_dropped: AtomicU64,
    pub rx_frames: AtomicU64,
}

struct Shared {
    generation: AtomicU64,
    plan: Mutex<Arc<Plan>>,
    stop: AtomicBool,
    /// The generation each worker has taken up (and acted on).
    taken: Vec<AtomicU64>,
    /// Per worker: what it moved.
    totals: Vec<BondTotals>,
}

/// A frame a worker received that the core must see: (slave, vnet header + frame).
pub type CoreFrame = (SlaveId, Vec<u8>);

/// The extra workers of one bond.
pub struct Pool {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    /// One eventfd per worker: written to make it look at a new plan (or stop).
    wakes: Vec<Arc<OwnedFd>>,
    /// Written by a worker that queued a frame for the core; polled by the event loop.
    core_wake: Arc<OwnedFd>,
    to_core: Receiver<CoreFrame>,
    published: Plan,
}

fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: plain syscall; we own the returned fd.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn kick(fd: &OwnedFd) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a live u64; an eventfd never blocks with EFD_NONBLOCK.
    unsafe { libc::write(fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
}

fn drain_eventfd(fd: RawFd) {
    let mut v: u64 = 0;
    // SAFETY: reads 8 bytes into a live u64.
    unsafe { libc::read(fd, (&mut v as *mut u64).cast(), 8) };
}

impl Pool {
    /// Starts `extra` workers for the bond whose queue 0 is `tap` (a multi-queue TAP), each
    /// with a queue of its own, detached until the first plan with a fast path arrives.
    pub fn start(bond: &str, tap: &Tap, extra: usize, busy_poll: Duration) -> io::Result<Pool> {
        let shared = Arc::new(Shared {
            generation: AtomicU64::new(0),
            plan: Mutex::new(Arc::new(Plan::default())),
            stop: AtomicBool::new(false),
            taken: (0..extra).map(|_| AtomicU64::new(0)).collect(),
            totals: (0..extra).map(|_| BondTotals::default()).collect(),
        });
        let core_wake = Arc::new(eventfd()?);
        let (tx, to_core) = std::sync::mpsc::channel();
        let mut pool = Pool { shared, threads: Vec::new(), wakes: Vec::new(), core_wake, to_core, published: Plan::default() };
        for k in 0..extra {
            let queue = tap.new_queue()?;
            queue.set_queue_attached(false)?;
            let wake = Arc::new(eventfd()?);
            let w = Worker {
                k,
                bond: bond.to_string(),
                shared: pool.shared.clone(),
                wake: wake.clone(),
                core_wake: pool.core_wake.clone(),
                to_core: tx.clone(),
                tap: queue,
                attached: false,
                plan: Arc::new(Plan::default()),
                generation: 0,
                socks: Vec::new(),
                state: FastPathState::new(super::bond_rt::random_seed() ^ (k as u32 + 1).wrapping_mul(0x9e37_79b9)),
                batch: FrameBatch::new(BATCH),
                busy_poll,
            };
            let handle = std::thread::Builder::new().name(format!("rbond-{bond}-w{}", k + 1)).spawn(move || w.run())?;
            pool.threads.push(handle);
            pool.wakes.push(wake);
        }
        Ok(pool)
    }

    /// Workers besides the event loop.
    pub fn extra(&self) -> usize {
        self.threads.len()
    }

    /// The fd the event loop polls for frames the workers hand to the core.
    pub fn core_fd(&self) -> RawFd {
        self.core_wake.as_raw_fd()
    }

    /// Frames the workers queued for the core since the last call.
    pub fn take_core_frames(&self) -> impl Iterator<Item = CoreFrame> + '_ {
        drain_eventfd(self.core_wake.as_raw_fd());
        self.to_core.try_iter()
    }

    /// What each worker moved: (frames from the bond device, of those dropped, frames
    /// delivered to it).
    pub fn totals(&self) -> impl Iterator<Item = (u64, u64, u64)> + '_ {
        self.shared.totals.iter().map(|t| {
            let r = |a: &AtomicU64| a.load(Ordering::Relaxed);
            (r(&t.tx_frames), r(&t.tx_dropped), r(&t.rx_frames))
        })
    }

    /// Hands the workers `plan` if it differs from the last one. With `wait`, returns once
    /// every worker has acted on it (at most 1 s): a slave about to be restored must no
    /// longer be used by anyone (the kernel's synchronize_rcu in __bond_release_one).
    pub fn publish(&mut self, plan: Plan, wait: bool) {
        if plan.same_as(&self.published) {
            return;
        }
        self.published = plan.clone();
        let g = {
            let mut cur = self.shared.plan.lock().unwrap_or_else(|e| e.into_inner());
            *cur = Arc::new(plan);
            // Under the lock, so a worker that sees the new number finds the new plan.
            self.shared.generation.fetch_add(1, Ordering::AcqRel) + 1
        };
        for w in &self.wakes {
            kick(w);
        }
        if wait {
            let until = Instant::now() + Duration::from_secs(1);
            while Instant::now() < until && self.shared.taken.iter().any(|t| t.load(Ordering::Acquire) < g) {
                std::thread::sleep(Duration::from_micros(100));
            }
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for w in &self.wakes {
            kick(w);
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// A worker's socket on one slave.
struct WorkerSock {
    id: SlaveId,
    sock: PacketSocket,
    ctr: Arc<SharedCounters>,
}

struct Worker {
    k: usize,
    bond: String,
    shared: Arc<Shared>,
    wake: Arc<OwnedFd>,
    core_wake: Arc<OwnedFd>,
    to_core: Sender<CoreFrame>,
    tap: Tap,
    attached: bool,
    plan: Arc<Plan>,
    generation: u64,
    socks: Vec<WorkerSock>,
    state: FastPathState,
    batch: FrameBatch,
    busy_poll: Duration,
}

impl Worker {
    fn run(mut self) {
        // A worker that panics would leave its share of the flows unserved while the bond
        // looks healthy: end the process instead, so a supervisor restarts the daemon, which
        // re-adopts the bond from its state file.
        let bond = self.bond.clone();
        let k = self.k;
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run_loop())).is_err() {
            super::log(&format!("rbond: {bond}: data-path worker {} panicked; aborting", k + 1));
            std::process::abort();
        }
    }

    fn run_loop(&mut self) {
        let mut fds: Vec<libc::pollfd> = Vec::with_capacity(8);
        let mut busy_until: Option<Instant> = None;
        while !self.shared.stop.load(Ordering::Acquire) {
            let g = self.shared.generation.load(Ordering::Acquire);
            if g != self.generation {
                let plan = self.shared.plan.lock().unwrap_or_else(|e| e.into_inner()).clone();
                self.take_plan(plan);
                self.generation = g;
                self.shared.taken[self.k].store(g, Ordering::Release);
            }
            fds.clear();
            fds.push(libc::pollfd { fd: self.wake.as_raw_fd(), events: libc::POLLIN, revents: 0 });
            let tap_fd = if self.attached { self.tap.fd() } else { -1 };
            fds.push(libc::pollfd { fd: tap_fd, events: libc::POLLIN, revents: 0 });
            for s in &self.socks {
                fds.push(libc::pollfd { fd: s.sock.fd(), events: libc::POLLIN, revents: 0 });
            }
            // Idle, a worker sleeps until a frame comes or the event loop wakes it (a new
            // plan, stop): no timer, so no CPU at all.
            let timeout = if busy_until.is_some_and(|t| Instant::now() < t) { 0 } else { -1 };
            // SAFETY: fds is a valid array of pollfd for its length.
            unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as _, timeout) };
            if fds[0].revents & libc::POLLIN != 0 {
                drain_eventfd(self.wake.as_raw_fd());
            }
            if !self.busy_poll.is_zero() && fds[1..].iter().any(|f| f.revents & libc::POLLIN != 0) {
                busy_until = Some(Instant::now() + self.busy_poll);
            }
            if fds[1].revents & libc::POLLIN != 0 {
                self.pump_tx();
            }
            for j in 0..self.socks.len() {
                if fds[2 + j].revents & (libc::POLLIN | libc::POLLERR) != 0 {
                    self.pump_rx(j);
                }
            }
        }
    }

    /// Acts on a new plan: sockets for new slaves, none for slaves gone, and the TAP queue
    /// attached exactly while there is a fast path.
    fn take_plan(&mut self, plan: Arc<Plan>) {
        if plan.fast.is_none() {
            if self.attached {
                let _ = self.tap.set_queue_attached(false);
                self.attached = false;
            }
            self.socks.clear();
        } else {
            self.socks.retain(|s| plan.slaves.iter().any(|p| p.id == s.id));
            for p in &plan.slaves {
                if self.socks.iter().any(|s| s.id == p.id) {
                    continue;
                }
                match PacketSocket::bind_fanout(p.ifindex, p.fanout) {
                    Ok(sock) => self.socks.push(WorkerSock { id: p.id, sock, ctr: p.ctr.clone() }),
                    Err(e) => super::log(&format!(
                        "rbond: {}: worker {}: no socket on ifindex {} ({e}); the others carry its frames",
                        self.bond,
                        self.k + 1,
                        p.ifindex
                    )),
                }
            }
            // In the plan's slave order: a frame's destinations are positions in it.
            self.socks.sort_by_key(|s| plan.slaves.iter().position(|p| p.id == s.id));
            if !self.attached {
                self.attached = self.tap.set_queue_attached(true).is_ok();
            }
        }
        self.plan = plan;
    }

    /// Frames from this worker's TAP queue: decided with the fast path, then one sendmmsg
    /// per slave, as the event loop's `BondRt::pump_tx` does with the core.
    fn pump_tx(&mut self) {
        let Some(fast) = self.plan.fast.as_ref() else { return };
        let mut dest = [0u64; BATCH];
        let (socks, state) = (&self.socks, &mut self.state);
        let n = pump::read_and_decide(&self.tap, &mut self.batch, &mut dest, |f| {
            pump::mask(fast.tx(state, f), || socks.iter().map(|s| s.id))
        });
        if n == 0 {
            return;
        }
        let unsent = dest[..n].iter().filter(|&&d| d == 0).count() as u64;
        let lost = pump::send_by_mask(&self.batch, &dest[..n], socks.iter().map(|s| &s.sock), |j, rep, bytes| {
            socks[j].ctr.add(&SlaveCounters {
                tx_packets: rep.sent as u64,
                tx_bytes: bytes,
                tx_dropped: rep.dropped as u64,
                ..Default::default()
            })
        });
        let t = &self.shared.totals[self.k];
        t.tx_frames.fetch_add(n as u64, Ordering::Relaxed);
        if unsent + lost != 0 {
            t.tx_dropped.fetch_add(unsent + lost, Ordering::Relaxed);
        }
    }

    /// Frames this worker's share of slave `j`'s flows brought: delivered, dropped, or handed
    /// to the core.
    fn pump_rx(&mut self, j: usize) {
        let Some(fast) = self.plan.fast.as_ref() else { return };
        let s = &self.socks[j];
        let Ok(n) = s.sock.recv_batch(&mut self.batch) else { return };
        let mut c = SlaveCounters::default();
        let mut to_core = false;
        for k in 0..n {
            let f = self.batch.frame(k);
            if f.len() <= VNET_HDR_LEN {
                continue;
            }
            c.rx_packets += 1;
            c.rx_bytes += (f.len() - VNET_HDR_LEN) as u64;
            match fast.rx(s.id, &f[VNET_HDR_LEN..]) {
                RxVerdict::Deliver => {
                    c.rx_delivered += 1;
                    if self.tap.write(f).is_err() {
                        c.rx_dropped += 1;
                    }
                }
                RxVerdict::Drop => c.rx_filtered += 1,
                RxVerdict::ToCore => {
                    // Rare (LACPDUs, markers): the copy is the price of not locking the core.
                    let _ = self.to_core.send((s.id, f.to_vec()));
                    to_core = true;
                }
            }
        }
        s.ctr.add(&c);
        if c.rx_delivered != 0 {
            self.shared.totals[self.k].rx_frames.fetch_add(c.rx_delivered, Ordering::Relaxed);
        }
        if to_core {
            kick(&self.core_wake);
        }
    }
}

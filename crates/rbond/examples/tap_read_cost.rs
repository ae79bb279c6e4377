//! Issue 17's question for the transmit side: the TAP has no batched read, so the daemon pays
//! one read(2) per frame the host sends into bond0. Does io_uring (one io_uring_enter for a
//! batch of reads on the non-blocking TAP fd: each read runs inline, in submission order, and
//! the ones past the queued frames complete with EAGAIN) read frames cheaper?
//!
//! In a namespace of its own, a producer thread sends small UDP datagrams through a TAP (a
//! permanent neighbour entry makes each one a frame on the TAP queue) as fast as it can; the
//! consumer thread reads them with `read` (one syscall per frame, rbond's way) or `uring`
//! (batches of BATCH reads per io_uring_enter), alternating, ROUNDS × SECS s each. Printed per
//! method: frames read per second and the consumer thread's CPU time per frame
//! (RUSAGE_THREAD), median over rounds.
//!
//! Run as root: `cargo run --release -p rbond --example tap_read_cost [SECS] [ROUNDS]`.
//! Its namespace (from `rbond::lab::netns`) is removed at the end, on failure too.

use std::os::fd::AsRawFd;

use io_uring::{opcode, types, IoUring};
use rbond::lab::netns::{unique_id, Netns};
use rbond::sys::tap::Tap;

const BATCH: usize = 64;
const BUF: usize = 2048;
/// Frames queued per round (the TAP's queue is made longer than this).
const BURST: usize = 8000;

/// CPU time of the calling thread, in ns.
fn thread_cpu_ns() -> u64 {
    // SAFETY: timespec is plain old data, filled by the kernel.
    let mut t: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// Drains the queued frames with one read(2) each; returns (frames, CPU ns).
fn drain_read(tap: &Tap, buf: &mut [u8]) -> (u64, u64) {
    let c0 = thread_cpu_ns();
    let mut frames = 0u64;
    while tap.read(buf).is_ok() {
        frames += 1;
    }
    (frames, thread_cpu_ns() - c0)
}

/// Drains the queued frames with batches of BATCH reads per io_uring_enter.
fn drain_uring(tap: &Tap, ring: &mut IoUring, bufs: &mut [u8]) -> (u64, u64) {
    let c0 = thread_cpu_ns();
    let mut frames = 0u64;
    loop {
        {
            let mut sq = ring.submission();
            for i in 0..BATCH {
                // RWF_NOWAIT: a read with nothing queued completes with EAGAIN at once
                // (without it io_uring parks the read until a frame comes, out of order).
                let e = opcode::Read::new(types::Fd(tap.fd()), bufs[i * BUF..].as_mut_ptr(), BUF as u32)
                    .rw_flags(libc::RWF_NOWAIT)
                    .build()
                    .user_data(i as u64);
                // SAFETY: the buffer outlives the request (we wait for every completion below).
                unsafe { sq.push(&e).expect("submission queue full") };
            }
        }
        ring.submit_and_wait(BATCH).expect("io_uring_enter");
        let got = ring.completion().filter(|c| c.result() > 0).count();
        frames += got as u64;
        if got < BATCH {
            break;
        }
    }
    (frames, thread_cpu_ns() - c0)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// The measurement, on a thread inside the namespace: CPU ns per frame per round, per method.
fn measure(rounds: usize) -> anyhow::Result<Vec<Vec<f64>>> {
    let tap = Tap::create("rbtx0")?;
    // This thread is in the namespace, and so is every command it starts.
    for args in [
        &["link", "set", "lo", "up"][..],
        &["link", "set", "rbtx0", "txqueuelen", "10000", "up"],
        &["addr", "add", "198.18.0.1/24", "dev", "rbtx0"],
        &["neigh", "add", "198.18.0.2", "lladdr", "02:00:00:00:00:02", "dev", "rbtx0", "nud", "permanent"],
    ] {
        let st = std::process::Command::new("ip").args(args).status()?;
        anyhow::ensure!(st.success(), "ip {args:?} failed");
    }
    let sock = std::net::UdpSocket::bind("198.18.0.1:0")?;
    sock.connect("198.18.0.2:9")?;
    sock.set_nonblocking(true)?;
    let big: libc::c_int = 64 << 20;
    // SAFETY: setsockopt with a live int of the stated size.
    unsafe {
        libc::setsockopt(sock.as_raw_fd(), libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, (&big as *const libc::c_int).cast(), 4)
    };
    let payload = [0u8; 64];
    let mut ring = IoUring::new(2 * BATCH as u32)?;
    let mut bufs = vec![0u8; BATCH * BUF];
    let mut cost = vec![Vec::new(), Vec::new()];
    for _ in 0..rounds {
        for (m, c) in cost.iter_mut().enumerate() {
            // Queue BURST frames on the TAP (nobody reads meanwhile), then drain them.
            for _ in 0..BURST {
                let _ = sock.send(&payload);
            }
            let (frames, ns) = if m == 0 { drain_read(&tap, &mut bufs[..BUF]) } else { drain_uring(&tap, &mut ring, &mut bufs) };
            anyhow::ensure!(frames >= BURST as u64 / 10, "only {frames} of {BURST} frames queued");
            c.push(ns as f64 / frames as f64);
        }
    }
    Ok(cost)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let rounds: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20);
    // Removed on drop, also when the measurement fails.
    let ns = Netns::new(&unique_id(), "trc")?;
    let cost = ns.spawn_thread(move || measure(rounds)).join().map_err(|_| anyhow::anyhow!("the measuring thread panicked"))??;
    drop(ns);
    println!("TAP reads of 106-byte frames, {BURST} queued then drained, {rounds} rounds, CPU ns per frame:");
    for (m, name) in ["read(2) per frame", "io_uring, 64 reads per enter"].iter().enumerate() {
        let mut v = cost[m].clone();
        println!("{:<30} median {:>6.0}  best {:>6.0}", name, median(&mut v), v[0]);
    }
    Ok(())
}

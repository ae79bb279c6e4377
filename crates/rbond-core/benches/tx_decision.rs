//! Per-frame cost of the transmit decision of balance-xor / 802.3ad: `xmit_hash()` over a
//! 1500-byte IPv4/TCP frame, then `usable[hash % n]` with n = 2. Budget: 50 ns per frame.
//!
//! The same run measures a plain 1500-byte copy of that frame as a baseline, so results from
//! the (noisy, shared) build machine can be read as a ratio rather than absolute numbers.
//!
//! Run: `cargo bench -p rbond-core --bench tx_decision -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rbond_core::hash::{slave_index, xmit_hash};
use rbond_core::bond::TxDecision;
use rbond_core::types::XmitHashPolicy;

const FRAME_LEN: usize = 1500;

/// A 1500-byte Ethernet frame: IPv4 198.18.5.10:40000 → 198.19.200.7:443, TCP, payload.
fn tcp_frame() -> Vec<u8> {
    let mut f = vec![0x52, 0x54, 0x00, 0xab, 0xcd, 0xef, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x00];
    let ip_len = (FRAME_LEN - 14) as u16;
    f.extend_from_slice(&[0x45, 0x00]);
    f.extend_from_slice(&ip_len.to_be_bytes());
    f.extend_from_slice(&[0x12, 0x34, 0x40, 0x00, 64, 6, 0, 0, 198, 18, 5, 10, 198, 19, 200, 7]);
    f.extend_from_slice(&[
        0x9c, 0x40, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0,
    ]);
    f.resize(FRAME_LEN, 0xa5);
    f
}

/// One transmit decision: hash, then the usable slave at `hash % n`.
#[inline(never)]
fn decide(policy: XmitHashPolicy, frame: &[u8], usable: &[u32]) -> Option<u32> {
    let i = slave_index(xmit_hash(policy, frame), usable.len())?;
    Some(usable[i])
}

fn tx_decision(c: &mut Criterion) {
    let frame = tcp_frame();
    // Slave ids of the usable array, n = 2.
    let usable: [u32; 2] = [3, 7];

    let mut g = c.benchmark_group("tx_decision");
    g.throughput(Throughput::Elements(1));
    for (name, policy) in [
        ("layer3+4", XmitHashPolicy::Layer34),
        ("layer2", XmitHashPolicy::Layer2),
        ("layer2+3", XmitHashPolicy::Layer23),
        ("encap3+4", XmitHashPolicy::Encap34),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| decide(black_box(policy), black_box(&frame[..]), black_box(&usable[..])))
        });
    }

    // The whole decision as the daemon calls it: `Bond::tx` of a balance-xor bond
    // (layer3+4) with two slaves up (mode dispatch, hash, pick; the frame is not changed in
    // this mode).
    let mut bond = xor_bond();
    let mut f = frame.clone();
    g.bench_function("bond_tx_xor_layer3+4", |b| {
        b.iter(|| match bond.tx(black_box(&mut f[..])) {
            TxDecision::Slave(id) => id.0,
            _ => u32::MAX,
        })
    });

    // Same-run baseline: copy the same 1500 bytes once.
    let mut dst = vec![0u8; FRAME_LEN];
    g.bench_function("memcpy_1500", |b| {
        b.iter(|| {
            dst.copy_from_slice(black_box(&frame[..]));
            black_box(&mut dst);
        })
    });
    g.finish();
}

fn xor_bond() -> rbond_core::bond::Bond {
    use rbond_core::{Duplex, LinkObservation, MacAddr};
    let mut bond = rbond_core::bond::Bond::new("bond0", MacAddr([2, 0, 0, 0, 0, 1]), "bench");
    for (k, v) in [("mode", "balance-xor"), ("miimon", "100"), ("xmit_hash_policy", "layer3+4")] {
        bond.set_option(k, v, 0).expect("valid option");
    }
    let obs = LinkObservation { admin_up: true, carrier: true, speed_mbps: Some(10000), duplex: Duplex::Full };
    for (i, n) in ["eth0", "eth1"].iter().enumerate() {
        bond.enslave(rbond_core::SlaveId(i as u32 + 1), n, MacAddr([2, 0, 0, 0, 1, i as u8]), obs, 0).expect("enslave");
    }
    bond.set_admin_up(true, 0);
    while bond.poll_action().is_some() {}
    assert_eq!(bond.tx_slaves().len(), 2);
    bond
}

criterion_group!(benches, tx_decision);
criterion_main!(benches);

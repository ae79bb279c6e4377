//! Frame views and hashing: every byte string is a possible frame on a slave or the TAP.
//! parse_eth / parse_arp / parse_na and the other views must never panic or read past the
//! buffer, and xmit_hash must give a value for every policy (the kernel's
//! bond_xmit_hash accepts any frame, falling back to the L2 hash).
#![no_main]
use libfuzzer_sys::fuzz_target;
use rbond_core::frame;
use rbond_core::hash::{slave_index, xmit_hash};
use rbond_core::XmitHashPolicy;

fuzz_target!(|data: &[u8]| {
    let meta = frame::parse_eth(data);
    let arp = frame::parse_arp(data);
    let na = frame::parse_na(data);
    let _ = (frame::is_lacp(data), frame::is_igmp(data), frame::is_link_local_dst(data), frame::is_ipv6_nd_ns_na(data));
    let _ = (frame::view::ipv4_addrs(data), frame::view::ipv6_addrs(data));
    // A view exists only for a frame that has at least an Ethernet header.
    if meta.is_some() || arp.is_some() || na.is_some() {
        assert!(data.len() >= 14);
    }
    for p in XmitHashPolicy::ALL {
        let h = xmit_hash(p, data);
        // Same frame, same hash: the tx decision must be a pure function of the frame.
        assert_eq!(h, xmit_hash(p, data));
        for n in [1usize, 2, 3, 7] {
            assert!(slave_index(h, n).is_some_and(|i| i < n));
        }
        assert_eq!(slave_index(h, 0), None);
    }
});

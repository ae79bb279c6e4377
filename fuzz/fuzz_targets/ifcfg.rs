//! The ifcfg reader end to end from texts: ifcfg-bond0, ifcfg-eth0 and a modprobe file,
//! separated in the input by NUL bytes. Shell quoting, BONDING_OPTS, addresses, MASTER/SLAVE
//! and modprobe `options bonding` lines all go through the same code as `rbond check`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\0');
    let bond = parts.next().unwrap_or("").to_string();
    let eth0 = parts.next().unwrap_or("DEVICE=eth0\nMASTER=bond0\nSLAVE=yes\n").to_string();
    let modprobe = parts.next().unwrap_or("").to_string();
    let files = vec![(PathBuf::from("/fuzz/ifcfg-bond0"), bond), (PathBuf::from("/fuzz/ifcfg-eth0"), eth0)];
    if let Ok(cfg) = rbond_config::load_texts(&files, &[(PathBuf::from("/fuzz/bonding.conf"), modprobe)]) {
        // What `rbond check` prints must be computable for every accepted configuration.
        let _ = rbond_config::plan::report(&cfg);
    }
});

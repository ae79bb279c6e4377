//! systemd-networkd units: a .netdev and a .network text (NUL-separated in the input),
//! parsed and built into bonds as `rbond check --networkd-dir` does.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rbond_config::networkd;
use rbond_core::options::BondOptions;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(2, '\0');
    let netdev = parts.next().unwrap_or("");
    let network = parts.next().unwrap_or("[Match]\nName=eth0\n[Network]\nBond=bond0\n");
    let mut files = Vec::new();
    for (p, t) in [("/fuzz/10-bond0.netdev", netdev), ("/fuzz/30-eth0.network", network)] {
        match networkd::parse_unit(Path::new(p), t) {
            Ok(f) => files.push(f),
            Err(_) => return,
        }
    }
    let mut warnings = Vec::new();
    if let Ok(bonds) = networkd::build(&files, &BondOptions::default(), 16, &mut warnings) {
        for b in &bonds {
            let _ = rbond_config::plan(b);
        }
    }
});

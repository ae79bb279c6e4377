//! netplan YAML: one or two files (NUL-separated in the input), merged as netplan merges
//! them and built into bonds as `rbond check --netplan` does.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rbond_config::netplan;
use rbond_core::options::BondOptions;
use std::path::PathBuf;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let texts: Vec<(PathBuf, String)> =
        text.splitn(2, '\0').enumerate().map(|(i, t)| (PathBuf::from(format!("/fuzz/{i}0-net.yaml")), t.to_string())).collect();
    let Ok(root) = netplan::merge_texts(&texts) else { return };
    let mut warnings = Vec::new();
    if let Ok(bonds) = netplan::build(root.as_ref(), &BondOptions::default(), 16, &mut warnings) {
        for b in &bonds {
            let _ = rbond_config::plan(b);
        }
    }
});

//! BONDING_OPTS (ifcfg) words, applied with sysfs semantics on the module defaults.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rbond_core::options::BondOptions;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = rbond_config::bonding_opts::apply(&BondOptions::default(), &text);
});

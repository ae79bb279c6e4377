//! The control socket's request parser as the daemon runs it on a received line: the 64 KiB
//! limit, UTF-8, then the JSON request. A request that parses must survive a round trip.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rbond::ctl::{parse_request, Request, MAX_REQUEST};

fuzz_target!(|data: &[u8]| {
    match parse_request(data) {
        Ok(req) => {
            assert!(data.len() <= MAX_REQUEST);
            let again: Request = serde_json_roundtrip(&req);
            assert_eq!(again, req);
        }
        Err(e) => {
            if data.len() > MAX_REQUEST {
                assert_eq!(e, "request too long (limit 65536 bytes)");
            }
        }
    }
});

fn serde_json_roundtrip(req: &Request) -> Request {
    let line = rbond::ctl::encode_request(req);
    parse_request(line.as_bytes()).expect("an encoded request parses")
}

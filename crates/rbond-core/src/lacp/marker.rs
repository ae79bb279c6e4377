//! Marker Responder (IEEE 802.1AX-2014 6.5.4.2; kernel `ad_marker_info_received` and
//! `ad_marker_response_received`, IEEE 802.1AX-2020 6.4.2, 6.5.3). Linux never originates a Marker; it echoes
//! Marker Information with only the TLV type changed, on the same port, at once.

use super::pdu::{self, MarkerKind};
use super::{Lacp, LacpOutput};

impl Lacp {
    /// Handle a Marker PDU received on port `i`.
    pub(super) fn marker_rx(&mut self, i: usize, pdu_bytes: &[u8]) {
        let p = &mut self.ports[i];
        match pdu::check_marker(pdu_bytes) {
            Err(_) => p.counters.illegal_rx += 1,
            Ok(MarkerKind::Information) => {
                p.counters.marker_rx += 1;
                if !self.up || !p.link.up {
                    return;
                }
                let resp = pdu::marker_response(pdu_bytes);
                p.counters.marker_resp_tx += 1;
                let frame = pdu::frame(p.perm_mac, &resp);
                let port = p.id;
                self.out.push_back(LacpOutput::Send { port, frame });
            }
            // "Response is not supported": counted and ignored.
            Ok(MarkerKind::Response) => p.counters.marker_resp_rx += 1,
            Ok(MarkerKind::Other(_)) => p.counters.marker_unknown_rx += 1,
        }
    }
}

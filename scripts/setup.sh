#!/usr/bin/env bash
# Installs what rbond's lab and tests need on a fresh Debian 12 machine (as root):
# iproute2 (ip netns, veth, bridge), nftables (slave isolation), iputils-ping and tcpdump
# (tests), ethtool (for people who want to compare speeds), and for the 802.3ad tests:
# iperf3 (traffic over the aggregate), tshark (decodes every LACPDU rbond sends) and
# openvswitch-switch (an independent LACP partner; its service is not started, the tests run
# their own ovs-vswitchd in a namespace). Idempotent and quiet when done.
set -euo pipefail
need=()
command -v ip >/dev/null || need+=(iproute2)
command -v nft >/dev/null || need+=(nftables)
command -v ping >/dev/null || need+=(iputils-ping)
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v ethtool >/dev/null || need+=(ethtool)
command -v iperf3 >/dev/null || need+=(iperf3)
command -v tshark >/dev/null || need+=(tshark)
command -v ovs-vswitchd >/dev/null || need+=(openvswitch-switch)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  apt-get update -qq
  # tshark's package asks whether non-root users may capture; answer no, without a prompt.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ "$(id -u)" != 0 ]; then
  echo "setup: rbond needs root (network namespaces, TAP devices)" >&2
  exit 1
fi

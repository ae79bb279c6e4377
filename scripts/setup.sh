#!/usr/bin/env bash
# Installs what rbond's lab and tests need on a fresh Debian 12 machine (as root):
# iproute2 (ip netns, veth, bridge), nftables (slave isolation), iputils-ping and tcpdump
# (tests), ethtool (for people who want to compare speeds). Idempotent and quiet when done.
set -euo pipefail
need=()
command -v ip >/dev/null || need+=(iproute2)
command -v nft >/dev/null || need+=(nftables)
command -v ping >/dev/null || need+=(iputils-ping)
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v ethtool >/dev/null || need+=(ethtool)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ "$(id -u)" != 0 ]; then
  echo "setup: rbond needs root (network namespaces, TAP devices)" >&2
  exit 1
fi

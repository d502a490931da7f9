#!/usr/bin/env bash
# Debian packages the tests drive for real: nginx, supervisor, systemd (for test
# hosts), iproute2/util-linux (namespaces), chromium (the web view, driven headless
# by playwright-core), python3-prometheus-client (the reference parser for /metrics).
# With --bench, also what the benchmarks compare against: sshd and Ansible.
# Idempotent; needs root.
set -euo pipefail
pkgs=(nginx-light supervisor systemd iproute2 util-linux procps rpm openssl redis-server chromium python3-prometheus-client)
if [ "${1:-}" = "--bench" ]; then pkgs+=(openssh-server openssh-client ansible-core); fi
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-system-deps: missing ${missing[*]}; run as root to install them (tests needing them will skip and say why)" >&2
    exit 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d 101: the packages must not start their daemons on this machine.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  rm -f /usr/sbin/policy-rc.d
fi

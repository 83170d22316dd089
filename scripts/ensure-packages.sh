#!/usr/bin/env bash
# Installs the Debian packages metergate needs to build and test, when missing.
# usage: scripts/ensure-packages.sh [extra packages...]
set -euo pipefail
needed=(libsqlite3-dev libcurl4-openssl-dev libpq-dev libssl-dev python3 "$@")
missing=()
for package in "${needed[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}" >&2
    sudo_cmd=()
    [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
    # The test peers (Dovecot, Kannel, gammu-smsd, Prometheus) are started by the tests on
    # loopback ports of their own; keep their packages from starting system-wide daemons.
    guard=/usr/sbin/policy-rc.d
    if [[ ! -e $guard ]]; then
        printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee "$guard" >/dev/null
        "${sudo_cmd[@]}" chmod 755 "$guard"
        trap '"${sudo_cmd[@]}" rm -f "$guard"' EXIT
    fi
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

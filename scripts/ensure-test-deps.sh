#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real (PostgreSQL, OpenSSH, Chromium,
# cloud-init's schema checker), once; a machine that has them already pays nothing.
# Tests that need one of these start their own instance on a free loopback port.
set -euo pipefail

declare -A need=(
  [/usr/lib/postgresql]=postgresql
  [/usr/sbin/sshd]=openssh-server
  [/usr/bin/ssh]=openssh-client
  [/usr/bin/sftp]=openssh-client
  [/usr/bin/chromium]=chromium
  [/usr/bin/cloud-init]=cloud-init
  [/usr/sbin/ip]=iproute2
  [/usr/bin/vim.tiny]=vim-tiny
)
missing=()
for path in "${!need[@]}"; do
  [ -e "$path" ] || missing+=("${need[$path]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-test-deps: missing Debian packages: ${missing[*]}; run as root or install them: apt-get install ${missing[*]}" >&2
  exit 1
fi
mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "ensure-test-deps: installing ${pkgs[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Keep package post-install scripts from starting system services: tests start their own.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; created_policy=1; fi
trap '[ $created_policy -eq 1 ] && rm -f "$policy"' EXIT
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null

#!/usr/bin/env bash
# System packages the test suite needs (Debian): none yet beyond Node and python3 (numpy, scipy).
set -euo pipefail
need=()
[ ${#need[@]} -eq 0 ] && exit 0
if command -v apt-get >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

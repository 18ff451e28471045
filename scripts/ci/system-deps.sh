#!/usr/bin/env bash
# Debian packages the test suite needs; `npm test` runs this first (package.json "pretest"):
#
#   chromium                  the report is opened headless and screenshotted
#                             (test/report/chromium.test.ts; SMFT_CHROMIUM=<binary> uses another)
#   fonts-dejavu-core         a font for the text in PNG figures
#   mesa-vulkan-drivers ≥ 23  Mesa's lavapipe, a software Vulkan driver, with the Vulkan loader
#   + libvulkan1              (libvulkan1): the WebGPU (Dawn) tests run on it. Debian 12 ships
#                             Mesa 22.3, so scripts/bundle/install-recipe.sh --software-vulkan
#                             takes it from bookworm-backports there.
#
#   scripts/ci/system-deps.sh [--dry-run]
#
# Everything present: exits at once and silently (one dpkg-query). Something missing: as root,
# installs it with apt-get (one line says what); otherwise one line names the command to run, and
# the exit status is 1. Without dpkg-query (not Debian/Ubuntu) one line says what the tests need.
# --dry-run: print what would be installed, install nothing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

dry=0
for a in "$@"; do
  case "$a" in
    --dry-run) dry=1 ;;
    *) echo "system-deps: unknown option $a" >&2; exit 2 ;;
  esac
done

MESA_MIN=23
if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "system-deps: not a Debian system; the tests need Chromium (or SMFT_CHROMIUM), the DejaVu fonts and a Vulkan driver that Dawn accepts (Mesa ≥ $MESA_MIN lavapipe, or a GPU)" >&2
  exit 0
fi

# "<package> <status> <version>" for the installed ones ("ii" = installed).
installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev} ${Version}\n' \
  chromium fonts-dejavu-core mesa-vulkan-drivers libvulkan1 2>/dev/null | awk '$2 == "ii" { print $1, $3 }') || true
version_of() { awk -v p="$1" '$1 == p { print $2 }' <<<"$installed"; }

apt_pkgs=() vulkan=0
if [ -z "${SMFT_CHROMIUM:-}" ] && [ -z "$(version_of chromium)" ]; then apt_pkgs+=(chromium); fi
[ -n "$(version_of fonts-dejavu-core)" ] || apt_pkgs+=(fonts-dejavu-core)
mesa=$(version_of mesa-vulkan-drivers)
if [ -z "$(version_of libvulkan1)" ] || [ -z "$mesa" ] || ! dpkg --compare-versions "$mesa" ge "$MESA_MIN"; then vulkan=1; fi

[ ${#apt_pkgs[@]} -eq 0 ] && [ $vulkan = 0 ] && exit 0

list=""
for p in "${apt_pkgs[@]}"; do list+="${list:+, }$p"; done
[ $vulkan = 1 ] && list+="${list:+, }mesa-vulkan-drivers ≥ $MESA_MIN${mesa:+ (have $mesa)} with libvulkan1"

if [ $dry = 1 ]; then
  echo "system-deps: would install $list"
  [ ${#apt_pkgs[@]} -gt 0 ] && echo "apt-get install -y ${apt_pkgs[*]}"
  [ $vulkan = 1 ] && echo "scripts/bundle/install-recipe.sh --software-vulkan"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: the tests need $list; install as root with: sudo bash scripts/ci/system-deps.sh" >&2
  exit 1
fi

echo "system-deps: installing $list (Debian packages the tests need)" >&2
export DEBIAN_FRONTEND=noninteractive
if [ ${#apt_pkgs[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${apt_pkgs[@]}" >/dev/null
fi
if [ $vulkan = 1 ]; then
  scripts/bundle/install-recipe.sh --software-vulkan >/dev/null
fi

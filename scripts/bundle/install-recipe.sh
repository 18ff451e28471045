#!/usr/bin/env bash
# The ONE install recipe for smft with its GPU backend, shared by the Dockerfile and
# scripts/bundle/build.sh (and usable by hand on a GPU host):
#
#   scripts/bundle/install-recipe.sh [--apt] [--software-vulkan] [--npm] [--ort-cuda] [--tfjs-node-gpu] [--build]
#
#   --apt              Vulkan loader (libvulkan1) through apt-get; the GPU's ICD comes from its
#                      driver (NVIDIA: the container toolkit mounts nvidia_icd.json and the
#                      driver's libraries when NVIDIA_DRIVER_CAPABILITIES includes 'graphics').
#   --software-vulkan  also Mesa's lavapipe (a CPU Vulkan driver, for CI / hosts without a GPU).
#                      Dawn needs Mesa ≥ 23; Debian 12 ships 22.3, so it comes from
#                      bookworm-backports there. Ubuntu ≥ 24.04 ships a new enough Mesa.
#   --npm              npm ci (optional dependencies included: webgpu, tfjs-backend-webgpu). The
#                      project's .npmrc skips onnxruntime-node's CUDA download (a host other than
#                      the npm registry): its CPU and WebGPU builds ship in the npm package.
#   --ort-cuda         after npm ci: onnxruntime-node's CUDA 12 execution provider files (needs
#                      network beyond the npm registry, and CUDA 12 + cuDNN 9 at run time). smft
#                      itself runs ONNX Runtime on the CPU or WebGPU; these are for your own code.
#   --tfjs-node-gpu    add @tensorflow/tfjs-node-gpu (downloads libtensorflow built for CUDA 11.2
#                      + cuDNN 8 at install time: only useful where those libraries exist).
#   --build            npm run build (tsc → dist/, which bin/smft.js prefers over tsx).
#
# No flag: --npm --build. Run from anywhere; it works in the repository root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

apt=0 soft=0 npm_=0 ortcuda=0 tfgpu=0 build=0
[ $# -eq 0 ] && set -- --npm --build
for a in "$@"; do
  case "$a" in
    --apt) apt=1 ;;
    --software-vulkan) apt=1; soft=1 ;;
    --npm) npm_=1 ;;
    --ort-cuda) ortcuda=1 ;;
    --tfjs-node-gpu) tfgpu=1 ;;
    --build) build=1 ;;
    *) echo "install-recipe: unknown option $a" >&2; exit 2 ;;
  esac
done

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if [ $apt = 1 ]; then
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  # libglvnd0: libGLdispatch, which the NVIDIA driver's Vulkan library (libGLX_nvidia) links.
  as_root apt-get install -y --no-install-recommends libvulkan1 libglvnd0 libegl1
  if [ $soft = 1 ]; then
    # shellcheck disable=SC1091
    . /etc/os-release
    if [ "${ID:-}" = debian ] && [ "${VERSION_CODENAME:-}" = bookworm ]; then
      if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        echo 'deb http://deb.debian.org/debian bookworm-backports main' | as_root tee /etc/apt/sources.list.d/bookworm-backports.list >/dev/null
        as_root apt-get update -qq
      fi
      as_root apt-get install -y --no-install-recommends -t bookworm-backports mesa-vulkan-drivers
    else
      as_root apt-get install -y --no-install-recommends mesa-vulkan-drivers
    fi
  fi
fi

if [ $npm_ = 1 ]; then
  npm ci --include=optional --no-audit --no-fund
fi

if [ $ortcuda = 1 ]; then
  # The package's own installer, run directly: it works whatever npm does with dependency scripts.
  ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js
fi

if [ $tfgpu = 1 ]; then
  # Not in package.json: it needs network at install time and CUDA 11.2 at run time.
  npm install --no-save --no-audit --no-fund @tensorflow/tfjs-node-gpu@4.22.0
fi

if [ $build = 1 ]; then
  npm run build
fi

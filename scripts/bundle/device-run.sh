#!/usr/bin/env bash
# Run smft's GPU checks and benchmarks from the bundle on a GPU machine that has no Node and no
# network (the lent H100/H200 of this workplace, or any Linux GPU host):
#
#   bash scripts/bundle/device-run.sh [OUT_DIR]
#
# Expects, relative to the repository root:
#   bundle/smft-linux-x64.tar             from scripts/bundle/build.sh
#   bundle/eval_en_1572_with_predictions.csv   optional: the paper's English file
#   .gl/*.deb                             optional: Vulkan loader + glvnd packages to unpack (docs/gpu.md)
# Writes logs and JSON results to OUT_DIR (default: $OUT, else ./bundle/device-out).
# SMFT_DEVICE_QUICK=1: tiny sizes, to smoke-test the script itself on any machine.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-${OUT:-$root/bundle/device-out}}"
mkdir -p "$out"
log() { echo "== $*" | tee -a "$out/device.log"; }

if ls "$root"/.gl/*.deb >/dev/null 2>&1; then
  for f in "$root"/.gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
  for f in /etc/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$f" ]; then export VK_DRIVER_FILES="$f"; break; fi
  done
fi
log "host: $(uname -m), node on PATH: $(command -v node || echo none), VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}"
nvidia-smi -L 2>&1 | tee -a "$out/device.log" || true
ldconfig -p | grep -E 'libvulkan|libGLX_nvidia|libGLdispatch' | tee -a "$out/device.log" || true

b=/tmp/smft-bundle
rm -rf "$b" && mkdir -p "$b" && tar -C "$b" -xf "$root/bundle/smft-linux-x64.tar"
cd "$b/smft" || exit 1
./smft --version 2>&1 | tee -a "$out/device.log"   # also unpacks bin/node and dawn.node
export SMFT_LOG_LEVEL="${SMFT_LOG_LEVEL:-warn}"

log "WebGPU kernel tests on the real adapter (software adapters refused)"
SMFT_WEBGPU_ALLOW_SOFTWARE=0 ./bin/node --test --test-concurrency=1 lib/tests/ 2>&1 | tee "$out/tests.log" | grep -E '^# (pass|fail)|^not ok' | tee -a "$out/device.log"

sizes=1572,10000,39707 boot=200 boot_long=10000 cpu_long=1000 lmargs=()
if [ "${SMFT_DEVICE_QUICK:-0}" = 1 ]; then sizes=300 boot=2 boot_long=3 cpu_long=2 lmargs=(--layers 1 --batch 2 --tokens 16 --suffix 4 --reps 1); fi
paper=""
[ -f "$root/bundle/eval_en_1572_with_predictions.csv" ] && paper="--paper $root/bundle/eval_en_1572_with_predictions.csv"
log "bench: distances 1572/10000/39707, bootstrap 200 (+ paper analysis)"
# shellcheck disable=SC2086
./bin/node lib/bench-gpu.js --sizes "$sizes" --bootstrap "$boot" $paper --json "$out/bench-200.json" 2>&1 | grep -v '^Warning' | tee -a "$out/device.log"
log "bench: 10 000-iteration bootstrap (CPU measured on 1000 and extrapolated)"
./bin/node lib/bench-gpu.js --sizes 1572 --bootstrap "$boot_long" --cpu-iters "$cpu_long" --json "$out/bench-10000.json" 2>&1 | grep -v '^Warning' | tee -a "$out/device.log"
if [ -n "$paper" ]; then
  log "whole paper analysis through the CLI (CPU evaluator), 200 bootstrap"
  TIMEFORMAT='smft evaluate wall %R s (user %U s, sys %S s)'
  { time ./smft evaluate --predictions "${paper#--paper }" --bootstrap "$boot" --out /tmp/smft-paper-en >"$out/paper-en.log" 2>&1; } 2>&1 | tee -a "$out/device.log"
fi
if [ -f lib/bench-lm.js ]; then
  log "bench: LM forward on ONNX Runtime WebGPU, TF.js webgpu, ONNX Runtime CPU, wasm (random Qwen2.5-0.5B shape)"
  timeout "${SMFT_LM_TIMEOUT:-300}" ./bin/node lib/bench-lm.js --backends onnx-webgpu,webgpu,onnx,wasm "${lmargs[@]}" 2>&1 | grep -v '^Warning' | tee -a "$out/device.log"
fi
if [ -f lib/bench-train.js ]; then
  # One LoRA r=16 step (batch 8 x 80, random Qwen2.5-0.5B shape): smft's ONNX Runtime engine on
  # ORT's WebGPU provider and TF.js webgpu, against plain PyTorch on CUDA (hand-written LoRA)
  # and PyTorch + peft on CUDA, the same shapes, one JSON line each (goal: >= 10 000 tokens/s
  # for the 24-layer step on an H100). The torch script comes from the repository beside the
  # bundle; python3 with torch (and transformers + peft) is the machine's.
  torch_py="$root/scripts/bench/torch_lora_step.py"
  lay=2,4,24 reps=3
  if [ "${SMFT_DEVICE_QUICK:-0}" = 1 ]; then lay=1 reps=1; fi
  for impl in handwritten peft; do
    log "bench: LoRA training step, ONNX Runtime WebGPU vs TF.js webgpu vs PyTorch CUDA ($impl LoRA)"
    cp "$torch_py" lib/torch_lora_step.py 2>/dev/null || true
    timeout "${SMFT_TRAIN_TIMEOUT:-600}" ./bin/node lib/bench-train.js --engines onnx,tfjs --device webgpu --backend webgpu --layers "$lay" --reps "$reps" \
      --torch-device cuda --torch-impl "$impl" --python python3 --json 2>&1 | grep -v '^Warning' | tee -a "$out/device.log" "$out/bench-train-$impl.jsonl"
  done
fi
log "done"

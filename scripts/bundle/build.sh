#!/usr/bin/env bash
# Build the self-contained smft bundle for GPU hosts (Linux, this machine's architecture):
#
#   scripts/bundle/build.sh [--no-node] [--fresh]
#
# Output (gitignored):
#   bundle/smft/                 the folder: run  bundle/smft/smft evaluate …
#     smft                       launcher (sh): unpacks *.xz on first run, then runs node
#     lib/smft.js                the CLI, one ESM file (esbuild); lib/*.worker.js worker threads
#     lib/*.wasm                 TF.js wasm backend
#     lib/templates/             default prompt templates
#     lib/bench-{gpu,lm,train}.js, lib/tests/  benchmarks and WebGPU tests
#                                (SMFT_BUNDLE_EXTRAS=0 leaves them out)
#     node_modules/webgpu        Dawn (dawn.node, xz-compressed) for the WebGPU backend
#     node_modules/@resvg/…      native SVG→PNG renderer for reports
#     node_modules/onnxruntime-node  ONNX Runtime (this platform's binary, xz) + onnxruntime-common
#     lib/**/*.js.xz                 the JavaScript, xz-compressed (unpacked on first run)
#     bin/node.xz                this machine's Node (stripped, xz); --no-node leaves it out
#   bundle/smft-linux-<arch>.tar the folder as one file, to copy to a GPU host
#
# Dependencies come from the shared install recipe (scripts/bundle/install-recipe.sh --npm),
# run only when node_modules is missing or with --fresh (it replaces node_modules).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

with_node=1 fresh=0
for a in "$@"; do
  case "$a" in
    --no-node) with_node=0 ;;
    --fresh) fresh=1 ;;
    *) echo "build.sh: unknown option $a" >&2; exit 2 ;;
  esac
done

if [ $fresh = 1 ] || [ ! -d node_modules/esbuild ]; then
  scripts/bundle/install-recipe.sh --npm
fi

arch="$(node -p process.arch)"
plat="$(node -p process.platform)"
out="$root/bundle/smft"
rm -rf "$out" "$root/bundle/smft-$plat-$arch.tar"
mkdir -p "$out/lib" "$out/bin" "$out/node_modules"

# 1. JavaScript: the CLI and the worker kernels; the WebAssembly kernels beside them.
node scripts/bundle/esbuild.mjs "$out/lib"
npm run --silent build:wasm
cp kernels/wasm/*.wasm "$out/lib/"

# 2. Files the code reads at run time, beside the bundle.
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm "$out/lib/" 2>/dev/null || true
[ -d src/lm/templates ] && cp -r src/lm/templates "$out/lib/templates"
version="$(node -p "require('./package.json').version")"
cat >"$out/package.json" <<JSON
{ "name": "smft", "version": "$version", "type": "module", "private": true,
  "description": "smft bundle for $plat-$arch (scripts/bundle/build.sh)" }
JSON

# 3. Native packages esbuild cannot inline.
copy_pkg() { # copy_pkg NAME [FILES…] — package.json plus the listed files (default: all)
  local name="$1"; shift
  local src="node_modules/$name" dst="$out/node_modules/$name"
  [ -d "$src" ] || { echo "bundle: $name not installed, left out" >&2; return 0; }
  mkdir -p "$dst"
  if [ $# -eq 0 ]; then cp -r "$src/." "$dst/"; else
    cp "$src/package.json" "$dst/"
    for f in "$@"; do mkdir -p "$dst/$(dirname "$f")"; cp "$src/$f" "$dst/$f"; done
  fi
}
copy_pkg webgpu index.js "dist/$plat-$arch/dawn.node"
[ -f "$out/node_modules/webgpu/dist/$plat-$arch/dawn.node" ] && xz -T0 -6 "$out/node_modules/webgpu/dist/$plat-$arch/dawn.node"
copy_pkg @resvg/resvg-js index.js js-binding.js
for p in node_modules/@resvg/resvg-js-"$plat"-"$arch"*; do
  [ -d "$p" ] && copy_pkg "${p#node_modules/}"
done
ortbin="bin/napi-v6/$plat/$arch"
copy_pkg onnxruntime-node dist/index.js dist/backend.js dist/binding.js dist/version.js \
  "$ortbin/onnxruntime_binding.node" "$ortbin/libonnxruntime.so.1"
[ -f "$out/node_modules/onnxruntime-node/$ortbin/libonnxruntime.so.1" ] && xz -T0 -6 "$out/node_modules/onnxruntime-node/$ortbin/libonnxruntime.so.1"
copy_pkg onnxruntime-common

# The JavaScript compresses about 6×; the launcher unpacks it on the first run.
xz -T0 -6 "$out"/lib/*.js
[ -d "$out/lib/tests" ] && xz -T0 -6 "$out"/lib/tests/*.js

# 4. Node itself, for hosts without it (stripped and compressed; unpacked on first run).
if [ $with_node = 1 ]; then
  cp "$(node -p process.execPath)" "$out/bin/node"
  strip "$out/bin/node" 2>/dev/null || true
  xz -T0 -6 "$out/bin/node"
fi

# 5. Launcher.
cat >"$out/smft" <<'SH'
#!/bin/sh
# smft bundle launcher: unpack compressed pieces once, then run the CLI with the bundled Node
# (or the Node on PATH when the bundle has none).
set -e
here="$(cd "$(dirname "$0")" && pwd)"
unpack() { # unpack FILE.xz → FILE
  [ -f "$1" ] || return 0
  tmp="${1%.xz}.tmp.$$"
  if command -v xz >/dev/null 2>&1; then xz -dc "$1" >"$tmp"
  elif command -v python3 >/dev/null 2>&1; then python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$tmp"
  else echo "smft: need xz or python3 once to unpack $1" >&2; exit 1; fi
  chmod +x "$tmp"; mv "$tmp" "${1%.xz}"; rm -f "$1"
}
for f in "$here"/bin/node.xz "$here"/node_modules/webgpu/dist/*/dawn.node.xz \
  "$here"/node_modules/onnxruntime-node/bin/*/*/*/*.xz "$here"/lib/*.js.xz "$here"/lib/tests/*.js.xz; do unpack "$f"; done
if [ -x "$here/bin/node" ]; then node="$here/bin/node"; else node="$(command -v node || true)"; fi
[ -n "$node" ] || { echo "smft: no Node.js in the bundle or on PATH" >&2; exit 1; }
exec "$node" "$here/lib/smft.js" "$@"
SH
chmod +x "$out/smft"

# 6. One file to carry to a GPU host.
tar -C "$root/bundle" -cf "$root/bundle/smft-$plat-$arch.tar" smft
du -sh "$out" "$root/bundle/smft-$plat-$arch.tar" | sed 's/^/bundle: /'

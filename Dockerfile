# smft for cloud GPUs: CUDA runtime base, Node 20, smft with its GPU backend (TF.js webgpu
# through Dawn → Vulkan → the NVIDIA driver). Build and run (see docs/gpu.md):
#
#   docker build -t smft .
#   docker run --rm --gpus all -v "$PWD/data:/data" -v "$PWD/out:/out" smft \
#       evaluate --predictions /data/paper/eval_en_1572_with_predictions.csv --out /out/en
#
# Build arguments:
#   CUDA_IMAGE     the base (default nvidia/cuda:13.0.0-runtime-ubuntu24.04; WebGPU needs no
#                  CUDA, only the driver's Vulkan ICD, so any recent tag works)
#   TFJS_NODE_GPU  1 adds @tensorflow/tfjs-node-gpu. It is built for CUDA 11.2 + cuDNN 8, so
#                  use it only with a matching base, e.g.
#                  --build-arg CUDA_IMAGE=nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04
#                  (and note it downloads libtensorflow while building).
#   ORT_CUDA       1 adds onnxruntime-node's CUDA 12 execution provider files (downloaded while
#                  building, not from the npm registry; they need a CUDA 12 + cuDNN 9 base, e.g.
#                  --build-arg CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04). smft runs
#                  ONNX Runtime on the CPU or WebGPU; the CUDA files serve your own ONNX code.
ARG CUDA_IMAGE=nvidia/cuda:13.0.0-runtime-ubuntu24.04
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS node

FROM ${CUDA_IMAGE}
ARG TFJS_NODE_GPU=0
ARG ORT_CUDA=0

# Node 20 (official build; needs glibc ≥ 2.28) and npm from the node image.
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version

# 'graphics' makes the NVIDIA container toolkit mount the driver's Vulkan pieces.
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics \
    SMFT_DATA_DIR=/data \
    NODE_ENV=production

WORKDIR /opt/smft
# Dependency layer first (cached while only sources change).
COPY package.json package-lock.json .npmrc ./
COPY scripts/bundle/install-recipe.sh scripts/bundle/install-recipe.sh
# npm ci runs `prepare`, which builds the WebAssembly kernels from these sources.
COPY kernels/wasm/assembly kernels/wasm/assembly
RUN scripts/bundle/install-recipe.sh --apt \
 && rm -rf /var/lib/apt/lists/* \
 && NODE_ENV=development scripts/bundle/install-recipe.sh --npm \
 && if [ "$ORT_CUDA" = 1 ]; then scripts/bundle/install-recipe.sh --ort-cuda; fi \
 && npm cache clean --force

COPY . .
RUN scripts/bundle/install-recipe.sh --build \
 && npm prune --omit=dev --include=optional --no-audit --no-fund \
 && if [ "$TFJS_NODE_GPU" = 1 ]; then scripts/bundle/install-recipe.sh --tfjs-node-gpu; fi \
 && npm cache clean --force \
 && mkdir -p /usr/share/smft /data \
 && cp scripts/bundle/nvidia_icd.json /usr/share/smft/nvidia_icd.json \
 && install -m 0755 scripts/bundle/docker-entrypoint.sh /usr/local/bin/smft

WORKDIR /work
ENTRYPOINT ["/usr/local/bin/smft"]
CMD ["--help"]

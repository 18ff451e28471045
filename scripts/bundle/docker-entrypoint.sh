#!/bin/sh
# Entrypoint of the smft Docker image: make the NVIDIA Vulkan driver visible to Dawn, then run
# the smft CLI. With `docker run --gpus all` and NVIDIA_DRIVER_CAPABILITIES including
# 'graphics', the NVIDIA container toolkit mounts the driver's Vulkan library (libGLX_nvidia)
# and usually its ICD file; when it mounts the library but no ICD file, the image's own
# /usr/share/smft/nvidia_icd.json is used. An explicit VK_DRIVER_FILES / VK_ICD_FILENAMES wins.
set -e
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
  found=""
  for f in /etc/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
           /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$f" ]; then found="$f"; break; fi
  done
  if [ -z "$found" ] && ldconfig -p 2>/dev/null | grep -q 'libGLX_nvidia\.so\.0'; then
    export VK_DRIVER_FILES=/usr/share/smft/nvidia_icd.json
  fi
fi
exec node /opt/smft/bin/smft.js "$@"

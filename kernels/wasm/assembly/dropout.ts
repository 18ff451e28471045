/**
 * LoRA dropout masks in WebAssembly SIMD (AssemblyScript; built to kernels/wasm/dropout.wasm by
 * `npm run build:wasm`), four elements per step: element j is kept when two keyed rounds of
 * Wellons' lowbias32 mixer of j reach `threshold`. The same arithmetic as the scalar loop of
 * src/train/lora/dropout.ts (which defines the masks and checks this kernel), bit for bit.
 */

@inline function mix(j: v128, k1: v128, k2: v128): v128 {
  let x = v128.xor(j, k1);
  x = v128.xor(x, i32x4.shr_u(x, 16));
  x = i32x4.mul(x, i32x4.splat(0x7feb352d));
  x = v128.xor(x, i32x4.shr_u(x, 15));
  x = i32x4.mul(x, i32x4.splat(<i32>0x846ca68b));
  x = v128.xor(x, i32x4.shr_u(x, 16));
  x = v128.xor(x, k2);
  x = i32x4.mul(x, i32x4.splat(0x7feb352d));
  return v128.xor(x, i32x4.shr_u(x, 15));
}

/** Elements [0, count) of a mask into `out` (f32): `keep` where the hash ≥ threshold (unsigned), else 0; count a multiple of 4. */
export function fill(out: usize, count: u32, k1: u32, k2: u32, threshold: u32, keep: f32): void {
  const vk1 = i32x4.splat(<i32>k1);
  const vk2 = i32x4.splat(<i32>k2);
  const vt = i32x4.splat(<i32>threshold);
  const vkeep = f32x4.splat(keep);
  let j = i32x4(0, 1, 2, 3);
  const four = i32x4.splat(4);
  for (let i: u32 = 0; i < count; i += 4) {
    const kept = i32x4.ge_u(mix(j, vk1, vk2), vt);
    v128.store(out + (<usize>i << 2), v128.and(kept, vkeep));
    j = i32x4.add(j, four);
  }
}

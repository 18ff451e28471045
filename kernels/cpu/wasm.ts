import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The WebAssembly SIMD kernels (kernels/wasm/assembly, built by `npm run build:wasm`): one
 * compiled module per thread, instantiated over a memory whose regions the caller lays out
 * with an Arena.
 */
const modules = new Map<string, WebAssembly.Module>();

function wasmFile(name: string): string {
  // From the sources (kernels/cpu), the build (dist/kernels/cpu) and the bundle (lib/, beside).
  const candidates = [`../wasm/${name}.wasm`, `../../../kernels/wasm/${name}.wasm`, `./${name}.wasm`].map((rel) => fileURLToPath(new URL(rel, import.meta.url)));
  const found = candidates.find((f) => existsSync(f));
  if (!found) throw new Error(`the WebAssembly kernel ${name}.wasm is not built: run \`npm run build:wasm\` (looked in ${candidates.join(', ')})`);
  return found;
}

function wasmModule(name: string): WebAssembly.Module {
  let m = modules.get(name);
  if (!m) {
    m = new WebAssembly.Module(readFileSync(wasmFile(name)));
    modules.set(name, m);
  }
  return m;
}

/** Bump allocator of 64-byte-aligned regions in a wasm memory, grown as needed. */
export class Arena {
  readonly memory: WebAssembly.Memory;
  private top = 1024; // the first KiB stays free (null pointers never point at data)

  constructor(bytes: number) {
    this.memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
  }

  /** Reserve `bytes`; returns the byte offset. */
  alloc(bytes: number): number {
    const at = this.top;
    this.top += Math.ceil(bytes / 64) * 64 || 64;
    const need = Math.ceil(this.top / 65536) - this.memory.buffer.byteLength / 65536;
    if (need > 0) this.memory.grow(need);
    return at;
  }

  /** Reserve room for `src` and copy it there. */
  copy(src: Uint32Array | Int32Array): number {
    const at = this.alloc(src.byteLength);
    new Uint8Array(this.memory.buffer, at, src.byteLength).set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
    return at;
  }

  i32(at: number, len: number): Int32Array { return new Int32Array(this.memory.buffer, at, len); }
  f64(at: number, len: number): Float64Array { return new Float64Array(this.memory.buffer, at, len); }
}

/** Instantiate kernel module `name` over an arena's memory. */
export function instantiate<T>(name: string, arena: Arena): T {
  const imports = { env: { memory: arena.memory, abort: () => { throw new Error(`${name}.wasm aborted`); } } };
  return new WebAssembly.Instance(wasmModule(name), imports).exports as T;
}

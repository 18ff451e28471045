// `npm run build:wasm`: compile every AssemblyScript kernel in kernels/wasm/assembly to
// kernels/wasm/<name>.wasm (SIMD, no runtime, memory imported from the caller).
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'kernels', 'wasm', 'assembly');
const asc = join(dirname(createRequire(import.meta.url).resolve('assemblyscript/package.json')), 'bin', 'asc.js');
for (const f of readdirSync(src).filter((x) => x.endsWith('.ts')).sort()) {
  const out = join(root, 'kernels', 'wasm', f.replace(/\.ts$/, '.wasm'));
  execFileSync(process.execPath, [asc, join(src, f), '-O3', '--runtime', 'stub', '--enable', 'simd', '--noAssert', '--importMemory', '--noExportMemory', '-o', out], { stdio: 'inherit' });
}

// esbuild step of scripts/bundle/build.sh: the CLI (src/cli/main.ts) as one ESM file, plus one
// file per worker-thread kernel (kernels/cpu/*.worker.ts, started by file name at run time).
// Usage: node scripts/bundle/esbuild.mjs OUT_LIB_DIR
import { build } from 'esbuild';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const outdir = resolve(process.argv[2] ?? join(root, 'bundle', 'smft', 'lib'));

const entryPoints = {};
for (const cand of ['src/cli/main.ts', 'src/cli/main.js', 'src/index.ts']) {
  if (existsSync(join(root, cand))) {
    entryPoints.smft = join(root, cand);
    break;
  }
}
if (!entryPoints.smft) {
  console.error('bundle: no CLI entry (src/cli/main.ts) found');
  process.exit(1);
}
const kdir = join(root, 'kernels', 'cpu');
if (existsSync(kdir)) {
  for (const f of readdirSync(kdir)) {
    if (f.endsWith('.worker.ts')) entryPoints[f.replace(/\.ts$/, '')] = join(kdir, f);
  }
}

// GPU checks for a host without the sources: the benchmark and the WebGPU kernel tests
// (node --test lib/tests/), bundled like the CLI. device.test.ts is left out: it starts tsx.
if (process.env.SMFT_BUNDLE_EXTRAS !== '0') {
  for (const b of ['gpu', 'lm', 'train']) {
    const f = join(root, 'scripts', 'bench', `${b}.ts`);
    if (existsSync(f)) entryPoints[`bench-${b}`] = f;
  }
  const tdir = join(root, 'test', 'webgpu');
  if (existsSync(tdir)) {
    for (const f of readdirSync(tdir)) {
      if (f.endsWith('.test.ts') && f !== 'device.test.ts') entryPoints[`tests/webgpu-${f.replace(/\.ts$/, '')}`] = join(tdir, f);
    }
  }
}

// Native or runtime-resolved packages: shipped beside the bundle (or absent on purpose).
const external = [
  'webgpu', // dawn.node, copied to node_modules/webgpu
  '@resvg/resvg-js', // native, copied with its platform package
  'onnxruntime-node', // native: copied with this platform's binary (rating on ONNX Runtime)
  '@tensorflow/tfjs-node', // optional native TF.js backends: used when installed beside
  '@tensorflow/tfjs-node-gpu',
  'canvas', // optional for vega (PNG through resvg instead)
];

const banner = [
  "import { createRequire as __smftCreateRequire } from 'node:module';",
  "import { fileURLToPath as __smftFileURLToPath } from 'node:url';",
  "import { dirname as __smftDirname } from 'node:path';",
  'const require = __smftCreateRequire(import.meta.url);',
  'const __filename = __smftFileURLToPath(import.meta.url);',
  'const __dirname = __smftDirname(__filename);',
].join('\n');

const result = await build({
  entryPoints,
  outdir,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outExtension: { '.js': '.js' },
  external,
  alias: { sharp: join(root, 'scripts', 'bundle', 'stubs', 'sharp.cjs') },
  banner: { js: banner },
  minify: true,
  keepNames: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  logOverride: { 'direct-eval': 'silent', 'empty-import-meta': 'silent', 'require-resolve-not-external': 'silent' },
});
const outputs = Object.entries(result.metafile.outputs).map(([f, o]) => `${f.replace(root + '/', '')} ${(o.bytes / 2 ** 20).toFixed(1)} MiB`);
console.log(`bundle: ${outputs.join(', ')}`);

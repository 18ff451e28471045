import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A fresh folder `smft-<name>-XXXXXX` under the system temp folder, removed (with everything in
 * it) when the test that asked for it ends, or the test file when asked outside a test. `npm test`
 * fails when a test file leaves anything in the temp folder (scripts/ci/run-tests.mjs).
 */
export function tempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `smft-${name}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

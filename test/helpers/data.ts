import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The data directory for tests: SMFT_DATA_DIR, else ../shared/data beside the checkout (as in
 * CI). Tests that need it fail, never skip, when it is absent.
 */
export function testDataDir(): string {
  const dir = process.env.SMFT_DATA_DIR ? resolve(process.env.SMFT_DATA_DIR) : resolve(import.meta.dirname, '..', '..', '..', 'shared', 'data');
  if (!existsSync(join(dir, 'paper', 'eval_en_1572_with_predictions.csv'))) {
    throw new Error(`test data not found in ${dir}: set SMFT_DATA_DIR to the folder holding paper/eval_en_1572_with_predictions.csv`);
  }
  return dir;
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { columnRole } from '../src/data/columns.js';

test('column names of the paper files map to canonical dimensions and models', () => {
  assert.deepEqual(columnRole('Foot.mean'), { kind: 'human', lang: 'en', dim: 'foot_leg' });
  assert.deepEqual(columnRole('Hand_arm.mean'), { kind: 'human', lang: 'en', dim: 'hand_arm' });
  assert.deepEqual(columnRole('Horen'), { kind: 'human', lang: 'nl', dim: 'horen' });
  assert.deepEqual(columnRole('foot_base'), { kind: 'model', dim: 'foot_leg', model: 'base' });
  assert.deepEqual(columnRole('foot_leg_en_ft'), { kind: 'model', dim: 'foot_leg', model: 'en_ft' });
  assert.deepEqual(columnRole('Interoceptive_en_ft'), { kind: 'model', dim: 'interoceptive', model: 'en_ft' });
  assert.deepEqual(columnRole('haptic_QA_ft'), { kind: 'model', dim: 'haptic', model: 'qa_ft' });
  assert.deepEqual(columnRole('Sensaties_nl_ft'), { kind: 'model', dim: 'sensaties', model: 'nl_ft' });
  assert.deepEqual(columnRole('Foot_leg.SD'), { kind: 'other' });
  assert.deepEqual(columnRole('N_known.perceptual'), { kind: 'other' });
  assert.deepEqual(columnRole('Woord'), { kind: 'other' });
});

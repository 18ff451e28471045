/**
 * What the terminal shows, as pure functions: durations (ETAs, stage times), aligned summary
 * tables, and which log format a stream gets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration } from '../../src/util/duration.js';
import { formatTable } from '../../src/util/table.js';
import { resolveLogFormat } from '../../src/util/log.js';

test('formatDuration rounds once, at the unit shown: never 60 in the smaller unit', () => {
  const cases: Array<[number, string]> = [
    [0, '0s'], [0.4, '0s'], [9.6, '10s'], [59.4, '59s'],
    [59.9, '1m00s'], // not "60s"
    [60, '1m00s'], [61, '1m01s'], [125.2, '2m05s'],
    [1319, '21m59s'], // cli-progress's formatter printed "21m60s" here (seconds rounded to 5 after the minutes were taken)
    [1319.6, '22m00s'], [3599.4, '59m59s'],
    [3599.6, '1h00m'], // not "59m60s" or "60m00s"
    [3600, '1h00m'], [3629, '1h00m'], [3631, '1h01m'], [7199.9, '2h00m'], [86_400, '24h00m'],
  ];
  for (const [s, want] of cases) assert.equal(formatDuration(s), want, `${s} s`);
  for (const s of [NaN, Infinity, -1]) assert.equal(formatDuration(s), '?');
  // Every output is well formed: the smaller unit stays below 60.
  for (let s = 0; s < 2 * 3600; s += 0.7) {
    const out = formatDuration(s);
    const m = /^(?:(\d+)s|(\d+)m(\d\d)s|(\d+)h(\d\d)m)$/.exec(out);
    assert.ok(m, out);
    assert.ok(Number(m[1] ?? m[3] ?? m[5]) < 60, `${s} s → ${out}`);
  }
});

test('formatTable aligns columns: numbers right (signs and points line up), text left, no trailing spaces', () => {
  const t = formatTable([
    ['EN', 'RSA all', 'note'],
    ['base', '0.001', 'tiny'],
    ['glove_head', '-0.443', ''],
    ['gpt4o_en_ft', '0.723', 'published'],
  ]).split('\n');
  assert.deepEqual(t, [
    'EN           RSA all  note',
    'base           0.001  tiny',
    'glove_head    -0.443',
    'gpt4o_en_ft    0.723  published',
  ]);
  // The decimal points of a numeric column share one column.
  const points = t.slice(1).map((l) => l.indexOf('.'));
  assert.equal(new Set(points).size, 1);
});

test('log format: pretty on a terminal, JSON lines elsewhere, unless asked', () => {
  assert.equal(resolveLogFormat(undefined, true), 'pretty');
  assert.equal(resolveLogFormat('auto', true), 'pretty');
  assert.equal(resolveLogFormat(undefined, false), 'json');
  assert.equal(resolveLogFormat('auto', false), 'json');
  assert.equal(resolveLogFormat('json', true), 'json');
  assert.equal(resolveLogFormat('pretty', false), 'pretty');
});

/**
 * The report's conventions, unit by unit: a model's colour comes from its id alone (fixed for the
 * paper's conditions, shades of them for aliases, a hashed colour-blind-safe palette otherwise),
 * synthetic models are labelled, and p-values are never printed as 0.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import './helpers.js';

const { FIXED_COLORS, HASH_PALETTE, conditionAlias, fnv1a, modelColor, modelStyle, reportColors } = await import('../../src/report/labels.js');
const { formatBootstrapP, formatP, ciExcludesZero } = await import('../../src/report/format.js');

const hue = (hex: string): number => {
  const v = parseInt(hex.slice(1), 16);
  const [r, g, b] = [v >> 16, (v >> 8) & 255, v & 255].map((c) => c / 255);
  const max = Math.max(r, g, b), min = Math.min(r, g, b), d = max - min;
  if (d === 0) return -1;
  const h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
  return (h * 60 + 360) % 360;
};

describe('model colours', () => {
  test('the paper’s conditions and the humans have fixed colours', () => {
    for (const id of ['human', 'base', 'en_ft', 'nl_ft', 'qa_ft']) assert.equal(modelColor(id), FIXED_COLORS[id]);
    assert.equal(new Set(Object.values(FIXED_COLORS)).size, 5, 'five different colours');
    for (const c of Object.values(FIXED_COLORS)) assert.ok(!HASH_PALETTE.includes(c), `${c} is not also a hashed colour`);
  });

  test('an alias <prefix>_<condition> gets a shade of the condition’s hue, the same for the same id', () => {
    assert.deepEqual(conditionAlias('gpt4o_en_ft'), { prefix: 'gpt4o', condition: 'en_ft' });
    assert.deepEqual(conditionAlias('llama-3_qa_ft'), { prefix: 'llama-3', condition: 'qa_ft' });
    assert.equal(conditionAlias('en_ft'), undefined);
    assert.equal(conditionAlias('glove_head'), undefined);
    assert.equal(conditionAlias('xen_ft'), undefined, 'the condition must follow a separator');
    for (const c of ['en_ft', 'nl_ft', 'qa_ft']) {
      const a = modelColor(`gpt4o_${c}`);
      assert.notEqual(a, FIXED_COLORS[c], 'distinct from the bare condition (both appear in smft reproduce)');
      assert.ok(Math.abs(hue(a) - hue(FIXED_COLORS[c])) < 3, `${c}: hue ${hue(a)} vs ${hue(FIXED_COLORS[c])}`);
      assert.equal(modelColor(`gpt4o_${c}`), a);
    }
    // gpt4o_base: a shade of grey, as base.
    assert.equal(hue(modelColor('gpt4o_base')), -1);
  });

  test('other ids: a palette colour chosen by a hash of the name', () => {
    for (const id of ['glove_head', 'mistral', 'qwen2.5-0.5b', 'model_x']) {
      assert.equal(modelColor(id), HASH_PALETTE[fnv1a(id) % HASH_PALETTE.length]);
    }
    // FNV-1a reference values (32-bit offset basis and prime): "" and "a".
    assert.equal(fnv1a(''), 0x811c9dc5);
    assert.equal(fnv1a('a'), 0xe40c292c);
  });

  test('a report’s colours do not depend on the order or the company of the ids', () => {
    const ids = ['qa_ft', 'glove_head', 'gpt4o_en_ft', 'base', 'en_ft', 'mistral'];
    const a = reportColors(ids);
    const b = reportColors([...ids].reverse());
    const c = reportColors(['en_ft', 'mistral']);
    for (const id of ids) assert.equal(a.get(id), b.get(id), id);
    assert.equal(c.get('en_ft'), a.get('en_ft'));
    assert.equal(c.get('mistral'), a.get('mistral'));
  });

  test('two hashed ids of one report that share a colour are told apart; each alone keeps its own', () => {
    const names = Array.from({ length: 40 }, (_, i) => `model${i}`);
    const first = names.find((n, i) => names.slice(i + 1).some((m) => modelColor(m) === modelColor(n)))!;
    const second = names.find((m) => m !== first && modelColor(m) === modelColor(first))!;
    assert.ok(first && second, 'a colliding pair among 40 names (8 colours)');
    const both = reportColors([second, first]);
    assert.notEqual(both.get(first), both.get(second));
    const [lo, hi] = [first, second].sort();
    assert.equal(both.get(lo), modelColor(lo), 'the id that sorts first keeps its colour');
    assert.ok(HASH_PALETTE.includes(both.get(hi)!));
    assert.equal(reportColors([hi]).get(hi), modelColor(hi));
  });

  test('synthetic models are labelled "(synthetic)"', () => {
    const st = modelStyle(['base', 'en_ft', 'gpt4o_base'], { base: { synthetic: 'random tiny model' }, gpt4o_base: {} });
    assert.equal(st.label('base'), 'Base (synthetic)');
    assert.equal(st.label('en_ft'), 'En_FT');
    assert.equal(st.label('gpt4o_base'), 'gpt4o_base');
    assert.equal(st.synthetic('base'), 'random tiny model');
    assert.equal(st.pair('en_ft vs base'), 'En_FT vs Base (synthetic)');
    assert.deepEqual(st.scale(['en_ft', 'base']), { domain: ['En_FT', 'Base (synthetic)'], range: [FIXED_COLORS.en_ft, FIXED_COLORS.base] });
  });
});

describe('p-values', () => {
  test('analytic p: three decimals, "< .001" below, never 0', () => {
    assert.equal(formatP(0), '< .001');
    assert.equal(formatP(1e-300), '< .001');
    assert.equal(formatP(0.00099), '< .001');
    assert.equal(formatP(0.001), '.001');
    assert.equal(formatP(0.0423), '.042');
    assert.equal(formatP(0.06), '.060');
    assert.equal(formatP(1), '1.000');
    assert.equal(formatP(NaN), '–');
    for (const p of [0, 1e-20, 4e-4, 0.0004999]) assert.ok(!/^(0|\.000|0\.000)$/.test(formatP(p)), `${p} → ${formatP(p)}`);
  });

  test('bootstrap p: "< 1/N" when no resample was as extreme, else as analytic', () => {
    assert.equal(formatBootstrapP(0, 200), '< 1/200');
    assert.equal(formatBootstrapP(0, 1000), '< 1/1000');
    assert.equal(formatBootstrapP(0, undefined), '< 1/N');
    assert.equal(formatBootstrapP(0.005, 200), '.005');
    assert.equal(formatBootstrapP(0.06, 200), '.060');
    assert.equal(formatBootstrapP(0.0005, 2000), '< .001');
  });

  test('the significance rule: the CI excludes 0', () => {
    assert.equal(ciExcludesZero([0.01, 0.2]), true);
    assert.equal(ciExcludesZero([-0.3, -0.001]), true);
    assert.equal(ciExcludesZero([-0.01, 0.2]), false);
    assert.equal(ciExcludesZero([0, 0.2]), false);
    assert.equal(ciExcludesZero([NaN, 0.2]), false);
  });
});

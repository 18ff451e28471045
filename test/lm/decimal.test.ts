/**
 * Reading a rating from a decimal answer (src/lm/decimal.ts) with constructed logits: a scripted
 * engine answers each first digit with a fixed continuation, so Σ p(d)·v(d) and the greedy value
 * can be computed by hand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture } from './helpers.js';
import { LmTokenizer } from '../../src/lm/tokenizer.js';
import { decimalRating, parseRatingText, rateWordsDecimal, readDecimal } from '../../src/lm/decimal.js';
import { digitTokenIds } from '../../src/lm/rate.js';
import type { KvPrefix, LmEngine, SelectedLogitsRequest } from '../../src/lm/engine.js';
import type { LmConfig } from '../../src/lm/config.js';
import { SmftError } from '../../src/util/errors.js';

test('parseRatingText reads the number an answer starts with', () => {
  assert.equal(parseRatingText('1.33<|im_end|>'), 1.33);
  assert.equal(parseRatingText('2.0'), 2);
  assert.equal(parseRatingText('4.'), 4);
  assert.equal(parseRatingText(' 3.5 because'), 3.5);
  assert.equal(parseRatingText('five'), undefined);
  assert.deepEqual(decimalRating([0.1, 0.2, 0.3, 0.4, 0, 0], [0, 1.5, 2.25, 3, 4, 5]), { expected: 0.1 * 0 + 0.2 * 1.5 + 0.3 * 2.25 + 0.4 * 3, greedy: 3, argmax: 3 });
  assert.throws(() => decimalRating([1], [1]), SmftError);
});

test('readDecimal: p(d) over the digits, and each branch continued greedily until the number ends', async () => {
  const tok = await LmTokenizer.load(fixture('tiny-llama'));
  const V = 768;
  const digits = digitTokenIds(tok);
  const id = (s: string): number => tok.singleTokenId(s)!;
  const eos = tok.eosTokenId!;
  // What each branch says after its first digit (token strings; eos ends the answer).
  const script: Record<number, string[]> = {
    0: ['.', '0', '7', '9', '9'], // 4 new tokens at most: "0.079"
    1: ['.', '3', '3'], // then eos
    2: [], // eos right away: "2"
    3: ['.', '5', 'x'], // 'x' does not extend the number: "3.5"
    4: ['.'], // "4." → 4
    5: ['.', '9'], // 5.9 → clamped to 5
  };
  const logp = [Math.log(0.05), Math.log(0.3), Math.log(0.1), Math.log(0.4), Math.log(0.1), Math.log(0.05)];
  const prompt = [10, 11, 12, 13, 14];
  const calls: SelectedLogitsRequest[] = [];
  let prefilled: number[] = [];
  let lastToken = 14;
  const engine: LmEngine = {
    config: { vocabSize: V } as LmConfig,
    runtime: 'scripted',
    async prefill(ids: number[]): Promise<KvPrefix> { prefilled = ids; return { length: ids.length, dispose() {} }; },
    async hiddenStates(): Promise<Float32Array[]> { throw new Error('unused'); },
    async selectedLogits(req: SelectedLogitsRequest, prefix?: KvPrefix): Promise<Float32Array> {
      calls.push(req);
      assert.equal(req.tokenIds, undefined, 'full-vocabulary logits');
      const k = prefilled.length;
      assert.equal(prefix?.length, k);
      const out = new Float32Array(req.ids.length * V).fill(-50);
      req.ids.forEach((row, r) => {
        const at = req.logitsAt[r];
        const seq = row.slice(0, at + 1);
        assert.deepEqual(req.positionIds[r].slice(0, at + 1), seq.map((_, j) => k + j));
        assert.deepEqual(req.attentionMask[r].slice(0, k + at + 1), new Array(k + at + 1).fill(1));
        assert.equal(seq[0], lastToken, 'every row starts with the last prompt token');
        const o = out.subarray(r * V, (r + 1) * V);
        if (seq.length === 1) { digits.forEach((t, d) => { o[t] = logp[d]; }); o[id('x')] = 3; return; }
        const d = digits.indexOf(seq[1]);
        const said = seq.length - 2;
        const next = script[d][said];
        o[next === undefined ? eos : id(next)] = 10;
      });
      return out;
    },
  };
  const r = await readDecimal(engine, tok, prompt, { maxNewTokens: 4 });
  assert.deepEqual(prefilled, [10, 11, 12, 13]);
  // p is renormalised over the six digits, even though 'x' had the largest logit.
  r.p.forEach((p, d) => assert.ok(Math.abs(p - Math.exp(logp[d])) < 1e-6, `p(${d}) = ${p}`));
  assert.deepEqual(r.texts, ['0.079', '1.33', '2', '3.5', '4.', '5.9']);
  assert.deepEqual(r.values, [0.079, 1.33, 2, 3.5, 4, 5]);
  assert.equal(calls.length, 4, 'at most maxNewTokens passes');
  assert.equal(calls[0].ids.length, 7, 'six branches and the digit row');
  const expected = 0.05 * 0.079 + 0.3 * 1.33 + 0.1 * 2 + 0.4 * 3.5 + 0.1 * 4 + 0.05 * 5;
  const { expected: e, greedy } = decimalRating(r.p, r.values);
  assert.ok(Math.abs(e - expected) < 1e-6, `${e} vs ${expected}`);
  assert.equal(greedy, 3.5);

  // rateWordsDecimal: the rating rows of `smft rate --read decimal | greedy`.
  const templates = new Map([['auditory' as const, { dimension: 'auditory' as const, text: 'Rate {Word}.', source: 'test' }]]);
  lastToken = tok.encode('Rate W.\nAnswer: ').at(-1)!;
  for (const read of ['decimal', 'greedy'] as const) {
    const got: number[] = [];
    const { rows, stats } = await rateWordsDecimal(engine, tok, { words: ['W', 'V'], templates, read, progress: false, skip: (w) => w === 'V', onRows: (x) => { got.push(x.length); } });
    assert.deepEqual(rows.map((x) => x.word), ['W']);
    assert.deepEqual(got, [1]);
    assert.equal(stats.prompts, 1);
    assert.ok(Math.abs(rows[0].rating - (read === 'greedy' ? 3.5 : expected)) < 1e-6, `${read}: ${rows[0].rating}`);
    assert.equal(rows[0].argmax, 3);
    assert.ok(Math.abs(rows[0].p1 - 0.3) < 1e-6);
  }
});

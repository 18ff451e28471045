/** Softmax of a few logits in float64 (max subtracted first). */
export function softmax(logits: ArrayLike<number>): number[] {
  let m = -Infinity;
  for (let k = 0; k < logits.length; k++) m = Math.max(m, logits[k]);
  const e = Array.from({ length: logits.length }, (_, k) => Math.exp(logits[k] - m));
  const z = e.reduce((a, x) => a + x, 0);
  return e.map((x) => x / z);
}

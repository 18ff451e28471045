/**
 * Model pairs and their names. A pair is written "A vs B" and its difference is A − B. Order of
 * precedence: en_ft, qa_ft, nl_ft, other models in their given order, base last — which gives
 * the paper's pairs (en_ft vs base, nl_ft vs base, en_ft vs nl_ft, qa_ft vs nl_ft, qa_ft vs base,
 * en_ft vs qa_ft).
 */
const FIRST = ['en_ft', 'qa_ft', 'nl_ft'];

export function precedence(models: readonly string[]): string[] {
  const known = FIRST.filter((m) => models.includes(m));
  const others = models.filter((m) => !FIRST.includes(m) && m !== 'base');
  return [...known, ...others, ...(models.includes('base') ? ['base'] : [])];
}

export interface ModelPair { a: string; b: string; key: string }

export function modelPairs(models: readonly string[]): ModelPair[] {
  const order = precedence(models);
  const out: ModelPair[] = [];
  for (let i = 0; i < order.length; i++) {
    for (let j = i + 1; j < order.length; j++) out.push({ a: order[i], b: order[j], key: `${order[i]} vs ${order[j]}` });
  }
  return out;
}

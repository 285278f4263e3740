import test from 'ava';
import { assignVariant, bucketOf, experimentsSchema, type ExperimentConfig } from '../src/experiments.js';

const ids = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

function shares(exp: ExperimentConfig): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const id of ids) {
    const v = assignVariant(exp, id);
    counts[v] = (counts[v] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).map(([k, n]) => [k, (n / ids.length) * 100]));
}

test('bucketing is deterministic per experiment and user, and lands in [0, 100)', (t) => {
  const exp = { id: 'reco-algo', variants: { control: 50, 'cooccurrence-v2': 50 } };
  for (const id of ids.slice(0, 200)) {
    t.is(assignVariant(exp, id), assignVariant({ ...exp }, id));
    const b = bucketOf(exp.id, id);
    t.true(b >= 0 && b < 100);
  }
  // Salting with the experiment id: another experiment splits the same users differently.
  const other = { id: 'other', variants: { control: 50, 'cooccurrence-v2': 50 } };
  const differing = ids.filter((id) => assignVariant(exp, id) !== assignVariant(other, id)).length;
  t.true(differing > 4_000 && differing < 6_000, `${differing} users differ`);
});

test('10,000 users follow a 50/50 split within ±3 points', (t) => {
  const s = shares({ id: 'reco-algo', variants: { control: 50, 'cooccurrence-v2': 50 } });
  t.true(Math.abs((s.control ?? 0) - 50) <= 3, JSON.stringify(s));
  t.true(Math.abs((s['cooccurrence-v2'] ?? 0) - 50) <= 3, JSON.stringify(s));
});

test('10,000 users follow an uneven split within ±3 points; a 0-weight variant gets nobody', (t) => {
  const s = shares({ id: 'checkout', variants: { a: 20, b: 30, c: 50, off: 0 } });
  t.true(Math.abs((s.a ?? 0) - 20) <= 3, JSON.stringify(s));
  t.true(Math.abs((s.b ?? 0) - 30) <= 3, JSON.stringify(s));
  t.true(Math.abs((s.c ?? 0) - 50) <= 3, JSON.stringify(s));
  t.is(s.off, undefined);
});

test('experiment config: weights must add up to 100, ids must be unique, errors name the path', (t) => {
  const bad = experimentsSchema.safeParse([{ id: 'x', variants: { a: 60, b: 60 } }]);
  t.false(bad.success);
  t.deepEqual(bad.error?.issues[0]?.path, [0, 'variants']);
  t.regex(bad.error?.issues[0]?.message ?? '', /add up to 100, got 120/);

  const dup = experimentsSchema.safeParse([
    { id: 'x', variants: { a: 100 } },
    { id: 'x', variants: { a: 100 } },
  ]);
  t.false(dup.success);
  t.deepEqual(dup.error?.issues[0]?.path, [1, 'id']);

  const badName = experimentsSchema.safeParse([{ id: 'x', variants: { 'Has Space': 100 } }]);
  t.false(badName.success);
  t.is(badName.error?.issues[0]?.path[1], 'variants');
});

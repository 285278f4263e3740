import test from 'ava';
import { docsOnly, DocsOnlyError } from '../src/index.js';

interface Deps {
  limit: number;
  store: { get(id: string): Promise<string> };
}

test('docsOnly passes the given values and refuses every other dependency when used', async (t) => {
  const deps = docsOnly<Deps>('catalog', { limit: 20 });
  t.is(deps.limit, 20);
  // reading a dependency at build time is fine (route factories destructure their deps) …
  const { store } = deps;
  // … using it is not: a docs-only route can never serve a request by accident
  const err = t.throws(() => store.get('p1'), { instanceOf: DocsOnlyError });
  t.regex(err.message, /catalog routes .* store\.get is not available/);
});

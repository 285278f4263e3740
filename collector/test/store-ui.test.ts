// The trace pages in headless Chromium: `/` lists the failing trace, `/trace/{id}` shows every span in the waterfall,
// marks the error, shows the trace's log line, and a hostile span name stays text (no script runs, CSP blocks any).
import test from 'ava';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { source } from './support/source.js';
import { logRecord, newTraceId, span } from './support/spans.js';
import { startStore } from './support/store.js';

const CHROMIUM = '/usr/lib/chromium/chromium';
const artifact = (name: string) => fileURLToPath(new URL(`./artifacts/${name}`, import.meta.url));
const HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';

test('/ and /trace/{id} in Chromium: waterfall, error, log line, hostile names as text', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.fail(`${CHROMIUM} is missing (apt-get install -y chromium)`);
    return;
  }
  const key = 'su-ui';
  const { c, url } = await startStore(key);
  t.teardown(() => c.shutdown());
  const id = newTraceId();
  const now = Date.now() - 1000;
  const root = span({ traceId: id, service: 'web', name: 'GET /cart', startMs: now, durationMs: 120 });
  const db = span({ traceId: id, service: 'cart-db', name: 'SELECT cart', parentSpanId: root.spanId, startMs: now + 10, durationMs: 40, kind: 'client' });
  const pay = span({ traceId: id, service: 'payments', name: 'charge card', parentSpanId: root.spanId, startMs: now + 60, durationMs: 50, status: 'error', attributes: { 'card.brand': 'visa', note: HOSTILE } });
  const evil = span({ traceId: id, service: 'web', name: HOSTILE, parentSpanId: pay.spanId, startMs: now + 70, durationMs: 10, kind: 'internal' });
  await source(`test_source/${key}`).traces!.consume([root, db, pay, evil]);
  await source(`test_source/${key}`).logs!.consume([logRecord({ service: 'payments', body: 'card declined by issuer', severity: 17, traceId: id, timeMs: now + 100 })]);

  const browser = await chromium.launch({ executablePath: CHROMIUM });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });

  await page.goto(`${url}/`);
  await page.screenshot({ path: artifact('store-index.png'), fullPage: true });
  const failing = page.locator('h2:has-text("Failing traces") + table');
  t.is(await failing.locator(`a[href="/trace/${id}"]`).count(), 1);
  t.regex((await failing.textContent()) ?? '', /1 error/);
  await page.goto(`${url}/?service=cart-db`);
  t.is(await page.locator(`a[href="/trace/${id}"]`).count(), 2); // failing + recent
  await page.goto(`${url}/?service=nobody`);
  t.is(await page.locator(`a[href="/trace/${id}"]`).count(), 0);

  await page.goto(`${url}/trace/${id}`);
  await page.screenshot({ path: artifact('store-trace.png'), fullPage: true });
  const rows = page.locator('.wf .row');
  t.is(await rows.count(), 4);
  t.deepEqual(await page.locator('.wf .row .op').allTextContents(), ['GET /cart', 'SELECT cart', 'charge card', HOSTILE]);
  // the failing span is marked, and only it
  const errorRows = page.locator('.wf .row.error');
  t.is(await errorRows.count(), 1);
  t.is(await errorRows.locator('.op').textContent(), 'charge card');
  t.regex((await errorRows.textContent()) ?? '', /ERROR/);
  // bars are positioned by start and duration: the later span starts further right
  const boxes = await Promise.all([0, 2].map((i) => rows.nth(i).locator('.bar').boundingBox()));
  t.true(boxes[1]!.x > boxes[0]!.x + 100);
  t.true(boxes[0]!.width > boxes[1]!.width);
  // children are indented under their parent
  // (the test's tsconfig has no DOM lib: the browser's globals are reached through globalThis)
  type Styles = { getComputedStyle(e: unknown): { paddingLeft: string } };
  const pad = async (i: number) => parseFloat(await rows.nth(i).locator('.name').evaluate((e) => (globalThis as unknown as Styles).getComputedStyle(e).paddingLeft));
  t.true((await pad(3)) > (await pad(2)) && (await pad(2)) > (await pad(0)));
  // the trace's log line, and the span details
  t.regex((await page.locator('tr.log').textContent()) ?? '', /card declined by issuer/);
  t.true(((await page.locator('main').textContent()) ?? '').includes('card.brand'));
  // hostile text is text: no script ran, no element was injected
  t.is(await page.evaluate('globalThis.__pwned'), undefined);
  t.is(await page.locator('main script, main img').count(), 0);
  t.deepEqual(dialogs, []);
  const csp = (await page.request.get(`${url}/trace/${id}`)).headers()['content-security-policy'] ?? '';
  t.regex(csp, /default-src 'none'/);
  t.regex(csp, /script-src 'none'/);
});

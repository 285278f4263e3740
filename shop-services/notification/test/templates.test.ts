import test from 'ava';
import { escapeHtml, formatMoney, html, NOTIFIABLE_TYPES, oneLine, renderNotification, type NotifiableEvents } from '../src/templates.js';

const ctx = { shopName: 'Lantern Shop' };
const at = '2026-01-02T03:04:05.000Z';
const base = { orderId: '6f1c2b9e-0000-4000-8000-000000000001', userId: 'u1', email: 'a@example.com', totalCents: 2999, currency: 'USD', at };
const changed = (status: NotifiableEvents['order.paid']['status'], previousStatus: NotifiableEvents['order.paid']['previousStatus'], reason?: string) => ({
  ...base,
  status,
  previousStatus,
  ...(reason ? { reason } : {}),
});

test('every notifiable type renders a subject, text, HTML, SMS and in-app message naming the order', (t) => {
  const data: { [K in (typeof NOTIFIABLE_TYPES)[number]]: NotifiableEvents[K] } = {
    'order.placed': { ...base, items: [{ productId: 'p1', name: 'Kettle', quantity: 2, unitPriceCents: 1250 }] },
    'order.paid': changed('paid', 'reserved'),
    'order.payment_failed': changed('payment_failed', 'reserved', 'card declined'),
    'order.expired': changed('expired', 'reserved'),
    'order.cancelled': changed('cancelled', 'reserved'),
    'order.shipped': changed('shipped', 'paid'),
    'payment.refunded': { paymentId: 'pay-1', refundId: 'ref-1', orderId: base.orderId, userId: 'u1', amountCents: 500, refundedTotalCents: 500, currency: 'USD', at },
  };
  const subjects = new Set<string>();
  for (const type of NOTIFIABLE_TYPES) {
    const r = renderNotification(type, data[type] as never, ctx);
    if (!r) return t.fail(`${type} rendered nothing`);
    t.true(r.subject.startsWith('Lantern Shop: '), type);
    t.regex(r.subject, /6f1c2b9e/, type);
    t.true(r.text.includes(base.orderId), type);
    t.true(r.html.includes(base.orderId), type);
    t.true(r.html.startsWith('<!doctype html>'), type);
    t.true(r.sms.length <= 320 && r.sms.includes('6f1c2b9e'), type);
    t.true(r.title.length > 0 && r.body.includes(base.orderId), type);
    subjects.add(r.subject);
  }
  t.is(subjects.size, NOTIFIABLE_TYPES.length, 'each type has its own subject');
});

test('confirmation lists the lines and total; receipt the amount paid; refund the amounts', (t) => {
  const placed = renderNotification('order.placed', { ...base, items: [{ productId: 'p1', name: 'Kettle', quantity: 2, unitPriceCents: 1250 }, { productId: 'p2', sku: 'CUP-1', quantity: 1, unitPriceCents: 499 }] }, ctx)!;
  t.regex(placed.text, /2 × Kettle: \$25\.00/);
  t.regex(placed.text, /1 × CUP-1: \$4\.99/);
  t.regex(placed.text, /Total: \$29\.99/);
  t.regex(placed.subject, /confirmed/);
  const paid = renderNotification('order.paid', changed('paid', 'reserved'), ctx)!;
  t.regex(paid.subject, /receipt/);
  t.regex(paid.text, /payment of \$29\.99/);
  const refund = renderNotification('payment.refunded', { paymentId: 'pay-1', refundId: 'ref-1', orderId: 'o-1', userId: 'u1', amountCents: 500, refundedTotalCents: 1500, currency: 'EUR', at }, ctx)!;
  t.regex(refund.text, /Refunded now: €5\.00/);
  t.regex(refund.text, /Refunded in total: €15\.00/);
});

test('payment failed says the order was cancelled and nothing was charged, with the reason', (t) => {
  const r = renderNotification('order.payment_failed', changed('payment_failed', 'reserved', 'card declined'), ctx)!;
  t.regex(r.subject, /payment failed/i);
  t.regex(r.text, /failed \(card declined\)/);
  t.regex(r.text, /Your order was cancelled and nothing was charged/);
  t.regex(r.html, /Your order was cancelled and nothing was charged/);
  t.regex(r.sms, /payment failed, your order \S+ was cancelled and nothing was charged/);
});

test('a cancellation after payment failure or expiry sends nothing more (the customer was told already)', (t) => {
  t.is(renderNotification('order.cancelled', changed('cancelled', 'payment_failed'), ctx), null);
  t.is(renderNotification('order.cancelled', changed('cancelled', 'expired'), ctx), null);
  t.truthy(renderNotification('order.cancelled', changed('cancelled', 'pending'), ctx));
});

test('user data is escaped in HTML and flattened in subjects (no markup, no header injection)', (t) => {
  const hostile = '<script>alert("x")</script> & <img src=x onerror=1>';
  const r = renderNotification('order.placed', { ...base, orderId: 'o-1\r\nBcc: evil@example.com', items: [{ productId: 'p1', name: hostile, quantity: 1, unitPriceCents: 1 }] }, ctx)!;
  t.false(r.html.includes('<script>'));
  t.false(r.html.includes('<img'));
  t.true(r.html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=1&gt;'));
  t.false(/[\r\n]/.test(r.subject));
  t.false(/[\r\n]/.test(r.sms));
  const failed = renderNotification('order.payment_failed', changed('payment_failed', 'reserved', '<b>declined</b>\nBcc: x'), ctx)!;
  t.true(failed.html.includes('(&lt;b&gt;declined&lt;/b&gt; Bcc: x)'));
  t.is(escapeHtml(`'"&<>`), '&#39;&quot;&amp;&lt;&gt;');
  t.is(html`<p>${'<b>'}${html`<i>${'&'}</i>`}</p>`.value, '<p>&lt;b&gt;<i>&amp;</i></p>');
  t.is(oneLine('a\u2028b\u0000c'.padEnd(50, 'x'), 10), 'a b cxxxx…');
});

test('money uses the currency’s own minor unit', (t) => {
  t.is(formatMoney(123456, 'USD'), '$1,234.56');
  t.is(formatMoney(1200, 'JPY'), '¥1,200');
  t.regex(formatMoney(1000, 'KWD'), /^KWD\s1\.000$/);
  t.regex(formatMoney(250, 'ZZZ'), /^ZZZ\s2\.50$/);
});

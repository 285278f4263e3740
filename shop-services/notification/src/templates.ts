import type { OrderPlaced, OrderStatusChanged, PaymentRefunded } from '@lantern/shop-common';

/**
 * Message templates: one per notifiable event type, each giving an email (subject, text, HTML), an
 * SMS text and the in-app title/body. Event data comes from other services and ultimately from
 * users (product names, provider reasons), so every interpolation into HTML goes through `html`,
 * which escapes it; subjects lose control characters and are bounded.
 */

export interface TemplateContext {
  shopName: string;
}

export interface RenderedNotification {
  subject: string;
  text: string;
  html: string;
  sms: string;
  /** In-app message. */
  title: string;
  body: string;
}

/** The event types that produce a notification, with their data. */
export interface NotifiableEvents {
  'order.placed': OrderPlaced;
  'order.paid': OrderStatusChanged;
  'order.payment_failed': OrderStatusChanged;
  'order.expired': OrderStatusChanged;
  'order.cancelled': OrderStatusChanged;
  'order.shipped': OrderStatusChanged;
  'payment.refunded': PaymentRefunded;
}
export type NotifiableType = keyof NotifiableEvents;
export const NOTIFIABLE_TYPES = ['order.placed', 'order.paid', 'order.payment_failed', 'order.expired', 'order.cancelled', 'order.shipped', 'payment.refunded'] as const satisfies readonly NotifiableType[];

// ---------------------------------------------------------------------------------------------
// HTML with escaping by default

/** Markup that is already safe (built by `html`); anything else interpolated is escaped. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

type HtmlValue = SafeHtml | string | number | readonly SafeHtml[] | undefined | null;

/** Tagged template: `html\`<p>${name}</p>\`` escapes `name`; nested `html` results and arrays of them pass through. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    if (v instanceof SafeHtml) out += v.value;
    else if (Array.isArray(v)) out += v.map((x: SafeHtml) => x.value).join('');
    else if (v !== undefined && v !== null) out += escapeHtml(v);
    out += strings[i + 1] ?? '';
  });
  return new SafeHtml(out);
}

/** One line for a header or an SMS: no control characters (CR/LF would end a header), bounded. */
export function oneLine(s: string, max: number): string {
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
  const flat = s.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

// ---------------------------------------------------------------------------------------------
// Formatting

/** Integer minor units → "$12.34" / "¥1,200", using the currency's own number of decimals. */
/**
 * One formatter per currency: building an Intl.NumberFormat loads locale data and was the
 * notification service's hottest function (4% of its CPU) when made per call. The events' currencies
 * are ISO codes (a handful in practice); the map is capped anyway.
 */
const moneyFormats = new Map<string, { fmt: Intl.NumberFormat; digits: number } | null>();
const MAX_CACHED_CURRENCIES = 256;

function moneyFormat(currency: string): { fmt: Intl.NumberFormat; digits: number } | null {
  let entry = moneyFormats.get(currency);
  if (entry !== undefined) return entry;
  try {
    const fmt = new Intl.NumberFormat('en-US', { style: 'currency', currency });
    entry = { fmt, digits: fmt.resolvedOptions().maximumFractionDigits ?? 2 };
  } catch {
    entry = null; // a code Intl does not know
  }
  if (moneyFormats.size < MAX_CACHED_CURRENCIES) moneyFormats.set(currency, entry);
  return entry;
}

export function formatMoney(minor: number, currency: string): string {
  const f = moneyFormat(currency);
  if (!f) return `${(minor / 100).toFixed(2)} ${currency}`; // still readable
  return f.fmt.format(minor / 10 ** f.digits);
}

/** Short, readable reference for an order id (UUIDs are long in a subject line). */
export function orderRef(orderId: string): string {
  return oneLine(orderId.length > 8 ? orderId.slice(0, 8) : orderId, 16);
}

function formatTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toUTCString();
}

// ---------------------------------------------------------------------------------------------
// Layout shared by every message

interface Parts {
  subject: string;
  /** Paragraphs of the message, plain text. */
  paragraphs: string[];
  /** Optional table rows (label, value), plain text. */
  rows?: [string, string][];
  sms: string;
  title: string;
}

function layout(parts: Parts, ctx: TemplateContext): RenderedNotification {
  const subject = oneLine(`${ctx.shopName}: ${parts.subject}`, 200);
  const rowsText = (parts.rows ?? []).map(([k, v]) => `  ${k}: ${v}`).join('\n');
  const text = [...parts.paragraphs, ...(rowsText ? [rowsText] : []), `— ${ctx.shopName}`].join('\n\n') + '\n';
  const rowsHtml = (parts.rows ?? []).map(([k, v]) => html`<tr><td style="padding:2px 12px 2px 0;color:#555">${k}</td><td>${v}</td></tr>`);
  const body = html`<!doctype html>
<html><head><meta charset="utf-8"><title>${subject}</title></head>
<body style="font-family:sans-serif;line-height:1.4">
${parts.paragraphs.map((p) => html`<p>${p}</p>\n`)}${rowsHtml.length ? html`<table>${rowsHtml}</table>\n` : ''}<p style="color:#777">— ${ctx.shopName}</p>
</body></html>
`;
  return {
    subject,
    text,
    html: body.value,
    sms: oneLine(`${ctx.shopName}: ${parts.sms}`, 320),
    title: oneLine(parts.title, 200),
    body: parts.paragraphs.join('\n'),
  };
}

const reasonSuffix = (reason: string | undefined) => (reason ? ` (${oneLine(reason, 200)})` : '');

// ---------------------------------------------------------------------------------------------
// The templates

type Template<T extends NotifiableType> = (data: NotifiableEvents[T], ctx: TemplateContext) => RenderedNotification | null;

const templates: { [T in NotifiableType]: Template<T> } = {
  'order.placed': (d, ctx) => {
    const total = formatMoney(d.totalCents, d.currency);
    const lines = d.items.map((i) => {
      const name = oneLine(i.name ?? i.sku ?? i.productId, 200);
      return [`${i.quantity} × ${name}`, formatMoney(i.unitPriceCents * i.quantity, d.currency)] as [string, string];
    });
    return layout(
      {
        subject: `order ${orderRef(d.orderId)} confirmed`,
        paragraphs: [
          `Thank you for your order ${d.orderId}. We have reserved your items.`,
          d.expiresAt ? `Please complete the payment of ${total} before ${formatTime(d.expiresAt)}, or the order will expire.` : `Total: ${total}.`,
        ],
        rows: [...lines, ['Total', total]],
        sms: `order ${orderRef(d.orderId)} confirmed, total ${total}.`,
        title: `Order ${orderRef(d.orderId)} confirmed`,
      },
      ctx,
    );
  },
  'order.paid': (d, ctx) => {
    const total = formatMoney(d.totalCents, d.currency);
    return layout(
      {
        subject: `receipt for order ${orderRef(d.orderId)}`,
        paragraphs: [`We received your payment of ${total} for order ${d.orderId}. Thank you!`, 'We will let you know when it ships.'],
        rows: [
          ['Order', d.orderId],
          ['Amount paid', total],
          ...(d.paymentId ? ([['Payment', d.paymentId]] as [string, string][]) : []),
          ['Paid at', formatTime(d.at)],
        ],
        sms: `payment of ${total} received for order ${orderRef(d.orderId)}.`,
        title: `Payment received for order ${orderRef(d.orderId)}`,
      },
      ctx,
    );
  },
  'order.payment_failed': (d, ctx) =>
    layout(
      {
        subject: `payment failed, order ${orderRef(d.orderId)} cancelled`,
        paragraphs: [
          `Your payment for order ${d.orderId} failed${reasonSuffix(d.reason)}.`,
          'Your order was cancelled and nothing was charged. The reserved items were released.',
        ],
        rows: [['Order total', formatMoney(d.totalCents, d.currency)]],
        sms: `payment failed, your order ${orderRef(d.orderId)} was cancelled and nothing was charged.`,
        title: `Payment failed: order ${orderRef(d.orderId)} cancelled`,
      },
      ctx,
    ),
  'order.expired': (d, ctx) =>
    layout(
      {
        subject: `order ${orderRef(d.orderId)} expired`,
        paragraphs: [`We did not receive the payment for order ${d.orderId} in time, so it expired.`, 'The order was cancelled and nothing was charged.'],
        sms: `order ${orderRef(d.orderId)} expired unpaid; nothing was charged.`,
        title: `Order ${orderRef(d.orderId)} expired`,
      },
      ctx,
    ),
  'order.cancelled': (d, ctx) => {
    // payment_failed and expired already told the customer that the order is cancelled
    if (d.previousStatus === 'payment_failed' || d.previousStatus === 'expired') return null;
    const refund = d.previousStatus === 'paid' || d.previousStatus === 'shipped';
    return layout(
      {
        subject: `order ${orderRef(d.orderId)} cancelled`,
        paragraphs: [
          `Your order ${d.orderId} was cancelled${reasonSuffix(d.reason)}.`,
          refund ? 'Your payment will be refunded; you will receive a separate message when it is.' : 'Nothing was charged.',
        ],
        sms: `order ${orderRef(d.orderId)} cancelled.${refund ? '' : ' Nothing was charged.'}`,
        title: `Order ${orderRef(d.orderId)} cancelled`,
      },
      ctx,
    );
  },
  'order.shipped': (d, ctx) =>
    layout(
      {
        subject: `order ${orderRef(d.orderId)} shipped`,
        paragraphs: [`Good news: your order ${d.orderId} is on its way.`],
        rows: [['Shipped at', formatTime(d.at)]],
        sms: `order ${orderRef(d.orderId)} has shipped.`,
        title: `Order ${orderRef(d.orderId)} shipped`,
      },
      ctx,
    ),
  'payment.refunded': (d, ctx) => {
    const amount = formatMoney(d.amountCents, d.currency);
    return layout(
      {
        subject: `refund of ${amount} for order ${orderRef(d.orderId)}`,
        paragraphs: [
          `We refunded ${amount} for order ${d.orderId}.`,
          'Depending on your bank, it can take a few days to show on your statement.',
        ],
        rows: [
          ['Refunded now', amount],
          ['Refunded in total', formatMoney(d.refundedTotalCents, d.currency)],
          ['Refund', d.refundId],
        ],
        sms: `refund of ${amount} issued for order ${orderRef(d.orderId)}.`,
        title: `Refund of ${amount} for order ${orderRef(d.orderId)}`,
      },
      ctx,
    );
  },
};

/** The notification for an event, or null when this event does not warrant one (e.g. cancelled after payment_failed). */
export function renderNotification<T extends NotifiableType>(type: T, data: NotifiableEvents[T], ctx: TemplateContext): RenderedNotification | null {
  return (templates[type] as Template<T>)(data, ctx);
}

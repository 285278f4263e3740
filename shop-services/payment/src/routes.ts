import type Koa from 'koa';
import { z } from 'zod';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  UnauthorizedError,
  defineRoute,
  parse,
  type AnyRoute,
  type AuthUser,
  type Logger,
  type PaymentChannel,
  type ServiceCaller,
} from '@lantern/shop-common';
import { SIGNATURE_HEADER, verifyCallbackSignature } from './callbacks/signature.js';
import { providerEventSchema, type CallbackHandler } from './callbacks/callback-handler.js';
import type { SimulatedChannel } from './channels/simulated-channel.js';
import { callbacksTotal } from './metrics.js';
import { assertPayer, type PaymentService } from './payments/payment-service.js';
import type { RefundService } from './payments/refund-service.js';
import { ReconciliationBusyError, type Reconciler } from './reconciliation/reconciler.js';
import type { ChannelRouter } from './routing/channel-router.js';
import {
  callbackParams,
  channelParams,
  channelStatusSchema,
  createPaymentBody,
  idempotencyKeySchema,
  listPaymentsQuery,
  paymentIdParams,
  paymentSchema,
  reconciliationRunBody,
  refundBody,
  refundSchema,
  simulationBody,
} from './schemas.js';

export interface PaymentRouteDeps {
  payments: PaymentService;
  refunds: RefundService;
  callbacks: CallbackHandler;
  reconciler: Reconciler;
  router: ChannelRouter;
  /** The simulated providers behind the channels, for fault injection. */
  simulated: ReadonlyMap<PaymentChannel, SimulatedChannel>;
  allowedCallers: readonly string[];
  callbackSecret: string;
  callbackToleranceSeconds: number;
  logger: Logger;
}

const emailSchema = z.email();

/** The optional Idempotency-Key header, validated like any other input. */
function idempotencyKey(ctx: Koa.Context): string | undefined {
  const raw = ctx.get('idempotency-key');
  if (!raw) return undefined;
  return parse(z.object({ 'idempotency-key': idempotencyKeySchema }), { 'idempotency-key': raw }, 'headers')['idempotency-key'];
}

/** Same answer for every bad signature: the reason is logged, never told to the caller. */
const badSignature = () => new UnauthorizedError('invalid callback signature', 'invalid_signature');

/**
 * The service's routes. Without deps they only describe the API (for OpenAPI); their handlers then
 * refuse to run. Fixed paths come before `/payments/:id`.
 */
export function createPaymentRoutes(deps?: PaymentRouteDeps): AnyRoute[] {
  const need = (): PaymentRouteDeps => {
    if (!deps) throw new Error('payment routes were created without dependencies (documentation only)');
    return deps;
  };
  const channelStatus = () => {
    const d = need();
    const ranked = d.router.rank();
    return d.router.status().map((s) => ({ ...s, rank: ranked.indexOf(s.channel) + 1, simulation: d.simulated.get(s.channel)!.settings }));
  };
  return [
    defineRoute({
      method: 'POST',
      path: '/payments',
      summary: 'Create and charge the payment of an order (order service only; idempotent by order id and Idempotency-Key)',
      tags: ['payments'],
      auth: 'none',
      body: createPaymentBody,
      response: paymentSchema,
      status: 201,
      handler: async ({ body, user, ctx }) => {
        const d = need();
        const caller = ctx.state.caller as ServiceCaller | undefined;
        if (!caller || !d.allowedCallers.includes(caller.service)) throw new ForbiddenError('only the order service creates payments', 'caller_not_allowed');
        assertPayer(user, body.userId);
        const key = idempotencyKey(ctx);
        const email = user?.id === body.userId && user.email && emailSchema.safeParse(user.email).success ? user.email : undefined;
        const { payment, replayed } = await d.payments.create({ ...body, ...(key ? { idempotencyKey: key } : {}), ...(email ? { email } : {}) });
        if (replayed) ctx.set('idempotent-replayed', 'true');
        return payment;
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/payments',
      summary: 'Payments of the user (admins: all, or ?userId=), optionally of one order',
      tags: ['payments'],
      auth: 'user',
      query: listPaymentsQuery,
      response: z.object({ items: z.array(paymentSchema) }),
      handler: async ({ query, user }) => ({ items: await need().payments.list(query, user) }),
    }),
    defineRoute({
      method: 'GET',
      path: '/payments/channels',
      summary: 'Per channel: routing window (success rate, latency), breaker state, score and simulation settings (admin)',
      tags: ['payments'],
      auth: 'admin',
      response: z.object({ channels: z.array(channelStatusSchema) }),
      handler: async () => ({ channels: channelStatus() }),
    }),
    defineRoute({
      method: 'PUT',
      path: '/payments/channels/:channel/simulation',
      summary: "Change a simulated channel's latency, failure or decline rate in this instance (admin; fault injection)",
      tags: ['payments'],
      auth: 'admin',
      params: channelParams,
      body: simulationBody,
      response: channelStatusSchema,
      handler: async ({ params, body }) => {
        const d = need();
        const sim = d.simulated.get(params.channel);
        if (!sim) throw new NotFoundError(`channel ${params.channel} is not enabled`, 'channel_not_found');
        sim.configure(body);
        d.logger.info({ channel: params.channel, simulation: sim.settings }, 'channel simulation changed');
        return channelStatus().find((c) => c.channel === params.channel)!;
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/payments/reconciliation/run',
      summary: "Compare the ledger with every channel's records now (admin)",
      tags: ['payments'],
      auth: 'admin',
      body: reconciliationRunBody,
      handler: async ({ body }) => {
        try {
          return await need().reconciler.run(body.windowMinutes ? { windowMs: body.windowMinutes * 60_000 } : {});
        } catch (err) {
          if (err instanceof ReconciliationBusyError) throw new ConflictError(err.message, err.code);
          throw err;
        }
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/payments/callbacks/:channel',
      summary: 'Provider callback, signed with HMAC-SHA256 in X-Lantern-Signature (public at the gateway)',
      tags: ['payments'],
      auth: 'none',
      params: callbackParams,
      response: z.object({ received: z.literal(true), outcome: z.enum(['applied', 'replayed', 'ignored']) }),
      handler: async ({ params, ctx }) => {
        const d = need();
        if (!d.router.has(params.channel)) throw new NotFoundError(`no payment channel ${params.channel}`, 'channel_not_found');
        const channel = params.channel;
        // the bytes as received (before JSON parsing), which is what the provider signed
        const rawBody = (ctx.request as { rawBody?: unknown }).rawBody;
        const check = verifyCallbackSignature(ctx.get(SIGNATURE_HEADER) || undefined, typeof rawBody === 'string' ? rawBody : undefined, {
          secret: d.callbackSecret,
          toleranceSeconds: d.callbackToleranceSeconds,
        });
        if (!check.ok) {
          callbacksTotal.inc({ channel, outcome: 'rejected' });
          d.logger.warn({ channel, reason: check.reason }, 'provider callback refused: bad signature');
          throw badSignature();
        }
        // validated only once the signature holds: an unsigned caller learns nothing about the format
        const event = parse(providerEventSchema, ctx.request.body, 'body');
        const { outcome } = await d.callbacks.apply(channel, event);
        return { received: true as const, outcome };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/payments/:id',
      summary: 'One payment (owner or admin; anyone else gets 404)',
      tags: ['payments'],
      auth: 'user',
      params: paymentIdParams,
      response: paymentSchema,
      handler: async ({ params, user }) => need().payments.get(params.id, user),
    }),
    defineRoute({
      method: 'GET',
      path: '/payments/:id/refunds',
      summary: 'Refunds of a payment (owner or admin)',
      tags: ['payments'],
      auth: 'user',
      params: paymentIdParams,
      response: z.object({ items: z.array(refundSchema) }),
      handler: async ({ params, user }) => {
        const d = need();
        await d.payments.get(params.id, user); // 404 unless visible to this user
        return { items: await d.refunds.list(params.id) };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/payments/:id/refunds',
      summary: 'Refund all or part of a payment through its channel (admin; never more than paid − refunded)',
      tags: ['payments'],
      auth: 'admin',
      params: paymentIdParams,
      body: refundBody,
      response: z.object({ refund: refundSchema, payment: paymentSchema }),
      status: 201,
      handler: async ({ params, body, user, ctx }) => {
        const key = idempotencyKey(ctx);
        const { refund, payment, replayed } = await need().refunds.refund({
          paymentId: params.id,
          reason: body.reason,
          requestedBy: (user as AuthUser).id,
          ...(body.amountCents !== undefined ? { amountCents: body.amountCents } : {}),
          ...(key ? { idempotencyKey: key } : {}),
        });
        if (replayed) ctx.set('idempotent-replayed', 'true');
        return { refund, payment };
      },
    }),
  ];
}

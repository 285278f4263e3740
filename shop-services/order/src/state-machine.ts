import { AppError, type OrderStatus } from '@lantern/shop-common';

export type { OrderStatus };

/**
 * The order lifecycle. `pending` = created, stock not reserved yet; `reserved` = stock held, waiting
 * for payment; the last four are terminal. Anything not listed here is an illegal transition.
 */
export const TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  pending: ['reserved', 'cancelled'],
  reserved: ['paid', 'cancelled', 'payment_failed', 'expired'],
  paid: ['shipped'],
  shipped: ['completed'],
  completed: [],
  cancelled: [],
  payment_failed: [],
  expired: [],
};

/** States whose stock reservation is still held at inventory (a move out of them must release it). */
export const HOLDS_RESERVATION: ReadonlySet<OrderStatus> = new Set(['reserved']);

export const TERMINAL: ReadonlySet<OrderStatus> = new Set(['completed', 'cancelled', 'payment_failed', 'expired']);

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** 409 `illegal_transition`: the details say from where to where, and what is allowed instead. */
export class IllegalTransitionError extends AppError {
  constructor(
    readonly orderId: string,
    readonly from: OrderStatus,
    readonly to: OrderStatus,
  ) {
    const allowed = TRANSITIONS[from];
    super(409, 'illegal_transition', `order ${orderId} cannot go from ${from} to ${to}${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ` (${from} is final)`}`, {
      details: [{ message: `${from} → ${to} is not allowed`, from, to, allowed: [...allowed] }],
    });
  }
}

/** Throws IllegalTransitionError unless from → to is an edge of the machine. */
export function assertTransition(orderId: string, from: OrderStatus, to: OrderStatus): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(orderId, from, to);
}

import { ConflictError } from '@lantern/shop-common';

/**
 * The cheap path once a sale is sold out: a flag per sale, learnt from Redis (or Postgres), answered
 * from memory. The flag lapses after `recheckMs`, so a unit given back later (a Postgres failure, an
 * order that was never created) is sold again: after a lapse exactly one request asks Redis (the others
 * keep the answer meanwhile) and sets the flag again if it is still sold out. So a sold-out sale costs
 * each instance at most one Redis call per `recheckMs`, however many buyers keep trying.
 */
export class SoldOutFlags {
  private readonly until = new Map<string, number>();
  /** Sales whose lapsed flag one request is re-checking, and since when. */
  private readonly checking = new Map<string, number>();
  private readonly errors = new Map<string, ConflictError>();

  constructor(
    private readonly recheckMs: number,
    private readonly now: () => number = Date.now,
    /** Sales tracked at once; beyond that, lapsed flags are dropped first. */
    private readonly maxSales = 10_000,
  ) {}

  isSoldOut(saleId: string): boolean {
    const until = this.until.get(saleId);
    if (until === undefined) return false;
    const now = this.now();
    if (until > now) return true;
    // lapsed: this caller re-checks; others keep the answer unless that check is itself overdue (its
    // request may have stopped before reaching Redis)
    const since = this.checking.get(saleId);
    if (since !== undefined && since + this.recheckMs > now) return true;
    this.checking.set(saleId, now);
    return false;
  }

  set(saleId: string): void {
    this.checking.delete(saleId);
    if (this.until.size >= this.maxSales && !this.until.has(saleId)) this.prune();
    this.until.set(saleId, this.now() + this.recheckMs);
  }

  /**
   * The 409 for a sold-out sale, made once per sale: the answer is the same every time, and capturing a
   * new stack trace per attempt would be the costliest step of the fast path.
   */
  error(saleId: string): ConflictError {
    let err = this.errors.get(saleId);
    if (!err) {
      if (this.errors.size >= this.maxSales) this.errors.clear();
      err = new ConflictError(`flash sale ${saleId} is sold out`, 'sold_out');
      this.errors.set(saleId, err);
    }
    return err;
  }

  /** A unit came back to this sale. */
  clear(saleId: string): void {
    this.until.delete(saleId);
    this.checking.delete(saleId);
  }

  private prune(): void {
    const now = this.now();
    for (const [id, until] of this.until) if (until <= now) this.clear(id);
    // still full of live flags: forget the oldest (a forgotten flag only costs one Redis call)
    if (this.until.size >= this.maxSales) this.until.delete(this.until.keys().next().value as string);
  }
}

// A bounded FIFO of export requests. Capacity counts requests waiting (not the ones being sent), like
// the collector's sending_queue. A slot is reserved before the request is stored (a persistent queue
// writes a file first), so concurrent producers can never overfill it.

export class BoundedQueue<T> {
  private items: T[] = [];
  private reserved = 0;
  private takers: ((item: T | undefined) => void)[] = [];
  private spaceWaiters: (() => void)[] = [];
  private closed = false;
  /** When closed: hand out what is left (memory queue draining) or nothing (persistent queue: files stay). */
  private drainOnClose = true;

  constructor(
    readonly capacity: number,
    private readonly onSize: (size: number) => void = () => undefined,
  ) {}

  get size(): number {
    return this.items.length;
  }

  /** Takes a slot if one is free. */
  tryReserve(): boolean {
    if (this.closed || this.items.length + this.reserved >= this.capacity) return false;
    this.reserved++;
    return true;
  }

  /** Takes a slot, waiting for one when `block`; false if none (or the queue closed while waiting). */
  async reserve(block: boolean): Promise<boolean> {
    while (!this.tryReserve()) {
      if (!block || this.closed) return false;
      await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
    }
    return true;
  }

  /** Gives back a reserved slot whose request could not be stored. */
  unreserve(): void {
    this.reserved--;
    this.wakeProducer();
  }

  /** Adds an item into a reserved slot; `reserved: false` adds over capacity (requests loaded from disk at start). */
  push(item: T, reserved = true): void {
    if (reserved) this.reserved--;
    const taker = this.takers.shift();
    if (taker) {
      taker(item);
      this.wakeProducer();
    } else {
      this.items.push(item);
    }
    this.onSize(this.items.length);
  }

  /** The oldest item, waiting for one; undefined once closed (and, when draining, empty). */
  take(): Promise<T | undefined> {
    if (this.items.length > 0 && (!this.closed || this.drainOnClose)) {
      const item = this.items.shift();
      this.onSize(this.items.length);
      this.wakeProducer();
      return Promise.resolve(item);
    }
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.takers.push(resolve));
  }

  /** No more producers; idle takers get undefined. `drain`: takers still get what is queued. */
  close(drain: boolean): void {
    this.closed = true;
    this.drainOnClose = drain;
    for (const t of this.takers.splice(0)) t(undefined);
    for (const w of this.spaceWaiters.splice(0)) w();
  }

  /** Removes and returns everything still queued. */
  removeAll(): T[] {
    const left = this.items.splice(0);
    this.onSize(0);
    return left;
  }

  private wakeProducer(): void {
    this.spaceWaiters.shift()?.();
  }
}

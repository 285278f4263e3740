// Linking one abort signal to another controller without AbortSignal.any (which keeps a weak reference per
// link on a long-lived source signal) and without a closure per link (tsx names each one it creates).

/** Aborts `target` when `source` aborts (at once if it already has), until unlink(). */
export class AbortLink {
  constructor(
    private readonly target: AbortController,
    private readonly source: AbortSignal,
  ) {
    if (source.aborted) target.abort();
    else source.addEventListener('abort', this, { once: true });
  }

  /** EventListener interface: the source aborted. */
  handleEvent(): void {
    this.target.abort();
  }

  unlink(): void {
    this.source.removeEventListener('abort', this);
  }
}

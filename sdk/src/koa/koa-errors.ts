/** Base for errors raised by the Koa integration; `code` is stable and safe to branch on. */
export class LanternKoaError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

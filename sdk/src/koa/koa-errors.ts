import { LanternError } from '../errors.js';

/** Base for errors raised by the Koa integration: a LanternError, so `code` is stable and safe to branch on. */
export class LanternKoaError extends LanternError {}

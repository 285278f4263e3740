import { z } from 'zod';

export const roleSchema = z.enum(['customer', 'admin']);
export type Role = z.infer<typeof roleSchema>;

/** The end user a request acts for, as services see it on ctx.state.user. */
export interface AuthUser {
  id: string;
  role: Role;
  email?: string;
}

/** The calling service, from a verified internal token, on ctx.state.caller. */
export interface ServiceCaller {
  service: string;
}

/** What the shop's Koa apps keep on ctx.state. */
export interface ShopState {
  caller?: ServiceCaller;
  user?: AuthUser;
}

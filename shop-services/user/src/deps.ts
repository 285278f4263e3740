import type { UsersRepo } from './users-repo.js';
import type { PasswordHasher } from './passwords.js';
import type { LoginGuard } from './login-guard.js';
import type { Sessions } from './sessions.js';

/** What the route handlers use. */
export interface UserServiceDeps {
  users: UsersRepo;
  passwords: PasswordHasher;
  loginGuard: LoginGuard;
  sessions: Sessions;
}

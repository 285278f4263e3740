import argon2 from 'argon2';

export interface PasswordHasherOptions {
  /** KiB; OWASP's argon2id minimum is 19 MiB with 2 iterations. */
  memoryCost?: number;
  timeCost?: number;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
  /** Spends the same work as a real check, so unknown emails cannot be told apart by timing. */
  burn(password: string): Promise<void>;
}

export async function createPasswordHasher(opts: PasswordHasherOptions = {}): Promise<PasswordHasher> {
  const params: argon2.HashOptions & { raw?: false } = { type: argon2.argon2id, memoryCost: opts.memoryCost ?? 19_456, timeCost: opts.timeCost ?? 2, parallelism: 1 };
  const dummy = await argon2.hash('not-a-real-password-only-for-timing', params);
  return {
    hash: (password) => argon2.hash(password, params),
    async verify(hash, password) {
      try {
        return await argon2.verify(hash, password);
      } catch {
        return false; // corrupt stored hash: treat as a failed login, never a 500 with details
      }
    },
    async burn(password) {
      await argon2.verify(dummy, password).catch(() => false);
    },
  };
}

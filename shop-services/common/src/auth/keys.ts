/** HS256 keys must be at least 256 bits; config schemas enforce the same minimum. */
export const MIN_SECRET_LENGTH = 32;

const encoder = new TextEncoder();

export function secretKey(secret: string): Uint8Array {
  if (secret.length < MIN_SECRET_LENGTH) throw new Error(`signing secret must be at least ${MIN_SECRET_LENGTH} characters`);
  return encoder.encode(secret);
}

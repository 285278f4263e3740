// redaction settings, as the contrib redactionprocessor spells them. Patterns are compiled here, once,
// so an invalid one is a ConfigError naming its key (processors.redaction.blocked_values.2).
import { z } from 'zod';
import { compilePattern, type Pattern } from './patterns.js';

const pattern = () =>
  z.string().transform((source, ctx): Pattern => {
    try {
      return compilePattern(source);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${(err as Error).message}` });
      return z.NEVER;
    }
  });

const patterns = () => z.array(pattern()).default([]);
const keys = () => z.array(z.string()).default([]);

export const configSchema = z.strictObject({
  /**
   * Keep every attribute key (only values are checked). Default true here, unlike contrib's fail-closed
   * false: Lantern's SDK already redacts secrets at the source, so this processor is a second line for
   * values; dropping every key not listed is opt-in (allow_all_keys: false + allowed_keys).
   */
  allow_all_keys: z.boolean().default(true),
  /** With allow_all_keys false: the only attribute keys kept (plus the processor's own redaction.* keys). */
  allowed_keys: keys(),
  /** Keys passed through untouched: never removed, never masked. */
  ignored_keys: keys(),
  /** Like ignored_keys, by regular expression on the key. */
  ignored_key_patterns: patterns(),
  /** Keys whose whole value is masked, by regular expression on the key. */
  blocked_key_patterns: patterns(),
  /** Regular expressions on string values: each match is masked. */
  blocked_values: patterns(),
  /** Regular expressions on values: a value matching any is left as it is, blocked or not. */
  allowed_values: patterns(),
  /** none masks with ****; otherwise the hex digest of what is masked (sha3 is SHA3-256, as contrib). */
  hash_function: z.enum(['none', 'md5', 'sha1', 'sha256', 'sha3']).default('none'),
  /** Audit attributes added to each changed span/log/point: debug (counts and key names), info (counts), silent. */
  summary: z.enum(['debug', 'info', 'silent']).default('info'),
  /** Also check non-string values (numbers, booleans, arrays, maps) as their string form, e.g. card numbers sent as ints. */
  redact_all_types: z.boolean().default(false),
});

export type RedactionConfig = z.output<typeof configSchema>;

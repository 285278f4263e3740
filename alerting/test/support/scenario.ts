// One engine on a fresh schema with a manual clock starting at 2030-01-01T00:00:00Z (a Tuesday, UTC).
import type { ExecutionContext } from 'ava';
import { freshSchema } from '@lantern/testkit';
import type { PostableAlert } from '../../src/model/alert.js';
import type { Integration } from '../../src/model/notification.js';
import { recorder, startEngine, type Call, type Engine } from './engine.js';
import { ManualClock } from './manual-clock.js';

export const T0 = new Date('2030-01-01T00:00:00Z');
export const at = (s: number): Date => new Date(T0.getTime() + Math.round(s * 1000));

export interface Scenario {
  clock: ManualClock;
  engine: Engine;
  calls: Call[];
  schema: string;
  /** Posts alerts at the current virtual time (endsAt/startsAt in virtual seconds). */
  post(alerts: Array<{ labels: Record<string, string>; startsAt?: number; endsAt?: number; annotations?: Record<string, string> }>): Promise<void>;
}

export function toPostable(a: { labels: Record<string, string>; startsAt?: number; endsAt?: number; annotations?: Record<string, string> }): PostableAlert {
  return {
    labels: a.labels,
    ...(a.annotations ? { annotations: a.annotations } : {}),
    ...(a.startsAt !== undefined ? { startsAt: at(a.startsAt) } : {}),
    ...(a.endsAt !== undefined ? { endsAt: at(a.endsAt) } : {}),
  };
}

export async function scenario(
  t: ExecutionContext,
  yaml: string,
  integrations: (calls: Call[], clock: ManualClock) => Record<string, Integration[]> = (calls, clock) => ({ r: [recorder({ name: 'webhook[0]', calls, clock })] }),
): Promise<Scenario> {
  const schema = await freshSchema('alerting_dispatch');
  const clock = new ManualClock(T0);
  const calls: Call[] = [];
  const engine = await startEngine({ schema: schema.name, yaml, clock, integrations: integrations(calls, clock) });
  clock.settle = () => engine.dispatcher.idle();
  t.teardown(async () => {
    await engine.stop();
    await schema.drop();
  });
  await clock.to(0);
  t.true(engine.dispatcher.isLeader(), 'a lone dispatcher leads');
  return {
    clock,
    engine,
    calls,
    schema: schema.name,
    async post(alerts) {
      await engine.stores.alerts.put(alerts.map(toPostable), clock.now());
      await engine.dispatcher.idle();
    },
  };
}

/** Calls as `at: firing | resolved` strings, for compact assertions. */
export const summary = (calls: Call[]): string[] =>
  calls.map((c) => `${c.at}${c.integration === 'webhook[0]' ? '' : ` ${c.integration}`}${c.level ? ` L${c.level}` : ''}: ${[c.firing.join(','), c.resolved.length ? `resolved ${c.resolved.join(',')}` : ''].filter(Boolean).join(' | ')}`);

// Config file → validated config. Errors name the key (`processors.batch.timeout: …`), so a bad file
// is fixed from the message alone. Component bodies are validated by their factories' schemas.
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../pipeline/errors.js';
import type { ComponentFactory, ComponentKind, Signal } from '../pipeline/types.js';
import { collectorConfigSchema, componentType, type CollectorConfig } from './schema.js';

export interface LoadedConfig {
  raw: CollectorConfig;
  /** Validated component configs by kind and id (defaults applied). */
  components: Record<ComponentKind, Map<string, unknown>>;
}

export type FactoryLookup = (kind: ComponentKind, type: string) => ComponentFactory | undefined;

const KIND_KEY: Record<ComponentKind, 'receivers' | 'processors' | 'exporters'> = { receiver: 'receivers', processor: 'processors', exporter: 'exporters' };

/** `${env:NAME}` and `${env:NAME:-default}`, as the OpenTelemetry Collector expands them. */
export function expandEnv(text: string, env: NodeJS.ProcessEnv = process.env): string {
  return text.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, def?: string) => {
    const v = env[name];
    if (v !== undefined && v !== '') return v;
    if (def !== undefined) return def;
    throw new ConfigError(`\${env:${name}}`, `environment variable ${name} is not set and has no default`);
  });
}

export function formatZodPath(prefix: string, path: readonly PropertyKey[]): string {
  return [prefix, ...path.map(String)].filter((p) => p !== '').join('.');
}

/** The first issue of a zod error as a ConfigError naming its key under `prefix`. */
export function zodToConfigError(prefix: string, error: z.ZodError): ConfigError {
  const issue = error.issues[0]!;
  // a bad record key (component or pipeline id) carries the key's own issue inside
  const inner = issue.code === 'invalid_key' ? issue.issues[0]?.message : undefined;
  return new ConfigError(formatZodPath(prefix, issue.path), inner ?? issue.message);
}

export async function readConfigFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError('', `cannot read config file ${path}: ${(err as Error).message}`);
  }
  return parseConfigText(text, path);
}

export function parseConfigText(text: string, source = 'config'): unknown {
  try {
    // maxAliasCount bounds YAML alias expansion ("billion laughs")
    return parse(expandEnv(text), { maxAliasCount: 100 });
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError('', `${source} is not valid YAML: ${(err as Error).message}`);
  }
}

/** Validates the whole document; throws ConfigError naming the first bad key. */
export function validateConfig(doc: unknown, factories: FactoryLookup): LoadedConfig {
  const top = collectorConfigSchema.safeParse(doc ?? {});
  if (!top.success) throw zodToConfigError('', top.error);
  const raw = top.data;
  const components: LoadedConfig['components'] = { receiver: new Map(), processor: new Map(), exporter: new Map() };
  for (const kind of ['receiver', 'processor', 'exporter'] as const) {
    for (const [id, body] of Object.entries(raw[KIND_KEY[kind]])) {
      const factory = factories(kind, componentType(id));
      if (!factory) throw new ConfigError(`${KIND_KEY[kind]}.${id}`, `unknown ${kind} type "${componentType(id)}"`);
      const parsed = factory.configSchema.safeParse(body);
      if (!parsed.success) throw zodToConfigError(`${KIND_KEY[kind]}.${id}`, parsed.error);
      components[kind].set(id, parsed.data);
    }
  }
  for (const [name, p] of Object.entries(raw.service.pipelines)) {
    const signal = componentType(name) as Signal;
    const check = (kind: ComponentKind, list: string[], key: string) => {
      const seen = new Set<string>();
      list.forEach((id, i) => {
        const at = `service.pipelines.${name}.${key}.${i}`;
        if (!components[kind].has(id)) throw new ConfigError(at, `${kind} "${id}" is not defined under ${KIND_KEY[kind]}`);
        if (seen.has(id)) throw new ConfigError(at, `"${id}" is listed twice`);
        seen.add(id);
        if (!factories(kind, componentType(id))!.signals.includes(signal)) throw new ConfigError(at, `${kind} "${id}" does not support ${signal}`);
      });
    };
    check('receiver', p.receivers, 'receivers');
    check('processor', p.processors, 'processors');
    check('exporter', p.exporters, 'exporters');
  }
  return { raw, components };
}

import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { infra } from './env.js';

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/**
 * Adds a scrape target to the local Prometheus through file service discovery
 * (job "lantern", scraped every second). Returns a function that removes it.
 */
export async function registerScrapeTarget(name: string, hostPort: string, labels: Record<string, string> = {}): Promise<() => Promise<void>> {
  const dir = join(infra.lanternHome, 'prometheus', 'targets');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  // write-then-rename: Prometheus must never read a half-written file
  await writeFile(`${file}.tmp`, JSON.stringify([{ targets: [hostPort], labels }]));
  await rename(`${file}.tmp`, file);
  return () => rm(file, { force: true });
}

async function promGet<T>(path: string, params: Record<string, string>): Promise<T> {
  const url = new URL(path, infra.prometheusUrl);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const res = await fetch(url);
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`prometheus ${path} failed: ${body.error ?? res.status}`);
  return body.data;
}

/** Instant PromQL query against the local Prometheus. */
export async function promQuery(query: string): Promise<PromSample[]> {
  const data = await promGet<{ resultType: string; result: PromSample[] }>('/api/v1/query', { query });
  return data.result;
}

export interface ExemplarSeries {
  seriesLabels: Record<string, string>;
  exemplars: { labels: Record<string, string>; value: string; timestamp: number }[];
}

export async function promExemplars(query: string, sinceSeconds = 600): Promise<ExemplarSeries[]> {
  const end = Date.now() / 1000;
  return promGet<ExemplarSeries[]>('/api/v1/query_exemplars', { query, start: String(end - sinceSeconds), end: String(end + 60) });
}

/** Active scrape targets, as /api/v1/targets reports them. */
export async function promTargets(): Promise<{ labels: Record<string, string>; scrapeUrl: string; health: string; lastError: string }[]> {
  const data = await promGet<{ activeTargets: { labels: Record<string, string>; scrapeUrl: string; health: string; lastError: string }[] }>('/api/v1/targets', { state: 'active' });
  return data.activeTargets;
}

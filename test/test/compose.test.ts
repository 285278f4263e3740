import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';

// There is no Docker engine here, so docker-compose.yml is validated rather than run:
// the real Compose parser checks it against the Compose schema, and these tests check that
// everything it points at exists in the repository.
const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface ComposeService {
  image?: string;
  command?: string[] | string;
  expose?: (string | number)[];
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, unknown> | string[];
}

async function resolvedCompose(): Promise<{ services: Record<string, ComposeService> }> {
  const { stdout } = await run('docker-compose', ['-f', join(root, 'docker-compose.yml'), 'config'], { cwd: root });
  return parse(stdout) as { services: Record<string, ComposeService> };
}

test('docker-compose.yml passes the Compose parser', async (t) => {
  await t.notThrowsAsync(run('docker-compose', ['-f', join(root, 'docker-compose.yml'), 'config', '-q'], { cwd: root }));
});

test('every bind mount, Dockerfile and service entry point exists', async (t) => {
  const { services } = await resolvedCompose();
  for (const [name, svc] of Object.entries(services)) {
    for (const volume of svc.volumes ?? []) {
      const host = String(volume).split(':')[0] ?? '';
      if (host.startsWith('/') || host.startsWith('.')) t.true(existsSync(host.startsWith('/') ? host : join(root, host)), `${name}: mount source ${host} is missing`);
    }
    if (svc.build) {
      t.true(existsSync(join(svc.build.context, svc.build.dockerfile)), `${name}: Dockerfile missing`);
      if (Array.isArray(svc.command)) {
        // a part with its own entry point (the collector): every repository file it names must exist
        for (const arg of svc.command.filter((a) => /\.(ts|yaml|yml)$/.test(a))) t.true(existsSync(join(root, arg)), `${name}: ${arg} missing`);
        continue;
      }
      const service = svc.environment?.SERVICE;
      t.truthy(service, `${name}: built services must set SERVICE`);
      t.true(existsSync(join(root, 'shop-services', String(service), 'src', 'main.ts')), `${name}: shop-services/${service}/src/main.ts missing`);
    }
  }
});

test('host ports are unique and depends_on names real services', async (t) => {
  const { services } = await resolvedCompose();
  const seen = new Map<string, string>();
  for (const [name, svc] of Object.entries(services)) {
    for (const p of svc.ports ?? []) {
      const published = typeof p === 'string' ? p.split(':').slice(-2, -1)[0] ?? p : String((p as { published: string }).published);
      t.false(seen.has(published), `port ${published} used by ${seen.get(published)} and ${name}`);
      seen.set(published, name);
    }
    const deps = Array.isArray(svc.depends_on) ? svc.depends_on : Object.keys(svc.depends_on ?? {});
    for (const d of deps) t.truthy(services[d], `${name} depends on unknown service ${d}`);
  }
});

test('Prometheus configs pass promtool, and compose scrape targets are compose services', async (t) => {
  for (const file of ['prometheus/prometheus.local.yml']) {
    await t.notThrowsAsync(run('promtool', ['check', 'config', '--syntax-only', join(root, file)]), file);
  }
  const { services } = await resolvedCompose();
  const prom = parse(readFileSync(join(root, 'prometheus/prometheus.yml'), 'utf8')) as { scrape_configs: { static_configs?: { targets: string[] }[] }[] };
  for (const job of prom.scrape_configs) {
    for (const sc of job.static_configs ?? []) {
      for (const target of sc.targets) {
        const [host, port] = target.split(':');
        if (host === 'localhost') continue;
        const svc = services[host ?? ''];
        t.truthy(svc, `scrape target ${target} is not a compose service`);
        const exposed = (svc?.expose ?? []).map(String);
        t.true(svc?.environment?.PORT === port || exposed.includes(port ?? ''), `scrape target ${target} is neither ${host}'s PORT nor a port it exposes`);
      }
    }
  }
});

test('Grafana provisioning files have the shape Grafana expects', (t) => {
  const ds = parse(readFileSync(join(root, 'dashboards/provisioning/datasources/datasources.yml'), 'utf8')) as { apiVersion: number; datasources: { name: string; uid: string; type: string; url: string }[] };
  t.is(ds.apiVersion, 1);
  const types = ds.datasources.map((d) => d.type).sort();
  t.deepEqual(types, ['jaeger', 'loki', 'prometheus']);
  for (const d of ds.datasources) t.regex(d.url, /^http:\/\/(prometheus|loki|jaeger):\d+$/);
  const dash = parse(readFileSync(join(root, 'dashboards/provisioning/dashboards/dashboards.yml'), 'utf8')) as { apiVersion: number; providers: { type: string; options: { path: string } }[] };
  t.is(dash.apiVersion, 1);
  t.is(dash.providers[0]?.type, 'file');
  t.is(dash.providers[0]?.options.path, '/var/lib/grafana/dashboards');
});

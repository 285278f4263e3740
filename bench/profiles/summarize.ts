// node --import tsx bench/profiles/summarize.ts FILE.cpuprofile [--last SECONDS] [--top N] [--trim OUT.cpuprofile]
// Reads a V8 CPU profile (node --cpu-prof) and prints where the busy time of its last SECONDS went: self
// time by package (node_modules package, node: module, workspace folder or native) and by function, and
// inclusive time by package. --trim writes the profile cut to that window (what bench/profiles/ keeps).
import { readFileSync, writeFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
}

/** The package a frame belongs to: an npm package, a node: module, a workspace folder or a native label. */
export function packageOf(cf: CallFrame): string {
  if (!cf.url) return cf.functionName === '(garbage collector)' ? 'gc' : cf.functionName === '(program)' ? 'native (program)' : `native ${cf.functionName}`;
  const npm = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(cf.url);
  if (npm) return npm[1]!;
  if (cf.url.startsWith('node:')) return `node:${cf.url.slice(5).split('/')[0]}`;
  const ws = /\/work\/main\/([^/]+(\/[^/]+)?)/.exec(cf.url) ?? /file:\/\/\/[^ ]*?\/((?:sdk|shop-services\/[^/]+|bench|collector)\b)/.exec(cf.url);
  return ws ? ws[1]! : cf.url;
}

function summarize(profile: CpuProfile, lastSeconds: number, top: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const from = profile.endTime - lastSeconds * 1e6;
  let t = profile.startTime;
  const self = new Map<string, number>();
  const selfPkg = new Map<string, number>();
  const inclPkg = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i] ?? 0;
    if (t < from) return;
    const node = byId.get(id)!;
    if (node.callFrame.functionName === '(idle)') {
      idle++;
      return;
    }
    busy++;
    const cf = node.callFrame;
    const fn = `${cf.functionName || '(anonymous)'} ${cf.url.replace(/.*node_modules\//, '').replace(/^file:\/\/\/work\/main\//, '')}:${cf.lineNumber + 1}`;
    self.set(fn, (self.get(fn) ?? 0) + 1);
    selfPkg.set(packageOf(cf), (selfPkg.get(packageOf(cf)) ?? 0) + 1);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const pkg = packageOf(byId.get(at)!.callFrame);
      if (seen.has(pkg)) continue;
      seen.add(pkg);
      inclPkg.set(pkg, (inclPkg.get(pkg) ?? 0) + 1);
    }
  });
  const pct = (n: number) => `${((100 * n) / Math.max(1, busy)).toFixed(1).padStart(5)}%`;
  const table = (title: string, m: Map<string, number>, n: number) =>
    [`${title}`, ...[...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${pct(v)}  ${k}`)].join('\n');
  return [
    `window: last ${lastSeconds} s, ${busy} busy samples, ${idle} idle`,
    table('self time by package', selfPkg, top),
    table('inclusive time by package (each package once per stack)', inclPkg, top),
    table('self time by function', self, top),
  ].join('\n\n');
}

/** The profile cut to its last `lastSeconds`, nodes nobody sampled dropped (parents kept). */
function trim(profile: CpuProfile, lastSeconds: number): CpuProfile {
  const from = profile.endTime - lastSeconds * 1e6;
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const samples: number[] = [];
  const deltas: number[] = [];
  let t = profile.startTime;
  let last = from;
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i] ?? 0;
    if (t < from) return;
    samples.push(id);
    deltas.push(t - last);
    last = t;
  });
  const keep = new Set<number>();
  for (const id of samples) for (let at: number | undefined = id; at !== undefined && !keep.has(at); at = parent.get(at)) keep.add(at);
  const nodes = profile.nodes
    .filter((n) => keep.has(n.id))
    .map((n) => ({ ...n, hitCount: 0, children: (n.children ?? []).filter((c) => keep.has(c)) }));
  return { nodes, startTime: from, endTime: profile.endTime, samples, timeDeltas: deltas };
}

const file = process.argv[2];
if (!file) {
  console.error('usage: summarize.ts FILE.cpuprofile [--last SECONDS] [--top N] [--trim OUT.cpuprofile]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
const last = Number(arg('--last', '10'));
console.log(summarize(profile, last, Number(arg('--top', '25'))));
const out = arg('--trim', '');
if (out) writeFileSync(out, JSON.stringify(trim(profile, last)));

// Turns the configured limits into bytes. Percentages are of the memory this process may really use:
// the machine's, or the cgroup v2 limit of its container when that is lower (a pod with 512 MiB on a
// 64 GiB node must not compute its limit from 64 GiB).
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { ConfigError } from '../../../pipeline/errors.js';
import type { MemoryLimiterConfig } from './config.js';

export const MIB = 1024 * 1024;

export interface Limits {
  hardBytes: number;
  softBytes: number;
}

/** The cgroup memory limit of this process (v2 memory.max, else v1), or undefined when unlimited or unknown. */
export function cgroupMemoryMax(): number | undefined {
  for (const file of cgroupFiles()) {
    try {
      const text = readFileSync(file, 'utf8').trim();
      if (text === 'max') return undefined;
      const n = Number(text);
      if (Number.isFinite(n) && n > 0) return n;
    } catch {
      // not there: try the next location
    }
  }
  return undefined;
}

function cgroupFiles(): string[] {
  const files: string[] = [];
  try {
    // cgroup v2: a single line "0::/path"
    const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'));
    const path = line?.slice(3).trim();
    if (path && path !== '/') files.push(`/sys/fs/cgroup${path}/memory.max`);
  } catch {
    // not Linux
  }
  files.push('/sys/fs/cgroup/memory.max');
  // cgroup v1 hosts (an unlimited v1 cgroup reports a huge number, which the min with totalmem() absorbs)
  files.push('/sys/fs/cgroup/memory/memory.limit_in_bytes');
  return files;
}

/** Memory available to the process: the lower of the machine's total and the cgroup limit. */
export function totalMemoryBytes(): number {
  const machine = totalmem();
  const cgroup = cgroupMemoryMax();
  return cgroup !== undefined && cgroup < machine ? cgroup : machine;
}

/** Hard and soft limits in bytes; ConfigError (naming the spike key) when the spike leaves no room. */
export function computeLimits(config: Omit<MemoryLimiterConfig, 'check_interval' | `min_gc_${string}`>, total: () => number = totalMemoryBytes): Limits {
  const hardBytes = config.limit_mib !== undefined ? config.limit_mib * MIB : Math.floor((total() * config.limit_percentage!) / 100);
  let spikeBytes: number;
  if (config.spike_limit_mib !== undefined) spikeBytes = config.spike_limit_mib * MIB;
  else if (config.spike_limit_percentage !== undefined) spikeBytes = Math.floor((total() * config.spike_limit_percentage) / 100);
  else spikeBytes = Math.floor(hardBytes / 5);
  if (spikeBytes >= hardBytes) {
    const which = config.spike_limit_mib !== undefined ? 'spike_limit_mib' : 'spike_limit_percentage';
    throw new ConfigError(which, `the spike limit (${Math.round(spikeBytes / MIB)} MiB) must be less than the hard limit (${Math.round(hardBytes / MIB)} MiB)`);
  }
  return { hardBytes, softBytes: hardBytes - spikeBytes };
}

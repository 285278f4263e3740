import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { waitFor } from './wait.js';

/**
 * A private single-node KRaft broker for one test file: its own ports and temp data directory, the
 * same jars `infra/infra.sh` runs the shared broker from. A test can stop "the broker" mid-flow
 * (a relay keeps rows, consumers wait) and start it again with its data, without touching the
 * shared broker other tests use.
 */
export interface PrivateKafka {
  /** `127.0.0.1:<port>`, for `new Kafka({ brokers })`. */
  brokers: string[];
  /** Data directory (log dirs and the broker's log file `broker.log`). */
  dataDir: string;
  /** Creates topics (auto-create is off) and waits until each partition has a leader. */
  createTopics(names: string[], partitions?: number): Promise<void>;
  /** Stops the broker (SIGTERM, SIGKILL after 10 s; `{ kill: true }` kills at once, like a crash). */
  stop(opts?: { kill?: boolean }): Promise<void>;
  /** Starts it again on the same ports with the same data; resolves when it answers. */
  start(): Promise<void>;
  /** Stops it and deletes its data. */
  destroy(): Promise<void>;
  readonly running: boolean;
}

export interface PrivateKafkaOptions {
  /** JVM heap (default 256m). */
  heap?: string;
  /** Startup deadline (default 60 s). */
  startTimeoutMs?: number;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The jars infra.sh fetched: `$LANTERN_CACHE/kafka-<KAFKA_VERSION>/libs`, the version read from infra.sh itself. */
function kafkaLibs(): string {
  const script = readFileSync(join(ROOT, 'infra/infra.sh'), 'utf8');
  const version = /^KAFKA_VERSION=(\S+)/m.exec(script)?.[1];
  if (!version) throw new Error('startPrivateKafka: KAFKA_VERSION not found in infra/infra.sh');
  const cache = process.env.LANTERN_CACHE ?? join(homedir(), '.cache/lantern');
  const libs = join(cache, `kafka-${version}`, 'libs');
  if (!existsSync(join(libs, '.complete'))) throw new Error(`startPrivateKafka: Kafka jars missing in ${libs}; run \`npm run infra -- up\` once`);
  return libs;
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => ok(port));
    });
  });
}

/** The shared broker's config template, with settings that make a throwaway broker start fast. */
function brokerConfig(port: number, controllerPort: number, logDir: string): string {
  const tmpl = readFileSync(join(ROOT, 'infra/kafka/server.properties.tmpl'), 'utf8')
    .replaceAll('@KAFKA_PORT@', String(port))
    .replaceAll('@CONTROLLER_PORT@', String(controllerPort))
    .replaceAll('@DATA_DIR@', logDir);
  const overrides: Record<string, string> = {
    // one partition for the internal topics: the first consumer group is ready at once
    'offsets.topic.num.partitions': '1',
    'transaction.state.log.num.partitions': '1',
    'num.partitions': '1',
    'log.segment.bytes': '8388608',
    'log.retention.hours': '1',
    'num.network.threads': '1',
    'num.io.threads': '2',
    'background.threads': '2',
    'log.cleaner.enable': 'false',
    // a killed broker's old registration expires fast, so a restart after a crash is quick too
    'broker.session.timeout.ms': '2000',
    'broker.heartbeat.interval.ms': '500',
  };
  const lines = tmpl.split('\n').filter((l) => !Object.keys(overrides).some((k) => l.startsWith(`${k}=`)));
  return [...lines, ...Object.entries(overrides).map(([k, v]) => `${k}=${v}`), ''].join('\n');
}

function javaArgs(libs: string, heap: string): string[] {
  return [
    `-Xms64m`,
    `-Xmx${heap}`,
    // a short-lived test broker: serial GC and the C1 compiler start faster and burn less CPU
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-Xss512k',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${join(ROOT, 'infra/kafka/log4j.properties')}`,
    '-cp',
    `${libs}/*`,
  ];
}

function run(cmd: string, args: string[], logFile: string): Promise<void> {
  return new Promise((ok, fail) => {
    const out = createWriteStream(logFile, { flags: 'a' });
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout.pipe(out);
    p.stderr.pipe(out);
    p.once('error', fail);
    p.once('exit', (code) => (code === 0 ? ok() : fail(new Error(`${cmd} ${args.at(-3) ?? ''} exited ${code}; see ${logFile}`))));
  });
}

function exited(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((ok) => p.once('exit', () => ok()));
}

export async function startPrivateKafka(opts: PrivateKafkaOptions = {}): Promise<PrivateKafka> {
  const libs = kafkaLibs();
  const heap = opts.heap ?? '256m';
  const startTimeoutMs = opts.startTimeoutMs ?? 60_000;
  const dataDir = mkdtempSync(join(tmpdir(), 'lantern-kafka-'));
  const logDir = join(dataDir, 'data');
  const logFile = join(dataDir, 'broker.log');
  const propsFile = join(dataDir, 'server.properties');
  const [port, controllerPort] = [await freePort(), await freePort()];
  writeFileSync(propsFile, brokerConfig(port, controllerPort, logDir));

  // KRaft storage format; a cluster id is 16 random bytes in URL-safe base64. Passed as `--cluster-id=…`:
  // one in 32 ids starts with '-', which the tool's argument parser would take for an option.
  const clusterId = randomBytes(16).toString('base64url');
  await run('java', [...javaArgs(libs, '128m'), 'kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId}`, '-c', propsFile], logFile);

  const brokers = [`127.0.0.1:${port}`];
  const client = new Kafka({ clientId: 'lantern-testkit-private', brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  let proc: ChildProcess | undefined;

  const onExit = () => proc?.kill('SIGKILL');
  process.once('exit', onExit);

  async function answers(): Promise<boolean> {
    const admin = client.admin();
    try {
      await admin.connect();
      await admin.describeCluster();
      return true;
    } catch {
      return false;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  async function start(): Promise<void> {
    if (proc) return;
    const out = createWriteStream(logFile, { flags: 'a' });
    const p = spawn('java', [...javaArgs(libs, heap), 'kafka.Kafka', propsFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout?.pipe(out);
    p.stderr?.pipe(out);
    proc = p;
    p.once('exit', () => {
      if (proc === p) proc = undefined;
    });
    // if this test process dies without cleaning up, the broker must not outlive it
    spawn('bash', ['-c', `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${p.pid} 2>/dev/null; do sleep 2; done; kill -9 ${p.pid} 2>/dev/null`], {
      detached: true,
      stdio: 'ignore',
    }).unref();
    await waitFor(
      async () => {
        if (!proc) throw new Error(`private Kafka exited during startup; see ${logFile}`);
        return answers();
      },
      { what: `private Kafka on ${brokers[0]} (log ${logFile})`, timeoutMs: startTimeoutMs, intervalMs: 250 },
    );
  }

  async function stop(o: { kill?: boolean } = {}): Promise<void> {
    const p = proc;
    if (!p) return;
    p.kill(o.kill ? 'SIGKILL' : 'SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), 10_000);
    await exited(p);
    clearTimeout(timer);
    proc = undefined;
  }

  await start();
  return {
    brokers,
    dataDir,
    get running() {
      return proc !== undefined;
    },
    async createTopics(names, partitions = 1) {
      const admin = client.admin();
      await admin.connect();
      try {
        await admin.createTopics({ waitForLeaders: false, topics: names.map((topic) => ({ topic, numPartitions: partitions })) });
        await waitFor(
          async () => {
            const { topics } = await admin.fetchTopicMetadata({ topics: names });
            return topics.length === names.length && topics.every((t) => t.partitions.length === partitions && t.partitions.every((pt) => pt.leader >= 0));
          },
          { what: `leaders for ${names.join(', ')}`, timeoutMs: 30_000 },
        );
      } finally {
        await admin.disconnect();
      }
    },
    stop,
    start,
    async destroy() {
      await stop({ kill: true });
      process.removeListener('exit', onExit);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

// lantern-collector --config FILE   (default: collector/config/local.yaml)
// SIGHUP reloads the config; SIGTERM/SIGINT shut down after flushing.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Collector } from './collector.js';
import { ConfigError } from './pipeline/errors.js';

const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } } });
const configPath = values.config ?? process.env.LANTERN_COLLECTOR_CONFIG ?? fileURLToPath(new URL('../config/local.yaml', import.meta.url));

let collector: Collector;
try {
  collector = await Collector.start({ config: configPath });
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`collector: invalid config ${configPath}: ${err.message}`);
    process.exit(2);
  }
  throw err;
}

// for benchmarks and scripts that start the collector on port 0: one JSON line with every listening URL
if (process.env.LANTERN_COLLECTOR_PRINT_ENDPOINTS === '1') process.stdout.write(`${JSON.stringify(collector.endpoints())}\n`);

process.on('SIGHUP', () => {
  collector.reload().catch((err: unknown) => {
    collector.host.logger.error({ err }, 'config reload failed; the running config is kept');
  });
});
let stopping = false;
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    collector.host.logger.info({ signal: sig }, 'collector shutting down');
    collector.shutdown().then(
      () => process.exit(0),
      (err: unknown) => {
        collector.host.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}

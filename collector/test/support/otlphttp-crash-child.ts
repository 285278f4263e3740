// A collector process for the persistent-queue crash test: the real `otlp` receiver feeding an
// otlphttp exporter with a persistent queue. Prints "READY <receiver url>" once listening; the test
// SIGKILLs it mid-export and starts it again on the same data_dir.
// env: DATA_DIR, BACKEND_URL
import { pino } from 'pino';
import { Collector } from '../../src/collector.js';

const collector = await Collector.start({
  logger: pino({ level: 'silent' }),
  config: {
    receivers: { otlp: { protocols: { http: { endpoint: '127.0.0.1:0' } } } },
    exporters: {
      'otlphttp/crash': {
        endpoint: process.env.BACKEND_URL,
        timeout: '5s',
        retry_on_failure: { initial_interval: '50ms', max_interval: '200ms', max_elapsed_time: 0 },
        sending_queue: { persistent: true, num_consumers: 2 },
      },
    },
    service: {
      data_dir: process.env.DATA_DIR,
      telemetry: { metrics: { address: '127.0.0.1:0' }, logs: { level: 'silent' } },
      pipelines: { traces: { receivers: ['otlp'], exporters: ['otlphttp/crash'] } },
    },
  },
});
process.stdout.write(`READY ${collector.endpoint('otlp')}\n`);
process.on('SIGTERM', () => {
  void collector.shutdown().then(() => process.exit(0));
});

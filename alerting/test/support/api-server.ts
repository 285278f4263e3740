// Runs createApi on loopback (port 0) over real Postgres stores on a fresh schema, with a real parsed
// Alertmanager config. Each test gets its own server; tests in a file may share a schema via `prefix`.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { Registry } from 'prom-client';
import type { FreshSchema } from '@lantern/testkit';
import { createApi } from '../../src/api/app.js';
import { configView } from '../../src/api/config-view.js';
import type { ApiDeps } from '../../src/api/deps.js';
import { parseAlertmanagerConfig } from '../../src/config/alertmanager.js';
import { buildRouteTree, routesFor } from '../../src/dispatch/route.js';
import { systemClock } from '../../src/model/clock.js';
import type { PgStores } from '../../src/store/open.js';
import { freshStores, quietLogger } from './stores.js';

export const ACK_SECRET = 'test-ack-secret-0123456789abcdef';

export const AM_YAML = `# test config
global:
  resolve_timeout: 5m
  slack_api_url: https://hooks.slack.example/services/T000/B000/XXXXSECRET
route:
  receiver: oncall
  group_by: [alertname]
  group_wait: 30s
  escalation:
    - after: 15m
      receiver: managers
  routes:
    - receiver: hooks
      matchers: ['team="payments"']
      continue: true
receivers:
  - name: oncall
    slack_configs:
      - channel: '#oncall'
        api_url: https://hooks.slack.example/services/T111/B111/SECRETTOKEN
  - name: hooks
    webhook_configs:
      - url: https://hooks.example.com/path/with-token?key=SECRETQUERY
  - name: managers
    email_configs:
      - to: boss@example.com
        from: lantern@example.com
        smarthost: smtp.example.com:587
        auth_username: lantern
        auth_password: SMTPPASSWORD
`;

export interface ApiServer {
  url: string;
  port: number;
  stores: PgStores;
  deps: ApiDeps;
  close(): Promise<void>;
}

export async function startApi(prefix: string, overrides: Partial<ApiDeps> = {}, yaml = AM_YAML): Promise<ApiServer> {
  const { stores, schema }: { stores: PgStores; schema: FreshSchema } = await freshStores(prefix);
  const config = parseAlertmanagerConfig(yaml, 'alertmanager.yml');
  const tree = buildRouteTree(config);
  const deps: ApiDeps = {
    stores,
    config: () => configView(config, (labels) => routesFor(tree, labels)),
    reload: async () => undefined,
    externalURL: 'http://127.0.0.1',
    ackSecret: ACK_SECRET,
    clock: systemClock,
    logger: quietLogger,
    registry: new Registry(),
    ...overrides,
  };
  const app = createApi(deps);
  const server: Server = createServer(app.callback());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stores,
    deps,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await stores.close();
      await schema.drop();
    },
  };
}

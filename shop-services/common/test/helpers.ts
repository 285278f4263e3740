import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { createTestTelemetry, type TestTelemetry } from '../src/testing.js';

export const SECRET = 'test-internal-secret-0123456789-abcdef';

let contextReady = false;
/** A real context manager, so currentTraceId() and propagation see the active span as in production. */
export function enableContext(): void {
  if (contextReady) return;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  contextReady = true;
}

export const TEST_TRACE_ID = '0af7651916cd43dd8448eb211c80319c';

/** The shared test telemetry, with a span context active per request as the SDK's server span would make. */
export function testTelemetry(serviceName: string): TestTelemetry {
  enableContext();
  return createTestTelemetry(serviceName, { traceId: TEST_TRACE_ID });
}

export function baseUrl(server: http.Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

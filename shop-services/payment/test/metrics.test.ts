import test from 'ava';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { renderMetrics } from '@lantern/sdk';
import { channelRequestDuration, failoversTotal, paymentsTotal } from '../src/metrics.js';
import { counterValue, histogramCount, startService } from './helpers.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

// a real context manager, so the request's span is active in the handler as under the SDK
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

// serial: the registry is shared by every test of this process
test.serial('payment_channel_request_duration_seconds{channel,outcome}: success, declined and error, with the call trace as exemplar', async (t) => {
  const s = await startService(t, { PAYMENT_CHANNELS: 'card,wallet,bank', CHANNEL_BANK_ASYNC: 'false' }, { traceId: TRACE_ID });
  const before = {
    cardSuccess: await histogramCount(channelRequestDuration, { channel: 'card', outcome: 'success' }),
    walletDeclined: await histogramCount(channelRequestDuration, { channel: 'wallet', outcome: 'declined' }),
    bankError: await histogramCount(channelRequestDuration, { channel: 'bank', outcome: 'error' }),
    bankFailovers: await counterValue(failoversTotal, { channel: 'bank' }),
    walletFailed: await counterValue(paymentsTotal, { channel: 'wallet', status: 'failed' }),
  };
  t.is((await s.pay({ method: 'card' })).body.status, 'succeeded');
  s.svc.channels.get('wallet')!.configure({ declineRate: 1 });
  t.is((await s.pay({ method: 'wallet' })).body.status, 'failed');
  s.svc.channels.get('bank')!.configure({ failureRate: 1 });
  t.is((await s.pay({ method: 'bank' })).body.status, 'failed');

  t.is(await histogramCount(channelRequestDuration, { channel: 'card', outcome: 'success' }), before.cardSuccess + 1);
  t.is(await histogramCount(channelRequestDuration, { channel: 'wallet', outcome: 'declined' }), before.walletDeclined + 1);
  t.is(await histogramCount(channelRequestDuration, { channel: 'bank', outcome: 'error' }), before.bankError + 1);
  t.is(await counterValue(failoversTotal, { channel: 'bank' }), before.bankFailovers + 1);
  t.is(await counterValue(paymentsTotal, { channel: 'wallet', status: 'failed' }), before.walletFailed + 1);

  // exactly the labels the alert rules read, the SDK's latency buckets, and the exemplar of the call
  const { values } = await channelRequestDuration.get();
  for (const v of values) t.deepEqual(Object.keys(v.labels).filter((k) => k !== 'le').sort(), ['channel', 'outcome']);
  const buckets = values.filter((v) => v.metricName === 'payment_channel_request_duration_seconds_bucket' && v.labels.channel === 'card').map((v) => (v.labels as Record<string, unknown>).le);
  t.true(buckets.includes(0.001) && buckets.includes(10) && buckets.includes('+Inf'));
  const open = await renderMetrics('application/openmetrics-text; version=1.0.0');
  const withExemplar = open.body.split('\n').filter((l) => l.startsWith('payment_channel_request_duration_seconds_bucket{') && l.includes('channel="card"') && l.includes('outcome="success"') && l.includes('#'));
  t.true(withExemplar.some((l) => l.includes(`trace_id="${TRACE_ID}"`)), withExemplar.join('\n'));
});

import test from 'ava';
import { proxyRouteTemplate } from '../src/index.js';

test('proxied paths are named by template, never by raw ids', (t) => {
  t.is(proxyRouteTemplate('/api/products/3f2b8c1e-1a2b-4c3d-8e9f-0123456789ab'), '/api/products/:id');
  t.is(proxyRouteTemplate('/api/products/3f2b8c1e-1a2b-4c3d-8e9f-0123456789ab/reviews'), '/api/products/:id/reviews');
  t.is(proxyRouteTemplate('/api/orders/12345'), '/api/orders/:id');
  t.is(proxyRouteTemplate('/api/users/me/addresses'), '/api/users/me/addresses');
  t.is(proxyRouteTemplate('/api/products/search'), '/api/products/search');
  t.is(proxyRouteTemplate('/api/products'), '/api/products');
});

test('the order, payment, notification and flash-sale APIs keep their fixed words', (t) => {
  const id = '3f2b8c1e-1a2b-4c3d-8e9f-0123456789ab';
  t.is(proxyRouteTemplate(`/api/orders/${id}/history`), '/api/orders/:id/history');
  t.is(proxyRouteTemplate(`/api/orders/${id}/pay`), '/api/orders/:id/pay');
  t.is(proxyRouteTemplate('/api/payments/callbacks/bank'), '/api/payments/callbacks/bank');
  t.is(proxyRouteTemplate('/api/notifications/read-all'), '/api/notifications/read-all');
  t.is(proxyRouteTemplate(`/api/flash-sales/${id}/purchase`), '/api/flash-sales/:id/purchase');
  t.is(proxyRouteTemplate(`/api/inventory/reservations/${id}/release`), '/api/inventory/reservations/:id/release');
});

test('arbitrary client-chosen segments cannot create new route values', (t) => {
  t.is(proxyRouteTemplate('/api/products/Robert%27);DROP'), '/api/products/:param');
  t.is(proxyRouteTemplate('/api/products/not-a-uuid'), '/api/products/:param');
  t.is(proxyRouteTemplate('/api/products/a/b/c/d/e/f/g/h'), '/api/products/:param/:param/:param/:param/:param/:param');
  t.is(proxyRouteTemplate('/not-api/x'), undefined);
});

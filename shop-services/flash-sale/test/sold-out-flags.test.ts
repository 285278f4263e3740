import test from 'ava';
import { SoldOutFlags } from '../src/sold-out-flags.js';

test('a sold-out flag answers locally, then lets exactly one request re-check per lapse', (t) => {
  let now = 0;
  const flags = new SoldOutFlags(1000, () => now);
  t.false(flags.isSoldOut('s'));
  flags.set('s');
  t.true(flags.isSoldOut('s'));
  now = 999;
  t.true(flags.isSoldOut('s'));

  now = 1000; // lapsed: the first caller re-checks, everyone else keeps the answer
  t.false(flags.isSoldOut('s'));
  t.true(flags.isSoldOut('s'));
  t.true(flags.isSoldOut('s'));
  flags.set('s'); // Redis said: still sold out
  t.true(flags.isSoldOut('s'));

  now = 2000;
  t.false(flags.isSoldOut('s'));
  now = 2999;
  t.true(flags.isSoldOut('s'), 'the re-check is in flight');
  now = 3000; // that request never reached Redis: another one may try
  t.false(flags.isSoldOut('s'));
  flags.clear('s'); // a unit came back
  t.false(flags.isSoldOut('s'));
  t.false(flags.isSoldOut('s'));
});

test('the sold-out error is made once per sale', (t) => {
  const flags = new SoldOutFlags(1000);
  const a = flags.error('a');
  t.is(flags.error('a'), a);
  t.not(flags.error('b'), a);
  t.like(a, { status: 409, code: 'sold_out' });
});

// Time intervals: the timeIntervalTestCases table of Alertmanager's timeinterval_test.go (times in its RFC822Z form),
// the config-side validation errors, and the mute/active route semantics of notify/mute.go.
import test from 'ava';
import { containsTime, parseAlertmanagerConfig, TimeIntervals, UnknownTimeIntervalError, type TimeIntervalSpec } from '../src/index.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** Go's RFC822Z "02 Jan 06 15:04 -0700". */
function rfc822z(s: string): Date {
  const m = /^(\d{1,2}) (\w{3}) (\d{2}) (\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(s);
  if (!m) throw new Error(`bad time ${s}`);
  const offset = (m[6] === '-' ? -1 : 1) * (Number(m[7]) * 60 + Number(m[8]));
  const utc = Date.UTC(2000 + Number(m[3]), MONTHS.indexOf(m[2]!), Number(m[1]), Number(m[4]), Number(m[5]));
  return new Date(utc - offset * 60_000);
}

const r = (begin: number, end: number): { begin: number; end: number } => ({ begin, end });
const cases: Array<[TimeIntervalSpec, string[], string[]]> = [
  [{}, ['02 Jan 06 15:04 +0000', '03 Jan 07 10:04 +0000', '04 Jan 06 09:04 +0000'], []],
  [
    { times: [{ startMinute: 540, endMinute: 1020 }], weekdays: [r(1, 5)] },
    ['04 May 20 15:04 +0000', '05 May 20 10:04 +0000', '09 Jun 20 09:04 +0000'],
    ['03 May 20 15:04 +0000', '04 May 20 08:59 +0000', '05 May 20 05:00 +0000'],
  ],
  [
    { daysOfMonth: [r(4, 6)], months: [r(4, 4)], years: [r(2020, 2020)] },
    ['04 Apr 20 15:04 +0000', '05 Apr 20 00:00 +0000', '06 Apr 20 23:05 +0000'],
    ['03 May 18 15:04 +0000', '03 Apr 20 23:59 +0000', '04 Jun 20 23:59 +0000', '06 Apr 19 23:59 +0000', '07 Apr 20 00:00 +0000'],
  ],
  [
    { daysOfMonth: [r(-3, -1)] },
    ['31 Jan 20 15:04 +0000', '30 Jan 20 15:04 +0000', '29 Jan 20 15:04 +0000', '30 Jun 20 00:00 +0000', '29 Feb 20 23:05 +0000'],
    ['03 May 18 15:04 +0000', '27 Jan 20 15:04 +0000', '03 Apr 20 23:59 +0000', '04 Jun 20 23:59 +0000', '06 Apr 19 23:59 +0000', '07 Apr 20 00:00 +0000', '01 Mar 20 00:00 +0000'],
  ],
  [{ months: [r(6, 6)], daysOfMonth: [r(-31, 31)] }, ['30 Jun 20 00:00 +0000', '01 Jun 20 00:00 +0000'], ['31 May 20 00:00 +0000', '1 Jul 20 00:00 +0000']],
  [
    { times: [{ startMinute: 540, endMinute: 1020 }], weekdays: [r(1, 5)], location: 'Australia/Sydney' },
    ['06 Apr 21 13:00 +1000'],
    ['06 Apr 21 13:00 +0000'],
  ],
  [
    { times: [{ startMinute: 540, endMinute: 1020 }], weekdays: [r(1, 5)], months: [r(11, 11)], location: 'Australia/Sydney' },
    ['01 Nov 21 09:00 +1100', '31 Oct 21 22:00 +0000'],
    ['31 Oct 21 21:00 +0000'],
  ],
  [{ daysOfMonth: [r(-1, -1)], location: 'America/New_York' }, ['31 Mar 21 12:00 -0400'], ['30 Mar 21 12:00 -0400']],
];

cases.forEach(([spec, valid, invalid], i) => {
  test(`timeIntervalTestCases[${i}]`, (t) => {
    for (const s of valid) t.true(containsTime(spec, rfc822z(s)), `${s} should be inside`);
    for (const s of invalid) t.false(containsTime(spec, rfc822z(s)), `${s} should be outside`);
  });
});

test('times are end-exclusive; 24:00 ends the day', (t) => {
  const spec: TimeIntervalSpec = { times: [{ startMinute: 22 * 60, endMinute: 24 * 60 }] };
  t.true(containsTime(spec, new Date('2024-01-01T23:59:00Z')));
  t.false(containsTime(spec, new Date('2024-01-02T00:00:00Z')));
  t.false(containsTime({ times: [{ startMinute: 540, endMinute: 1020 }] }, new Date('2024-01-01T17:00:00Z')));
});

test('negative days of month across a DST change (AM #5447) stay calendar days', (t) => {
  // Last day of March 2024 in Berlin: DST starts that morning.
  const spec: TimeIntervalSpec = { daysOfMonth: [r(-1, -1)], location: 'Europe/Berlin' };
  t.true(containsTime(spec, new Date('2024-03-31T00:30:00Z')));
  t.false(containsTime(spec, new Date('2024-03-30T21:00:00Z')), '22:00 on the 30th in Berlin');
});

const load = (ti: string): string => `route: {receiver: r}\nreceivers: [{name: r}]\ntime_intervals:\n  - name: t\n    time_intervals:\n      - ${ti}\n`;

test('config parsing: names, ranges and clock times as timeinterval.go reads them', (t) => {
  const cfg = parseAlertmanagerConfig(load(`{weekdays: ['Monday:FRIDAY', sunday], months: ['may:august', '12'], days_of_month: ['1:5', '-7:-1'], years: ['2020:2022'], times: [{start_time: '00:00', end_time: '24:00'}]}`));
  t.deepEqual(cfg.timeIntervals['t'], [
    {
      weekdays: [r(1, 5), r(0, 0)],
      months: [r(5, 8), r(12, 12)],
      daysOfMonth: [r(1, 5), r(-7, -1)],
      years: [r(2020, 2022)],
      times: [{ startMinute: 0, endMinute: 1440 }],
      location: undefined,
    },
  ]);
});

const invalid: Array<[string, RegExp, string]> = [
  [`{weekdays: ['friday:monday']}`, /start day cannot be before end day/, 'weekdays[0]'],
  [`{weekdays: ['mon']}`, /mon is not a valid weekday/, 'weekdays[0]'],
  [`{days_of_month: ['-1:5']}`, /end day must be negative if start day is negative/, 'days_of_month[0]'],
  [`{days_of_month: ['32']}`, /32 is not a valid day of the month: out of range/, 'days_of_month[0]'],
  [`{days_of_month: ['10:-25']}`, /end day -25 is always before start day 10/, 'days_of_month[0]'],
  [`{months: ['march:january']}`, /end month january is before start month march/, 'months[0]'],
  [`{months: ['13']}`, /not a valid month/, 'months[0]'],
  [`{years: ['2022:2020']}`, /end year 2020 is before start year 2022/, 'years[0]'],
  [`{times: [{start_time: '9:00', end_time: '17:00'}]}`, /couldn't parse timestamp 9:00, invalid format/, 'times[0]'],
  [`{times: [{start_time: '10:00'}]}`, /both start and end times must be provided/, 'times[0]'],
  [`{times: [{start_time: '10:00', end_time: '10:00'}]}`, /start time cannot be equal or greater than end time/, 'times[0]'],
  [`{location: 'Not/AZone'}`, /unknown time zone Not\/AZone/, 'location'],
  [`{weekday: [monday]}`, /unknown key/, 'weekday'],
];
for (const [ti, msg, key] of invalid) {
  test(`config rejects ${ti}`, (t) => {
    const e = t.throws(() => parseAlertmanagerConfig(load(ti), 'am.yml'));
    t.regex(e.message, msg);
    t.regex(e.message, new RegExp(`^am\\.yml: time_intervals\\[0\\]\\.time_intervals\\[0\\]\\.${key.replace(/[[\]]/g, '\\$&')}: `));
  });
}

test('isActive and mutedBy follow TimeMuteStage and TimeActiveStage', (t) => {
  const cfg = parseAlertmanagerConfig(`route: {receiver: r}
receivers: [{name: r}]
time_intervals:
  - name: business
    time_intervals: [{weekdays: ['monday:friday'], times: [{start_time: '09:00', end_time: '17:00'}], location: Europe/London}]
  - name: lunch
    time_intervals: [{times: [{start_time: '12:00', end_time: '13:00'}], location: Europe/London}]
`);
  const ti = new TimeIntervals(cfg.timeIntervals);
  const tuesdayNoon = new Date('2024-06-04T11:30:00Z'); // 12:30 BST
  const tuesdayNight = new Date('2024-06-04T21:00:00Z');
  const saturday = new Date('2024-06-08T11:30:00Z');
  t.true(ti.isActive(['business'], tuesdayNoon));
  t.false(ti.isActive(['business'], saturday));
  t.deepEqual(ti.activeNames(['business', 'lunch'], tuesdayNoon), ['business', 'lunch']);
  const route = { muteTimeIntervals: ['lunch'], activeTimeIntervals: ['business'] };
  t.deepEqual(ti.mutedBy(route, tuesdayNoon), ['lunch'], 'a mute interval in force mutes');
  t.deepEqual(ti.mutedBy(route, tuesdayNight), ['business'], 'outside every active interval: muted by them');
  t.deepEqual(ti.mutedBy(route, new Date('2024-06-04T14:00:00Z')), [], 'active, not in a mute interval');
  t.deepEqual(ti.mutedBy({ muteTimeIntervals: [], activeTimeIntervals: [] }, saturday), []);
  t.throws(() => ti.isActive(['nope'], saturday), { instanceOf: UnknownTimeIntervalError });
});

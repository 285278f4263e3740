// Public API of @lantern/alerting.
export * from './model/alert.js';
export * from './model/labels.js';
export * from './model/silence.js';
export * from './model/notification.js';
export * from './model/errors.js';
export type * from './model/stores.js';
export type * from './model/clock.js';
export { openStores, type OpenStoresOptions, type PgStores } from './store/open.js';
export type { GroupState, GroupStateStore } from './store/groups.js';
export * from './model/matchers.js';
export * from './config/alertmanager.js';
export { parsePromDuration, formatPromDuration, parseGoDuration, type HostPort } from './config/alertmanager-values.js';

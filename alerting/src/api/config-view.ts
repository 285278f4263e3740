// Adapts the loaded Alertmanager config (config/alertmanager.ts) and the dispatcher's route lookup to the
// narrow view the API reads. Receivers of an alert are the receivers of every route it reaches (with
// `continue`), as Alertmanager's getAlertsHandler lists them.
import { LANTERN_ROUTE_KEYS, type AlertmanagerConfig } from '../config/alertmanager.js';
import type { RoutesFor } from '../dispatch/routes.js';
import type { Alert, AlertStatus } from '../model/alert.js';
import type { RuleManager } from '../rules/manager.js';
import type { AlertGroupView, ApiConfigView, DispatcherView, RuleManagerView } from './deps.js';

export function configView(config: AlertmanagerConfig, routesFor?: RoutesFor): ApiConfigView {
  return {
    original: config.original,
    // escalation may sit on any route; status-config drops route keys at every depth
    lanternOnlyKeys: LANTERN_ROUTE_KEYS.map((k) => `route.${k}`),
    receivers: config.receivers.map((r) => ({ name: r.name })),
    receiversFor: (labels) => (routesFor ? routesFor(labels).map((r) => r.receiver) : config.route.receiver ? [config.route.receiver] : []),
  };
}

/** The dispatcher's view of groups and suppression, as the API reads it (dispatch/dispatcher.ts Dispatcher). */
export function dispatcherView(d: {
  groupsView(): AlertGroupView[];
  status(alert: Alert): Partial<AlertStatus> | undefined;
}): DispatcherView {
  return { groups: () => d.groupsView(), status: (a) => d.status(a) };
}

/** The rule manager as the API reads it (listGroups() in Prometheus /api/v1/rules shape, served as is). */
export function ruleManagerView(m: Pick<RuleManager, 'listGroups'>): RuleManagerView {
  return m;
}

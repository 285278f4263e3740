// The route view the dispatcher needs: which routes an alert takes, each with its resolved timers,
// receiver and group key. dispatch/route.ts (the route tree) provides it; see fromRouteTree in dispatcher.ts.
import type { AlertmanagerConfig } from '../config/alertmanager.js';
import type { LabelSet } from '../model/labels.js';
import { buildRouteTree, routesFor } from './route.js';

export interface EscalationStepView {
  afterMs: number;
  receiver: string;
}

export interface DispatchRoute {
  /** Stable id of the route (Alertmanager's route key). */
  id: string;
  receiver: string;
  groupWaitMs: number;
  groupIntervalMs: number;
  repeatIntervalMs: number;
  muteTimeIntervals: readonly string[];
  activeTimeIntervals: readonly string[];
  escalation: readonly EscalationStepView[];
  /** The group_by labels of an alert's label set (all labels for `...`). */
  groupLabels(labels: LabelSet): LabelSet;
  /** Alertmanager's group key: route key + group labels. */
  groupKey(labels: LabelSet): string;
  /** The route's own labels (AM ≥ 0.29 routeLabels), {} when none. */
  routeLabels?: LabelSet;
}

export type RoutesFor = (labels: LabelSet) => DispatchRoute[];

/** The routes of a loaded config's route tree (built once per config). */
export function routesFromConfig(config: AlertmanagerConfig): RoutesFor {
  const root = buildRouteTree(config);
  return (labels) => routesFor(root, labels);
}

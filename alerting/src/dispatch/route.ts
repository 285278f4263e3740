// The routing tree as Alertmanager's dispatch/route.go builds and walks it: options inherited down the tree,
// first matching child wins unless it says `continue`, a route with no matching child takes the alert itself.
// Route keys and group keys are Alertmanager's strings, so they read the same in logs, the API and nflog.
import type { AlertmanagerConfig, EscalationStep, RouteConfig } from '../config/alertmanager.js';
import { AM_DEFAULTS } from '../config/alertmanager.js';
import { LABEL_NAME, type LabelSet } from '../model/labels.js';
import { goQuote, matchersToString, matches, sortMatchers, type LabelMatcher } from '../model/matchers.js';

// Structurally a DispatchRoute (dispatch/routes.ts): id, receiver, timers, intervals, escalation, groupLabels, groupKey.
export class Route {
  readonly receiver: string;
  /** Labels to group by; ignored when groupByAll. */
  readonly groupBy: readonly string[];
  /** `group_by: ['...']`: every label of the alert. */
  readonly groupByAll: boolean;
  readonly groupWaitMs: number;
  readonly groupIntervalMs: number;
  readonly repeatIntervalMs: number;
  /** Not inherited (Alertmanager: each route names its own). */
  readonly muteTimeIntervals: readonly string[];
  readonly activeTimeIntervals: readonly string[];
  /** Lantern extension; inherited unless the route sets its own (`escalation: []` turns it off). */
  readonly escalation: readonly EscalationStep[];
  /** Sorted as Alertmanager sorts them (name, value, type): the key depends on it. */
  readonly matchers: readonly LabelMatcher[];
  readonly continue: boolean;
  readonly routes: Route[];
  /** Where the route is in the file (`route.routes[1]`), for people. */
  readonly path: string;
  /** Alertmanager's Route.Key(): `{}/{owner="team-A"}/{env="prod"}`. Not unique among identical siblings. */
  readonly key: string;
  /** Alertmanager's Route.ID(): the key plus the sibling index, unique in the tree. */
  readonly uniqueId: string;
  /** The key (what DispatchRoute calls id; Alertmanager builds group keys from it). */
  readonly id: string;
  /** Position in a post-order walk, as Alertmanager's Route.Idx. */
  idx = 0;

  constructor(
    cfg: RouteConfig,
    readonly parent?: Route,
    siblingIndex = 0,
  ) {
    this.receiver = cfg.receiver ?? parent?.receiver ?? '';
    if (cfg.groupBy !== undefined) {
      this.groupBy = [...cfg.groupBy];
      this.groupByAll = cfg.groupByAll;
    } else {
      this.groupBy = parent?.groupBy ?? [];
      this.groupByAll = cfg.groupByAll || (parent?.groupByAll ?? false);
    }
    this.groupWaitMs = cfg.groupWaitMs ?? parent?.groupWaitMs ?? AM_DEFAULTS.groupWaitMs;
    this.groupIntervalMs = cfg.groupIntervalMs ?? parent?.groupIntervalMs ?? AM_DEFAULTS.groupIntervalMs;
    this.repeatIntervalMs = cfg.repeatIntervalMs ?? parent?.repeatIntervalMs ?? AM_DEFAULTS.repeatIntervalMs;
    this.muteTimeIntervals = cfg.muteTimeIntervals;
    this.activeTimeIntervals = cfg.activeTimeIntervals;
    this.escalation = cfg.escalation ?? parent?.escalation ?? [];
    this.matchers = sortMatchers(cfg.matchers);
    this.continue = cfg.continue;
    this.path = cfg.path;
    const own = matchersToString(this.matchers);
    this.key = parent ? `${parent.key}/${own}` : own;
    this.uniqueId = parent ? `${parent.uniqueId}/${own}/${siblingIndex}` : own;
    this.id = this.key;
    this.routes = cfg.routes.map((c, i) => new Route(c, this, i));
  }

  /** The routes an alert takes, in order (Alertmanager's Route.Match). Empty when this route does not match. */
  match(labels: LabelSet): Route[] {
    if (!matches(this.matchers, labels)) return [];
    const all: Route[] = [];
    for (const child of this.routes) {
      const got = child.match(labels);
      all.push(...got);
      if (got.length > 0 && !child.continue) break;
    }
    return all.length > 0 ? all : [this];
  }

  /** The alert's labels this route groups by (all of them for `...`). */
  groupLabels(labels: LabelSet): LabelSet {
    const out: LabelSet = {};
    for (const [k, v] of Object.entries(labels)) if (this.groupByAll || this.groupBy.includes(k)) out[k] = v;
    return out;
  }

  /** Alertmanager's aggregation group key: `<route key>:<group labels>`, e.g. `{}/{env="prod"}:{alertname="X"}`. */
  groupKey(labels: LabelSet): string {
    return `${this.key}:${labelSetString(this.groupLabels(labels))}`;
  }

  /** Pre-order, as Alertmanager's Route.Walk. */
  walk(visit: (r: Route) => void): void {
    visit(this);
    for (const c of this.routes) c.walk(visit);
  }
}

/** Builds the tree from a loaded config (or its route), numbering routes as Alertmanager does. */
export function buildRouteTree(config: AlertmanagerConfig | RouteConfig): Route {
  const root = new Route('route' in config ? config.route : config);
  let counter = 0;
  const number = (r: Route): void => {
    for (const c of r.routes) number(c);
    r.idx = counter++;
  };
  number(root);
  return root;
}

/** The routes an alert takes, in order; the root when nothing below it matches. */
export function routesFor(root: Route, labels: LabelSet): Route[] {
  return root.match(labels);
}

/** Go prometheus/common model.LabelSet.String(): sorted, `{a="b", c="d"}`, values Go-quoted. */
export function labelSetString(labels: LabelSet): string {
  const names = Object.keys(labels).sort();
  return `{${names.map((n) => `${LABEL_NAME.test(n) ? n : goQuote(n)}=${goQuote(labels[n]!)}`).join(', ')}}`;
}

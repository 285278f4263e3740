// Inhibition as Alertmanager's inhibit/inhibit.go applies it: an alert matching a rule's target matchers is
// muted while a firing alert matches the source matchers and has the same values for the `equal` labels
// (a missing label counts as empty). An alert matching both sides of a rule cannot inhibit itself, nor another
// alert that also matches both sides.
import type { InhibitRuleConfig } from '../config/alertmanager.js';
import { isResolved, type Alert } from '../model/alert.js';
import { fingerprint, type LabelSet } from '../model/labels.js';
import { matches, type LabelMatcher } from '../model/matchers.js';

interface Rule {
  source: readonly LabelMatcher[];
  target: readonly LabelMatcher[];
  equal: readonly string[];
}

interface Source {
  fingerprint: string;
  labels: LabelSet;
}

export class Inhibitor {
  private readonly rules: Rule[];
  /** Per rule, the firing alerts that match its source side (Alertmanager's per-rule source cache). */
  private sources: Source[][];

  constructor(rules: readonly InhibitRuleConfig[]) {
    this.rules = rules.map((r) => ({ source: r.sourceMatchers, target: r.targetMatchers, equal: r.equal }));
    this.sources = this.rules.map(() => []);
  }

  /** Replaces the known alerts; only those firing at `now` can inhibit. */
  setAlerts(alerts: readonly Alert[], now: Date): void {
    this.lastFiring = undefined;
    const firing = alerts.filter((a) => !isResolved(a, now));
    this.sources = this.rules.map((r) =>
      firing.filter((a) => matches(r.source, a.labels)).map((a) => ({ fingerprint: a.fingerprint, labels: a.labels })),
    );
  }

  /** Fingerprints of the firing alerts that inhibit an alert with these labels (sorted; [] = not inhibited). */
  inhibitedBy(labels: LabelSet): string[] {
    if (this.rules.length === 0) return [];
    const out = new Set<string>();
    const own = fingerprint(labels);
    this.rules.forEach((r, i) => {
      if (!matches(r.target, labels)) return;
      // inhibit.go hasEqual(lset, excludeTwoSidedMatch): when the target also matches the source side, sources
      // that also match the target side do not count (so such an alert never inhibits itself).
      const twoSided = matches(r.source, labels);
      for (const s of this.sources[i]!) {
        if (s.fingerprint === own) continue;
        if (!r.equal.every((n) => (s.labels[n] ?? '') === (labels[n] ?? ''))) continue;
        if (twoSided && matches(r.target, s.labels)) continue;
        out.add(s.fingerprint);
      }
    });
    return [...out].sort();
  }

  /** True when inhibitedBy(labels) is not empty. */
  mutes(labels: LabelSet): boolean {
    return this.inhibitedBy(labels).length > 0;
  }

  /** One-shot form for the notify pipeline: the sources are `firing`, judged at `now`. */
  evaluate(target: LabelSet, firing: readonly Alert[], now: Date): string[] {
    // The pipeline asks once per alert with the same list: index it once.
    if (firing !== this.lastFiring || now.getTime() !== this.lastNow) {
      this.setAlerts(firing, now);
      this.lastFiring = firing;
      this.lastNow = now.getTime();
    }
    return this.inhibitedBy(target);
  }

  private lastFiring: readonly Alert[] | undefined;
  private lastNow = NaN;
}

// Applies the redaction to each signal's items without touching the input: an item (and the resource
// or scope it shares with its neighbours) is copied only when something in it changes, and each shared
// resource/scope is redacted once per consume, so the copies stay shared like the originals.
import type { Attributes, DecodedLogRecord, DecodedMetric, DecodedSpan, ResourceInfo, Scope } from '../../../otlp/types.js';
import { plainSpan } from '../../../otlp/wire-span.js';
import { redactBody } from './body.js';
import type { Redactor, Tally } from './redactor.js';

/** One consume's worth of work: caches the redacted form of each shared resource and scope. */
export class Pass {
  readonly tally: Tally = { masked: 0, redacted: 0 };
  private readonly shared = new Map<ResourceInfo | Scope, ResourceInfo | Scope>();

  constructor(private readonly r: Redactor) {}

  attributes(a: Attributes): Attributes {
    return this.r.redactAttributes(a, this.tally);
  }

  resource(res: ResourceInfo): ResourceInfo {
    return this.sharedCopy(res) as ResourceInfo;
  }

  scope(s: Scope): Scope {
    return this.sharedCopy(s) as Scope;
  }

  span(s: DecodedSpan): DecodedSpan {
    const attributes = this.attributes(s.attributes);
    let eventsChanged = false;
    const events = s.events.map((e) => {
      const a = this.attributes(e.attributes);
      if (a === e.attributes) return e;
      eventsChanged = true;
      return { ...e, attributes: a };
    });
    const resource = this.resource(s.resource);
    const scope = this.scope(s.scope);
    if (attributes === s.attributes && !eventsChanged && resource === s.resource && scope === s.scope) return s;
    // a plain copy (a WireSpan's accessors are not own properties, and its bytes no longer match): encoded from its fields
    return { ...plainSpan(s), attributes, events: eventsChanged ? events : s.events, resource, scope };
  }

  log(rec: DecodedLogRecord): DecodedLogRecord {
    let attributes = this.attributes(rec.attributes);
    const { body, outcome } = redactBody(this.r, rec.body);
    this.tally.masked += outcome.masked.length;
    this.tally.redacted += outcome.redacted.length;
    if (this.r.hasSummary(outcome)) {
      if (attributes === rec.attributes) attributes = { ...attributes };
      this.r.addSummary(attributes, outcome, 'body');
    }
    const resource = this.resource(rec.resource);
    const scope = this.scope(rec.scope);
    if (attributes === rec.attributes && body === rec.body && resource === rec.resource && scope === rec.scope) return rec;
    return { ...rec, attributes, body, resource, scope };
  }

  metric(m: DecodedMetric): DecodedMetric {
    let pointsChanged = false;
    const dataPoints = (m.dataPoints as { attributes: Attributes }[]).map((p) => {
      const a = this.attributes(p.attributes);
      if (a === p.attributes) return p;
      pointsChanged = true;
      return { ...p, attributes: a };
    });
    const resource = this.resource(m.resource);
    const scope = this.scope(m.scope);
    if (!pointsChanged && resource === m.resource && scope === m.scope) return m;
    return { ...m, dataPoints: pointsChanged ? dataPoints : m.dataPoints, resource, scope } as DecodedMetric;
  }

  private sharedCopy(o: ResourceInfo | Scope): ResourceInfo | Scope {
    let out = this.shared.get(o);
    if (!out) {
      const attributes = this.attributes(o.attributes);
      out = attributes === o.attributes ? o : { ...o, attributes };
      this.shared.set(o, out);
    }
    return out;
  }
}

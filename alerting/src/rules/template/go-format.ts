// The part of Go's fmt and strconv that templates reach: %v printing and printf with flags, width and
// precision. Floats follow strconv.FormatFloat ('g' with shortest digits switches to e-notation from
// exponent 21 on in JS but from 6 digits' worth in Go: 1234567.0 prints "1.234567e+06").
import { type GoInt, type GoMap, type GoStruct, type GoValue, kindOf, typeName } from './go-value.js';

interface Digits {
  /** Significant decimal digits without trailing zeros ("" for zero). */
  d: string;
  /** Position of the decimal point relative to the digits' start. */
  dp: number;
}

function digitsOf(abs: number, sig: number | undefined): Digits {
  if (abs === 0) return { d: '', dp: 0 };
  const e = sig === undefined ? abs.toExponential() : abs.toExponential(Math.max(0, Math.min(100, sig - 1)));
  const [mant, exp] = e.split('e') as [string, string];
  const d = mant.replace('.', '').replace(/0+$/, '');
  return { d, dp: Number(exp) + 1 };
}

function fmtE(neg: boolean, dg: Digits, prec: number, ch: 'e' | 'E'): string {
  const digits = dg.d || '0';
  let s = digits[0]!;
  if (prec > 0) s += '.' + digits.slice(1, 1 + prec).padEnd(prec, '0');
  const exp = dg.d === '' ? 0 : dg.dp - 1;
  const ae = Math.abs(exp);
  return `${neg ? '-' : ''}${s}${ch}${exp < 0 ? '-' : '+'}${ae < 10 ? '0' : ''}${ae}`;
}

function fmtF(neg: boolean, dg: Digits, frac: number): string {
  let int = '';
  if (dg.dp > 0) int = dg.d.slice(0, dg.dp).padEnd(dg.dp, '0');
  else int = '0';
  let s = int;
  if (frac > 0) {
    let f = '';
    for (let i = 0; i < frac; i++) {
      const pos = dg.dp + i;
      f += pos >= 0 && pos < dg.d.length ? dg.d[pos] : '0';
    }
    s += '.' + f;
  }
  return (neg ? '-' : '') + s;
}

/** strconv.FormatFloat(v, fmt, prec, 64); prec -1 means the shortest exact representation. */
export function formatFloat(v: number, fmt: 'e' | 'E' | 'f' | 'g' | 'G', prec: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const neg = v < 0 || Object.is(v, -0);
  const abs = Math.abs(v);
  const shortest = prec < 0;
  if (fmt === 'f') {
    if (shortest) {
      const dg = digitsOf(abs, undefined);
      return fmtF(neg, dg, Math.max(dg.d.length - dg.dp, 0));
    }
    // toFixed is exact for |v| < 1e21; beyond that Go prints the integer digits, as does BigInt.
    const s = abs < 1e21 ? abs.toFixed(Math.min(prec, 100)) : BigInt(abs).toString() + (prec > 0 ? '.' + '0'.repeat(prec) : '');
    return (neg ? '-' : '') + s;
  }
  if (fmt === 'e' || fmt === 'E') {
    const dg = digitsOf(abs, shortest ? undefined : prec + 1);
    return fmtE(neg, dg, shortest ? Math.max(dg.d.length - 1, 0) : prec, fmt);
  }
  // %g
  let p = prec === 0 ? 1 : prec;
  const dg = digitsOf(abs, shortest ? undefined : p);
  if (shortest) p = dg.d.length || 1;
  let eprec = p;
  const nd = dg.d.length || 1;
  const dp = dg.d === '' ? 1 : dg.dp;
  if (eprec > nd && nd >= dp) eprec = nd;
  if (shortest) eprec = 6;
  const exp = dp - 1;
  if (exp < -4 || exp >= eprec) {
    if (p > nd) p = nd;
    return fmtE(neg, dg, p - 1, fmt === 'G' ? 'E' : 'e');
  }
  if (p > dp) p = nd;
  return fmtF(neg, dg, Math.max(p - dp, 0));
}

function quote(s: string): string {
  return JSON.stringify(s);
}

/** fmt's %v (and what `{{ x }}` prints). */
export function formatValue(v: GoValue): string {
  switch (kindOf(v)) {
    case 'string':
      return v as string;
    case 'float':
      return formatFloat(v as number, 'g', -1);
    case 'int':
    case 'uint':
      return (v as GoInt).v.toString();
    case 'bool':
      return String(v);
    case 'nil':
      return '<nil>';
    case 'time':
      return goTimeString(v as Date);
    case 'map': {
      const m = v as GoMap;
      const keys = [...m.entries.keys()].sort();
      return `map[${keys.map((k) => `${k}:${formatValue(m.entries.get(k)!)}`).join(' ')}]`;
    }
    case 'struct':
      return `{${Object.values((v as GoStruct).fields).map(formatValue).join(' ')}}`;
    case 'slice':
      return `[${(v as GoValue[]).map(formatValue).join(' ')}]`;
  }
}

/** time.Time.String() in UTC: "2015-06-23 13:19:44.128 +0000 UTC" (fraction trimmed of trailing zeros). */
export function goTimeString(d: Date, nanos?: bigint): string {
  const iso = d.toISOString(); // yyyy-mm-ddThh:mm:ss.sssZ
  let frac = nanos !== undefined ? nanos.toString().padStart(9, '0') : iso.slice(20, 23);
  frac = frac.replace(/0+$/, '');
  const year = d.getUTCFullYear();
  const datePart = year > 9999 || year < 0 ? `${year}${iso.slice(iso.indexOf('-', 1), 10)}` : iso.slice(0, 10);
  return `${datePart} ${iso.slice(11, 19)}${frac ? '.' + frac : ''} +0000 UTC`;
}

/** fmt.Sprint: operands are separated by a space when neither side is a string. */
export function sprint(args: GoValue[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatValue(a);
  });
  return out;
}

interface Spec {
  minus: boolean;
  plus: boolean;
  zero: boolean;
  space: boolean;
  sharp: boolean;
  width?: number;
  prec?: number;
}

function pad(s: string, spec: Spec, numeric: boolean): string {
  if (spec.width === undefined || s.length >= spec.width) return s;
  if (spec.minus) return s.padEnd(spec.width, ' ');
  if (spec.zero && numeric) {
    const sign = /^[+-]/.test(s) ? s[0]! : '';
    return sign + s.slice(sign.length).padStart(spec.width - sign.length, '0');
  }
  return s.padStart(spec.width, ' ');
}

function signed(s: string, spec: Spec): string {
  if (s.startsWith('-')) return s;
  if (spec.plus) return '+' + s;
  if (spec.space) return ' ' + s;
  return s;
}

function bad(verb: string, v: GoValue): string {
  return `%!${verb}(${typeName(v)}=${formatValue(v)})`;
}

function formatOne(verb: string, v: GoValue, spec: Spec): string {
  const k = kindOf(v);
  switch (verb) {
    case 'v':
      if (k === 'float') return pad(signed(formatFloat(v as number, 'g', spec.prec ?? -1), spec), spec, true);
      if (k === 'int' || k === 'uint') return pad(signed((v as GoInt).v.toString(), spec), spec, true);
      return pad(formatValue(v), spec, false);
    case 'd':
      if (k === 'int' || k === 'uint') return pad(signed((v as GoInt).v.toString(), spec), spec, true);
      return bad(verb, v);
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G': {
      let f: number;
      if (k === 'float') f = v as number;
      else if (k === 'int' || k === 'uint') return bad(verb, v);
      else return bad(verb, v);
      const fmtc = (verb === 'F' ? 'f' : verb) as 'e' | 'E' | 'f' | 'g' | 'G';
      const prec = spec.prec ?? (fmtc === 'g' || fmtc === 'G' ? -1 : 6);
      return pad(signed(formatFloat(f, fmtc, prec), spec), spec, Number.isFinite(f));
    }
    case 's':
      if (k === 'string' || k === 'map' || k === 'slice' || k === 'struct' || k === 'time') {
        let s = formatValue(v);
        if (spec.prec !== undefined) s = [...s].slice(0, spec.prec).join('');
        return pad(s, spec, false);
      }
      return bad(verb, v);
    case 'q':
      if (k === 'string') return pad(quote(v as string), spec, false);
      return bad(verb, v);
    case 't':
      if (k === 'bool') return pad(String(v), spec, false);
      return bad(verb, v);
    case 'x':
    case 'X': {
      let s: string;
      if (k === 'int' || k === 'uint') s = (v as GoInt).v.toString(16);
      else if (k === 'string') s = Buffer.from(v as string).toString('hex');
      else return bad(verb, v);
      if (verb === 'X') s = s.toUpperCase();
      return pad(s, spec, true);
    }
    case 'T':
      return pad(typeName(v), spec, false);
    default:
      return `%!${verb}(${typeName(v)}=${formatValue(v)})`;
  }
}

/** fmt.Sprintf for the verbs templates use: %v %s %d %f %e %g %q %t %x %T %%, flags, width, precision. */
export function sprintf(format: string, args: GoValue[]): string {
  let out = '';
  let argi = 0;
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    if (c !== '%') {
      out += c;
      continue;
    }
    i++;
    const spec: Spec = { minus: false, plus: false, zero: false, space: false, sharp: false };
    for (; i < format.length; i++) {
      const f = format[i];
      if (f === '-') spec.minus = true;
      else if (f === '+') spec.plus = true;
      else if (f === '0') spec.zero = true;
      else if (f === ' ') spec.space = true;
      else if (f === '#') spec.sharp = true;
      else break;
    }
    let m = /^\d+/.exec(format.slice(i));
    if (m) {
      spec.width = Number(m[0]);
      i += m[0].length;
    }
    if (format[i] === '.') {
      i++;
      m = /^\d+/.exec(format.slice(i));
      spec.prec = m ? Number(m[0]) : 0;
      if (m) i += m[0].length;
    }
    const verb = format[i];
    if (verb === undefined) {
      out += '%!(NOVERB)';
      break;
    }
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += formatOne(verb, args[argi++]!, spec);
  }
  if (argi < args.length) {
    out += '%!(EXTRA ' + args.slice(argi).map((a) => `${typeName(a)}=${formatValue(a)}`).join(', ') + ')';
  }
  return out;
}

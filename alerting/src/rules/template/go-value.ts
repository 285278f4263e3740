// Go values as text/template sees them. Go templates are typed: `gt $value 100` compares a float64 with an
// int and fails ("incompatible types for comparison"), exactly the trap Prometheus users hit, so ints and
// floats stay distinct here: a JS number is a float64, a GoInt an int/uint.

/** A Go integer (int, int64, uint64…). Constants like `1` in a template are ints, `1.0` floats. */
export class GoInt {
  constructor(
    readonly v: bigint,
    readonly unsigned = false,
  ) {}
}

/** A Go map; a missing key yields `zero` (Prometheus runs templates with missingkey=zero). */
export class GoMap {
  constructor(
    readonly entries: ReadonlyMap<string, GoValue>,
    readonly zero: GoValue = '',
    readonly typeName = 'map[string]string',
  ) {}
  static ofStrings(rec: Record<string, string>): GoMap {
    return new GoMap(new Map(Object.entries(rec)), '', 'map[string]string');
  }
}

/** A Go struct: fields by name; a missing field is an execution error, as in Go. */
export class GoStruct {
  constructor(
    readonly fields: Readonly<Record<string, GoValue>>,
    readonly typeName = 'struct',
  ) {}
}

/** A Go function value (what template funcs receive and return is always one of the GoValue shapes). */
export type GoValue = string | number | boolean | null | GoInt | GoMap | GoStruct | GoValue[] | Date;

export type Kind = 'string' | 'float' | 'int' | 'uint' | 'bool' | 'nil' | 'map' | 'struct' | 'slice' | 'time';

export function kindOf(v: GoValue): Kind {
  if (v === null) return 'nil';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'float';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof GoInt) return v.unsigned ? 'uint' : 'int';
  if (v instanceof GoMap) return 'map';
  if (v instanceof GoStruct) return 'struct';
  if (v instanceof Date) return 'time';
  return 'slice';
}

/** Go's type name, as fmt prints it in %!verb(type=value) and errors. */
export function typeName(v: GoValue): string {
  switch (kindOf(v)) {
    case 'string':
      return 'string';
    case 'float':
      return 'float64';
    case 'int':
      return 'int';
    case 'uint':
      return 'uint64';
    case 'bool':
      return 'bool';
    case 'nil':
      return '<nil>';
    case 'map':
      return (v as GoMap).typeName;
    case 'struct':
      return (v as GoStruct).typeName;
    case 'time':
      return 'time.Time';
    case 'slice':
      return '[]interface {}';
  }
}

/** text/template's truth: false, 0, nil and empty strings, slices and maps are false. */
export function truth(v: GoValue): boolean {
  if (v === null) return false;
  if (typeof v === 'string') return v !== '';
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'boolean') return v;
  if (v instanceof GoInt) return v.v !== 0n;
  if (v instanceof GoMap) return v.entries.size > 0;
  if (Array.isArray(v)) return v.length > 0;
  return true;
}

/** A float64 from a number-ish value, as prometheus/common's ConvertToFloat does (strings are parsed). */
export function convertToFloat(v: GoValue): number {
  if (typeof v === 'number') return v;
  if (v instanceof GoInt) return Number(v.v);
  if (typeof v === 'string') {
    const f = parseGoFloat(v);
    if (f === undefined) throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`);
    return f;
  }
  throw new Error(`can't convert ${typeName(v)} to float`);
}

/** strconv.ParseFloat's accepted syntax (decimal, exponent, Inf/NaN spellings, hex floats left out). */
export function parseGoFloat(s: string): number | undefined {
  const t = s.replace(/_/g, '');
  if (/^[+-]?(inf|infinity)$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(t)) return NaN;
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return Number(t);
  if (/^[+-]?0x[0-9a-f]+$/i.test(t)) return Number(t.replace(/^([+-]?)0x/i, '$10x')) * 1;
  return undefined;
}

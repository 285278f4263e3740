// Go's math/rand source (rngSource, src/math/rand/rng.go), so a test can draw exactly the numbers a Go test draws
// from rand.New(rand.NewSource(seed)): contrib's test vectors are defined over such sequences.
import { readFileSync } from 'node:fs';

const LEN = 607;
const TAP = 273;
const MASK63 = (1n << 63n) - 1n;
/** rngCooked from rng.go (signed int64s, Go ≥ 1.8): the generator's state after 780e10 iterations. */
const COOKED = (JSON.parse(readFileSync(new URL('../fixtures/go-rng-cooked.json', import.meta.url), 'utf8')) as string[]).map(BigInt);

/** seed rng x[n+1] = 48271 * x[n] mod (2**31 - 1), as Go's seedrand (int32 arithmetic). */
function seedrand(x: number): number {
  const hi = Math.trunc(x / 44488);
  const lo = x % 44488;
  let v = 48271 * lo - 3399 * hi;
  if (v < 0) v += 2147483647;
  return v;
}

export class GoRand {
  private readonly vec = new BigInt64Array(LEN);
  private tap = 0;
  private feed = LEN - TAP;

  constructor(seed: number) {
    let s = seed % 2147483647;
    if (s < 0) s += 2147483647;
    if (s === 0) s = 89482311;
    let x = s;
    for (let i = -20; i < LEN; i++) {
      x = seedrand(x);
      if (i < 0) continue;
      let u = BigInt(x) << 40n;
      x = seedrand(x);
      u ^= BigInt(x) << 20n;
      x = seedrand(x);
      u ^= BigInt(x);
      u ^= COOKED[i]!;
      this.vec[i] = u; // a BigInt64Array wraps to int64 as Go's shifts do
    }
  }

  /** rand.(*Rand).Uint64, which uses rngSource.Uint64 (int64 addition wraps, unmasked). */
  uint64(): bigint {
    if (--this.tap < 0) this.tap += LEN;
    if (--this.feed < 0) this.feed += LEN;
    const x = this.vec[this.feed]! + this.vec[this.tap]!;
    this.vec[this.feed] = BigInt.asIntN(64, x);
    return BigInt.asUintN(64, x);
  }

  /** rand.(*Rand).Int63. */
  int63(): bigint {
    return this.uint64() & MASK63;
  }
}

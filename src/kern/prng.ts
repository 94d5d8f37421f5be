// A seeded pseudo-random generator (splitmix32 seeding a xoshiro128**), so that every random
// choice the simulator makes (CPU migration, fault injection) replays from its seed.

export interface Prng {
  readonly seed: number;
  /** A uniformly distributed unsigned 32-bit integer. */
  nextU32(): number;
  /** A float in [0, 1). */
  nextFloat(): number;
  /** An integer in [min, max] inclusive. */
  intInclusive(min: number, max: number): number;
  /** True with probability `pct` percent. */
  chancePct(pct: number): boolean;
}

export function createPrng(seed: number): Prng {
  let s = seed >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  if ((a | b | c | d) === 0) a = 1;
  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
    const t = (b << 9) >>> 0;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
  const nextFloat = (): number => nextU32() / 4294967296;
  return {
    seed: seed >>> 0,
    nextU32,
    nextFloat,
    intInclusive: (min, max) => min + Math.floor(nextFloat() * (max - min + 1)),
    chancePct: (pct) => pct > 0 && nextFloat() * 100 < pct,
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

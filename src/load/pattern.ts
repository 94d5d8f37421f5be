// Deterministic file contents for tests and benchmarks: a xorshift32 stream, word by word, so
// the same size and seed always give the same bytes and a hash from an earlier run stays true.

/** Fills `words` with xorshift32 output continuing from `state`; returns the next state. */
export function patternFill(words: Uint32Array, state: number): number {
  let x = state >>> 0 || 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  return x;
}

/** `sizeBytes` deterministic bytes seeded by `seed` (a Buffer over its own memory). */
export function patternBytes(sizeBytes: number, seed: number): Buffer {
  const words = new Uint32Array(Math.ceil(sizeBytes / 4));
  patternFill(words, seed);
  return Buffer.from(words.buffer, 0, sizeBytes);
}

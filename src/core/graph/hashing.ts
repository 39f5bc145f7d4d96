/**
 * Small, seedable 32-bit hashing and random helpers for the task graph. They
 * only need to be fast and well mixed, not cryptographic.
 */

/** Murmur3's finaliser: spreads every input bit over the whole 32-bit word. */
export function mix32(value: number): number {
  let x = value | 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Mixes `value` into a running hash; order matters, as it should for tuples. */
export function combineHash(hash: number, value: number): number {
  return mix32(Math.imul(hash ^ 0x9e3779b9, 0x01000193) + (value | 0));
}

/** FNV-1a over UTF-16 code units, finished with `mix32` so short strings spread too. */
export function hashString(text: string, seed: number): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return mix32(hash ^ text.length);
}

/** Mulberry32: a tiny seeded generator in [0, 1), enough for Louvain's shuffles. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

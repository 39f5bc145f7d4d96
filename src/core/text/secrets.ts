// Literals that must never be suggested, whichever file taught them.

/**
 * True for a string literal that looks like a key or token: long, without
 * spaces, and random-looking (Shannon entropy of its characters over 3.5
 * bits). Such literals are never suggested, whichever file taught them.
 */
export function looksLikeSecret(token: string): boolean {
  if (!/^["'`]/.test(token)) return false;
  const body = token.slice(1, -1);
  if (body.length < 16 || body.includes('\u2581')) return false;
  const counts = new Map<string, number>();
  for (const char of body) counts.set(char, (counts.get(char) ?? 0) + 1);
  let entropy = 0;
  for (const count of counts.values()) {
    const p = count / body.length;
    entropy -= p * Math.log2(p);
  }
  return entropy > 3.5;
}

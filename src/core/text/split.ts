import { createHash } from 'node:crypto';

export type Split = 'train' | 'test';

/**
 * The protocol's split: a file is TEST iff int(sha1(relPath), 16) % 5 == 0.
 * `relPath` uses forward slashes. 16^k ≡ 1 (mod 5), so the big number's
 * residue is the sum of its hex digits mod 5.
 */
export function splitOf(relPath: string): Split {
  const hex = createHash('sha1').update(relPath, 'utf8').digest('hex');
  let sum = 0;
  for (let i = 0; i < hex.length; i++) sum += parseInt(hex[i], 16);
  return sum % 5 === 0 ? 'test' : 'train';
}

import { isWordToken } from '../text/lexer';

/** Entropy, MRR and top-1 over a set of scored positions. */
export interface MetricSummary {
  tokens: number;
  /** Mean −log2 p(true token), bits per token. */
  entropy: number;
  /** Mean reciprocal rank of the true token in the top-10 list (0 when absent). */
  mrr: number;
  /** Share of positions where the true token is ranked first. */
  top1: number;
}

export const MRR_CUTOFF = 10;

/** Accumulates one scored position at a time; micro-averaged over all positions. */
export class MetricAccumulator {
  private count = 0;
  private bits = 0;
  private reciprocalRanks = 0;
  private firsts = 0;

  /** `rank` is 0-based within the top-10 list, or -1 when the true token is not in it. */
  add(probability: number, rank: number): void {
    if (!(probability > 0 && probability <= 1 + 1e-9)) {
      throw new RangeError(`A scored token got probability ${probability}: every token needs a non-zero share.`);
    }
    this.count++;
    this.bits -= Math.log2(probability);
    if (rank >= 0 && rank < MRR_CUTOFF) {
      this.reciprocalRanks += 1 / (rank + 1);
      if (rank === 0) this.firsts++;
    }
  }

  summary(): MetricSummary {
    const n = this.count;
    return {
      tokens: n,
      entropy: n === 0 ? 0 : this.bits / n,
      mrr: n === 0 ? 0 : this.reciprocalRanks / n,
      top1: n === 0 ? 0 : this.firsts / n,
    };
  }
}

/** MRR and top-1 alone, for a ranking that comes without a probability of the true token. */
export interface RankSummary {
  mrr: number;
  top1: number;
}

/** Accumulates 0-based ranks (-1 when absent) into MRR and top-1 over the top-10 list. */
export class RankAccumulator {
  private count = 0;
  private reciprocalRanks = 0;
  private firsts = 0;

  add(rank: number): void {
    this.count++;
    if (rank >= 0 && rank < MRR_CUTOFF) {
      this.reciprocalRanks += 1 / (rank + 1);
      if (rank === 0) this.firsts++;
    }
  }

  summary(): RankSummary {
    const n = this.count;
    return { mrr: n === 0 ? 0 : this.reciprocalRanks / n, top1: n === 0 ? 0 : this.firsts / n };
  }
}


// Reserved words are predicted from syntax, not from naming habits, so the
// identifier figures leave them out; contextual words (`of`, `type`, `self`) stay in.
const JS_RESERVED = new Set(
  (
    'await break case catch class const continue debugger default delete do else enum export extends false ' +
    'finally for function if implements import in instanceof interface let new null package private protected ' +
    'public return static super switch this throw true try typeof var void while with yield'
  ).split(' '),
);
const PYTHON_RESERVED = new Set(
  (
    'False None True and as assert async await break class continue def del elif else except finally for from ' +
    'global if import in is lambda nonlocal not or pass raise return try while with yield'
  ).split(' '),
);
const JAVA_RESERVED = new Set(
  (
    'abstract assert boolean break byte case catch char class const continue default do double else enum extends ' +
    'false final finally float for goto if implements import instanceof int interface long native new null package ' +
    'private protected public return short static strictfp super switch synchronized this throw throws transient ' +
    'true try void volatile while'
  ).split(' '),
);

function reservedWordsOf(relPath: string): ReadonlySet<string> {
  if (relPath.endsWith('.py')) return PYTHON_RESERVED;
  if (relPath.endsWith('.java')) return JAVA_RESERVED;
  return JS_RESERVED;
}

/**
 * Identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/ minus the reserved words of the
 * file's language (JS/TS, Python or Java, chosen by extension; JS/TS for the rest).
 */
export function isIdentifier(token: string, relPath: string): boolean {
  return isWordToken(token) && !reservedWordsOf(relPath).has(token);
}

// Ghost text: beam search over next-token distributions, up to the end of the
// line. Pure: the caller supplies the distributions (the n-gram, or the
// neural mixture) and this module decides which continuation to show.
import type { LanguageKind } from '../text/lexer';

const CLOSERS = new Set([')', ']', '}']);
const OPENERS = new Set(['(', '[', '{']);

/** Where a generated line may stop, and what it may not propose. */
export interface LineRules {
  language: LanguageKind;
  /** The first non-blank character after the cursor on the line: generation stops before that closer. */
  closerAfter: string;
  /** True for a token that must never be proposed (e.g. a literal that looks like a secret). */
  isForbidden?: (token: string) => boolean;
  /** The part of the first token already typed: it saves the user nothing. */
  typedPrefix?: string;
}

/** What appending `token` to a line at bracket depth `depth` does: refused, or taken (and maybe ending the line). */
export type LineStep = { kind: 'refuse' } | { kind: 'take'; depth: number; endsLine: boolean };

/**
 * The line rules of ghost text: stop before a `}` or a closer the line already
 * has after the cursor (at depth 0), before whitespace or a forbidden token;
 * stop after `;` or `{` (at depth ≤ 1) and, in Python, after a `:` at depth 0.
 */
export function lineStep(depth: number, token: string, rules: LineRules): LineStep {
  if (CLOSERS.has(token) && depth === 0 && (token === '}' || token === rules.closerAfter)) return { kind: 'refuse' };
  if (/^[\s\u2581]*$/.test(token) || rules.isForbidden?.(token) === true) return { kind: 'refuse' };
  const next = OPENERS.has(token) ? depth + 1 : CLOSERS.has(token) ? Math.max(0, depth - 1) : depth;
  const endsLine = ((token === ';' || token === '{') && next <= 1) || (rules.language === 'python' && token === ':' && next === 0);
  return { kind: 'take', depth: next, endsLine };
}

export interface BeamOptions {
  /** Hypotheses kept per step; 1 is greedy decoding. */
  beamWidth: number;
  maxTokens: number;
  /** A token less likely than this (given its hypothesis) is not proposed. */
  minProbability: number;
}

/** Next tokens after one hypothesis, most likely first. */
export type Candidate = { token: string; probability: number };

/**
 * The language model as beam search sees it. `expand` gets every surviving
 * hypothesis as (its parent's index in the previous call's list, or in the
 * root's for step 1; the token appended) and answers each one's next-token
 * candidates. The root (nothing generated yet) is `root()`.
 */
export interface BeamModel {
  root(): Candidate[];
  expand(hypotheses: readonly { parent: number; token: string }[]): Candidate[][];
}

export interface BeamResult {
  tokens: string[];
  /** Joint probability of the tokens under the model. */
  probability: number;
  /** Hypotheses scored, for benchmarks and tests. */
  expansions: number;
}

interface Hypothesis {
  tokens: string[];
  logProbability: number;
  depth: number;
  /** Σ p(tokens 1..i right) × characters token i adds. */
  expectedCharacters: number;
  /** Each token's probability given the ones before it, in ascending order. */
  weakest: number[];
  /** Index of the hypothesis it grew from, in the previous step's list. */
  parent: number;
}

/**
 * The ghost text to show. Hypotheses grow by their `beamWidth` most likely
 * tokens that the line rules take and that reach `minProbability`; the
 * `beamWidth` likeliest survive each step. A hypothesis is complete where the
 * line ends (`;`, `{`, a Python `:`) or where its likeliest next token may
 * not be shown (a closer the line already has); one cut at `maxTokens` is
 * not. Of the complete ones, the one whose least likely token is likeliest
 * wins (ties go to the second least likely, and so on): a line is as
 * trustworthy as its weakest token. Unlike the joint probability this does
 * not favour short lines (a bare `;` over a whole statement), and unlike a
 * per-token average it does not favour long ones (a memorised run of sure
 * tokens behind one doubtful turn over the end of the statement). When none
 * is complete (every line ran into tokens below `minProbability` or the
 * limit), the partial line with the most characters the user can expect to
 * accept word by word is shown: each token counts its length times the
 * probability that it and every token before it are right. Undefined when no
 * token may start the line.
 */
export function beamSearch(model: BeamModel, rules: LineRules, options: BeamOptions): BeamResult | undefined {
  const typed = rules.typedPrefix?.length ?? 0;
  let complete: Hypothesis | undefined;
  let partial: Hypothesis | undefined;
  const completes = (hypothesis: Hypothesis): void => {
    if (hypothesis.tokens.length > 0 && (complete === undefined || moreTrusted(hypothesis, complete))) complete = hypothesis;
  };
  let live: Hypothesis[] = [{ tokens: [], logProbability: 0, depth: 0, expectedCharacters: 0, weakest: [], parent: 0 }];
  let candidates: Candidate[][] = [model.root()];
  let expansions = 1;
  while (live.length > 0) {
    const grown: Hypothesis[] = [];
    live.forEach((hypothesis, parent) => {
      let taken = 0;
      for (const candidate of candidates[parent]) {
        if (taken >= options.beamWidth || candidate.probability < options.minProbability) break;
        const step = lineStep(hypothesis.depth, candidate.token, rules);
        // When the likeliest next token may not be shown (the closer already after the cursor), the line is done.
        if (step.kind === 'refuse' && candidate === candidates[parent][0]) {
          completes(hypothesis);
          break;
        }
        if (step.kind === 'refuse') continue;
        taken++;
        const logProbability = hypothesis.logProbability + Math.log(candidate.probability);
        const saved = candidate.token.length - (hypothesis.tokens.length === 0 ? typed : 0);
        const next: Hypothesis = {
          tokens: [...hypothesis.tokens, candidate.token],
          logProbability,
          depth: step.depth,
          expectedCharacters: hypothesis.expectedCharacters + Math.exp(logProbability) * saved,
          weakest: insertSorted(hypothesis.weakest, candidate.probability),
          parent,
        };
        if (next.expectedCharacters > (partial?.expectedCharacters ?? 0)) partial = next;
        if (step.endsLine) completes(next);
        else if (next.tokens.length < options.maxTokens) grown.push(next);
      }
    });
    grown.sort((a, b) => b.logProbability - a.logProbability);
    live = grown.slice(0, options.beamWidth);
    if (live.length === 0) break;
    candidates = model.expand(live.map((hypothesis) => ({ parent: hypothesis.parent, token: hypothesis.tokens[hypothesis.tokens.length - 1] })));
    expansions += live.length;
  }
  const chosen = complete ?? partial;
  return chosen === undefined ? undefined : { tokens: chosen.tokens, probability: Math.exp(chosen.logProbability), expansions };
}

/** True when `a`'s token probabilities, weakest first, beat `b`'s at the first place they differ (a shorter line, all equal, wins). */
function moreTrusted(a: Hypothesis, b: Hypothesis): boolean {
  const length = Math.max(a.weakest.length, b.weakest.length);
  for (let i = 0; i < length; i++) {
    const pa = a.weakest[i] ?? 1;
    const pb = b.weakest[i] ?? 1;
    if (pa !== pb) return pa > pb;
  }
  return false;
}

/** A copy of ascending `values` with `value` in its place. */
function insertSorted(values: readonly number[], value: number): number[] {
  const at = values.findIndex((existing) => existing > value);
  return at < 0 ? [...values, value] : [...values.slice(0, at), value, ...values.slice(at)];
}

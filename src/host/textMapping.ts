// Maps the lexer's tokens back to source text: spacing between tokens, string
// literals' whitespace marks, and where a generated line stops. No 'vscode'
// import, so it runs under plain mocha.
import type { Completion } from '../core/engine/completionEngine';
import { isWordToken, tokenize } from '../core/text/lexer';
import type { LanguageKind } from '../core/text/lexer';

/** The lexer shows whitespace inside string literals as U+2581. */
export function tokenToText(token: string): string {
  return token.replace(/\u2581/g, ' ');
}

const NO_SPACE_BEFORE = new Set(['.', '?.', ',', ';', ')', ']', ':', '++', '--']);
const NO_SPACE_AFTER = new Set(['.', '?.', '(', '[', '!', '~', '@', '...']);
/** Words after which `(` or `[` opens a group rather than a call or an index. */
const KEYWORDS = new Set([
  'if', 'for', 'while', 'switch', 'catch', 'return', 'throw', 'new', 'typeof', 'await', 'yield', 'in', 'of',
  'instanceof', 'case', 'do', 'else', 'const', 'let', 'var', 'export', 'import', 'from', 'as', 'extends',
  'implements', 'and', 'or', 'not', 'is', 'elif', 'with', 'assert', 'lambda', 'del', 'except', 'def', 'class',
]);
const CLOSERS = new Set([')', ']', '}']);
const OPENERS = new Set(['(', '[', '{']);


/** True for a token that ends an operand, after which `-` or `+` is binary. */
function endsOperand(token: string): boolean {
  if (KEYWORDS.has(token)) return false;
  return isWordToken(token) || /^[0-9"'`]/.test(token) || token === ')' || token === ']';
}

/**
 * Whether source text puts a space between `previous` and `next`, given the
 * token before `previous` (to tell unary `-x` from binary `a - x`).
 */
export function needsSpaceBetween(previous: string | undefined, next: string, beforePrevious?: string): boolean {
  if (previous === undefined) return false;
  if (NO_SPACE_BEFORE.has(next) || NO_SPACE_AFTER.has(previous)) return false;
  if ((previous === '-' || previous === '+') && !(beforePrevious !== undefined && endsOperand(beforePrevious))) return false;
  if (next === '(' || next === '[') {
    return !(isWordToken(previous) && !KEYWORDS.has(previous)) && previous !== ')' && previous !== ']';
  }
  return true;
}

/** Joins tokens as source text; `context` is the tokens already before them in the line, nearest last. */
export function detokenize(tokens: readonly string[], context: readonly string[] = []): string {
  const all = [...context.slice(-2), ...tokens];
  let text = '';
  for (let i = all.length - tokens.length; i < all.length; i++) {
    if (needsSpaceBetween(all[i - 1], all[i], all[i - 2])) text += ' ';
    text += tokenToText(all[i]);
  }
  return text;
}

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

/** A continuation the inline provider shows as ghost text. */
export interface GhostText {
  /** The identifier part already typed before the cursor, which `text` starts with and replaces. */
  typedPrefix: string;
  /** The text to insert in place of `typedPrefix`, including it. */
  text: string;
  tokens: string[];
}

export interface GhostTextOptions {
  /** Stop after this many tokens. */
  maxTokens: number;
  /** Stop when the best next token is less likely than this. */
  minProbability: number;
  language: LanguageKind;
  /** The line's text after the cursor: generation stops before a closer it already has. */
  textAfter: string;
  /** True to stop early, e.g. when the editor cancelled the request. */
  isCancelled?: () => boolean;
}

/**
 * Greedy decoding over successive next-token predictions, up to the end of the
 * line: after `;` or `{`, before a `}` that belongs to the next line, or before
 * a closer the line already has after the cursor. `next` answers for a text
 * before the cursor, as `completion/complete` does.
 */
export async function generateGhostText(
  textBefore: string,
  next: (textBefore: string) => Promise<Completion>,
  options: GhostTextOptions,
): Promise<GhostText | undefined> {
  const lineStart = textBefore.lastIndexOf('\n') + 1;
  const lineTokens = tokenize(textBefore.slice(lineStart), options.language);
  const first = await next(textBefore);
  const typedPrefix = first.typedPrefix;
  if (typedPrefix.length > 0) lineTokens.pop();
  const before = textBefore.slice(0, textBefore.length - typedPrefix.length);
  const endsInSpace = /\s$/.test(before) || before.length === 0;
  const closerAfter = options.textAfter.trimStart().charAt(0);
  const tokens: string[] = [];
  let depth = 0;
  let completion: Completion = first;
  while (tokens.length < options.maxTokens && options.isCancelled?.() !== true) {
    const best = completion.suggestions[0];
    if (best === undefined || best.probability < options.minProbability) break;
    const token = best.token;
    if (CLOSERS.has(token) && depth === 0 && (token === '}' || token === closerAfter)) break;
    if (/^\s*$/.test(tokenToText(token)) || looksLikeSecret(token)) break;
    tokens.push(token);
    if (OPENERS.has(token)) depth++;
    else if (CLOSERS.has(token)) depth = Math.max(0, depth - 1);
    if ((token === ';' || token === '{') && depth <= 1) break;
    if (options.language === 'python' && token === ':' && depth === 0) break;
    if (tokens.length >= options.maxTokens) break;
    const generated = joinAfter(tokens, lineTokens, endsInSpace);
    // A trailing word would be read as a typed prefix; a space closes it.
    const request = before + generated + (/[A-Za-z0-9_$]$/.test(generated) ? ' ' : '');
    completion = await next(request);
  }
  if (tokens.length === 0) return undefined;
  const text = joinAfter(tokens, lineTokens, endsInSpace);
  // The typed prefix is kept as typed: the first token starts with it.
  return { typedPrefix, text: typedPrefix.length > 0 ? text.trimStart() : text, tokens };
}

/** The tokens as text to append to a line whose tokens are `lineTokens`. */
function joinAfter(tokens: readonly string[], lineTokens: readonly string[], endsInSpace: boolean): string {
  const text = detokenize(tokens, lineTokens);
  return endsInSpace ? text.trimStart() : text;
}

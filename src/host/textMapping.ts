// Maps the lexer's tokens back to source text: spacing between tokens, string
// literals' whitespace marks, and ghost text's tokens as text. No 'vscode'
// import, so it runs under plain mocha.
import type { Continuation } from '../core/engine/completionEngine';
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

/** A continuation the inline provider shows as ghost text. */
export interface GhostText {
  /** The identifier part already typed before the cursor, which `text` starts with and replaces. */
  typedPrefix: string;
  /** The text to insert in place of `typedPrefix`, including it. */
  text: string;
  tokens: string[];
}

/**
 * The continuation as the editor shows it: the worker's tokens (beam search,
 * `completion/continue`) joined as source text after the line's tokens, the
 * typed prefix kept as typed.
 */
export function ghostTextOf(textBefore: string, continuation: Continuation, language: LanguageKind): GhostText | undefined {
  if (continuation.tokens.length === 0) return undefined;
  const { typedPrefix, tokens } = continuation;
  const lineStart = textBefore.lastIndexOf('\n') + 1;
  const lineTokens = tokenize(textBefore.slice(lineStart), language);
  if (typedPrefix.length > 0) lineTokens.pop();
  const before = textBefore.slice(0, textBefore.length - typedPrefix.length);
  const endsInSpace = /\s$/.test(before) || before.length === 0;
  const text = joinAfter(tokens, lineTokens, endsInSpace);
  // The typed prefix is kept as typed: the first token starts with it.
  return { typedPrefix, text: typedPrefix.length > 0 ? text.trimStart() : text, tokens };
}

/** The tokens as text to append to a line whose tokens are `lineTokens`. */
function joinAfter(tokens: readonly string[], lineTokens: readonly string[], endsInSpace: boolean): string {
  const text = detokenize(tokens, lineTokens);
  return endsInSpace ? text.trimStart() : text;
}

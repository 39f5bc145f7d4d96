/**
 * The protocol's code lexer, token for token the same as
 * shared/eval/reference_lexer.py `tokenize(text, is_python, is_js)`.
 *
 * The reference is Python, so character classes follow Python's Unicode
 * semantics (`str.isspace`, `str.isdigit`, `str.isalnum`, re's `\s` and `\d`),
 * not JavaScript's, and positions that Python sees as one code point (an
 * astral character) are handled as one unit here even though they take two
 * UTF-16 code units.
 */

export type LanguageKind = 'python' | 'js' | 'other';

const JS_EXTENSIONS: readonly string[] = ['.ts', '.tsx', '.js', '.jsx', '.mjs', '.cjs', '.mts', '.cts'];

/** Case-sensitive like the reference's `str.endswith`, so `.PY` is 'other'. */
export function languageKindOf(relPath: string): LanguageKind {
  if (relPath.endsWith('.py')) return 'python';
  for (const extension of JS_EXTENSIONS) if (relPath.endsWith(extension)) return 'js';
  return 'other';
}

const SPACE_MARK = '\u2581';

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const DOUBLE_QUOTE = 0x22;
const HASH = 0x23;
const DOLLAR = 0x24;
const SINGLE_QUOTE = 0x27;
const STAR = 0x2a;
const PLUS = 0x2b;
const MINUS = 0x2d;
const DOT = 0x2e;
const SLASH = 0x2f;
const ZERO = 0x30;
const QUESTION = 0x3f;
const OPEN_BRACKET = 0x5b;
const BACKSLASH = 0x5c;
const CLOSE_BRACKET = 0x5d;
const UNDERSCORE = 0x5f;
const BACKTICK = 0x60;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

// Per-ASCII-character flags, so the hot loop does one table read instead of a regex.
const SPACE = 1;
const IDENT_START = 2;
const IDENT_PART = 4;
const ASCII_LETTER = 8;
const DIGIT = 16;
const HEX_DIGIT = 32;
/** First character of a previous token that makes a following '/' division (alnum, `_$'"` and backtick). */
const DIVISION_AFTER = 64;
/** Characters after which a '/' inside `${...}` starts a regex: "(,=:[!&|?{};+-*%<>~^". */
const REGEX_AFTER_IN_TEMPLATE = 128;

const ASCII_FLAGS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  let flags = 0;
  // Python's str.isspace() for ASCII includes the separators \x1c-\x1f.
  if ((c >= TAB && c <= CR) || (c >= 0x1c && c <= 0x20)) flags |= SPACE;
  if (/[A-Za-z]/.test(ch)) flags |= ASCII_LETTER | IDENT_START | IDENT_PART | DIVISION_AFTER;
  if (/[0-9]/.test(ch)) flags |= DIGIT | IDENT_PART | DIVISION_AFTER;
  if (/[0-9a-fA-F]/.test(ch)) flags |= HEX_DIGIT;
  if (ch === '_' || ch === '$') flags |= IDENT_START | IDENT_PART | DIVISION_AFTER;
  if (ch === "'" || ch === '"' || ch === '`') flags |= DIVISION_AFTER;
  if ('(,=:[!&|?{};+-*%<>~^'.includes(ch)) flags |= REGEX_AFTER_IN_TEMPLATE;
  ASCII_FLAGS[c] = flags;
}

/** Python `str.isspace()` (and re `\s`) for one UTF-16 unit; no astral character is a space. */
function isSpace(c: number): boolean {
  if (c < 128) return (ASCII_FLAGS[c] & SPACE) !== 0;
  return (
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

const UNICODE_DECIMAL = /^\p{Nd}$/u;
const UNICODE_ALNUM = /^[\p{L}\p{N}]$/u;

/**
 * Characters where Python's `isdigit()` is true but `isdecimal()` is not
 * (superscripts, circled digits, ...); JavaScript has no property for them.
 * Pairs of [first, last] code points, from Python's unicodedata.
 */
const DIGIT_NOT_DECIMAL: readonly number[] = [
  0xb2, 0xb3, 0xb9, 0xb9, 0x1369, 0x1371, 0x19da, 0x19da, 0x2070, 0x2070, 0x2074, 0x2079, 0x2080, 0x2089,
  0x2460, 0x2468, 0x2474, 0x247c, 0x2488, 0x2490, 0x24ea, 0x24ea, 0x24f5, 0x24fd, 0x24ff, 0x24ff, 0x2776,
  0x277e, 0x2780, 0x2788, 0x278a, 0x2792, 0x10a40, 0x10a43, 0x10e60, 0x10e68, 0x11052, 0x1105a, 0x1f100,
  0x1f10a,
];

/** Python `isdecimal()`, which is also what re's `\d` matches in a str pattern. */
function isDecimalCodePoint(cp: number): boolean {
  if (cp < 128) return cp >= ZERO && cp <= 0x39;
  return UNICODE_DECIMAL.test(String.fromCodePoint(cp));
}

/** Python `isdigit()`. */
function isDigitCodePoint(cp: number): boolean {
  if (isDecimalCodePoint(cp)) return true;
  for (let k = 0; k < DIGIT_NOT_DECIMAL.length; k += 2) {
    if (cp >= DIGIT_NOT_DECIMAL[k] && cp <= DIGIT_NOT_DECIMAL[k + 1]) return true;
  }
  return false;
}

/** Python `isalnum()`: letters (L*) plus anything numeric, which Unicode puts exactly in N*. */
function isAlnumCodePoint(cp: number): boolean {
  if (cp < 128) return (ASCII_FLAGS[cp] & (ASCII_LETTER | DIGIT)) !== 0;
  return UNICODE_ALNUM.test(String.fromCodePoint(cp));
}

/** UTF-16 length of the code point at `j` when it is a `\d` digit, else 0. */
function decimalWidthAt(text: string, j: number, n: number): number {
  if (j >= n) return 0;
  const c = text.charCodeAt(j);
  if (c < 128) return (ASCII_FLAGS[c] & DIGIT) !== 0 ? 1 : 0;
  const cp = text.codePointAt(j) as number;
  if (!isDecimalCodePoint(cp)) return 0;
  return cp > 0xffff ? 2 : 1;
}

function isAsciiFlag(c: number, flag: number): boolean {
  return c < 128 && (ASCII_FLAGS[c] & flag) !== 0;
}

// Multi-character operators grouped by first character, longest first, so a
// match is a few startsWith calls instead of substring look-ups.
const OPERATORS: readonly string[] = [
  '>>>=', '===', '!==', '**=', '<<=', '>>=', '>>>', '...', '&&=', '||=', '??=', '//=',
  '=>', '->', '==', '!=', '<=', '>=', '&&', '||', '??', '?.', '++', '--',
  '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '@=', '**', '<<', '>>',
  '::', ':=', '//',
];
const OPERATORS_BY_FIRST: (readonly string[] | undefined)[] = new Array(128).fill(undefined);
for (const operator of [...OPERATORS].sort((a, b) => b.length - a.length)) {
  const first = operator.charCodeAt(0);
  OPERATORS_BY_FIRST[first] = [...(OPERATORS_BY_FIRST[first] ?? []), operator];
}

const REGEX_KEYWORDS: ReadonlySet<string> = new Set([
  'return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void',
  'throw', 'case', 'do', 'else', 'yield', 'await',
]);

const PY_STRING_PREFIXES: ReadonlySet<string> = new Set(['r', 'u', 'b', 'f', 'br', 'rb', 'fr', 'rf']);

/** Index of `needle` from `from`, or `n` when absent: where a comment ends. */
function findOrEnd(text: string, needle: string, from: number, n: number): number {
  const k = text.indexOf(needle, from);
  return k < 0 ? n : k;
}

/** A string, template or regex token with every whitespace run replaced by U+2581. */
function literalToken(text: string, start: number, end: number): string {
  let out = '';
  let chunkStart = start;
  let j = start;
  while (j < end) {
    if (isSpace(text.charCodeAt(j))) {
      out += text.slice(chunkStart, j) + SPACE_MARK;
      j++;
      while (j < end && isSpace(text.charCodeAt(j))) j++;
      chunkStart = j;
    } else {
      j++;
    }
  }
  return chunkStart === start ? text.slice(start, end) : out + text.slice(chunkStart, end);
}

/** Marks of `RegexFailures`: a scan that reaches a position outside (or inside) a `[...]` class fails from there. */
const FAILS_OUTSIDE_CLASS = 1;
const FAILS_IN_CLASS = 2;

/**
 * Where regex scans of one text already failed. A scan's outcome from a
 * position depends only on the text and on whether it is inside a class, so
 * a later scan that reaches a marked position fails at once: each position
 * and state is walked by one failing scan only (twice: to fail, then to mark),
 * which keeps a line such as `(/[` × 10,000, where every '/' starts a scan
 * that runs to the line's end, linear instead of quadratic.
 */
class RegexFailures {
  private marks: Uint8Array | undefined;

  constructor(private readonly text: string) {}

  /** End of a JS regex literal at text[i] === '/', or -1 when it reaches a newline or the end. */
  scan(i: number, n: number): number {
    if (this.text.charCodeAt(i + 1) === SLASH) return -1; // '//' is a comment, not an empty regex
    const end = this.walk(i, n, false);
    if (end < 0) this.walk(i, n, true);
    return end;
  }

  /** The regex automaton from i + 1; with `mark`, it records every position and state it passes as failing. */
  private walk(i: number, n: number, mark: boolean): number {
    const text = this.text;
    if (mark && this.marks === undefined) this.marks = new Uint8Array(n);
    const marks = this.marks;
    let j = i + 1;
    let inClass = false;
    while (j < n) {
      if (marks !== undefined) {
        const state = inClass ? FAILS_IN_CLASS : FAILS_OUTSIDE_CLASS;
        if ((marks[j] & state) !== 0) return -1;
        if (mark) marks[j] |= state;
      }
      const c = text.charCodeAt(j);
      if (c === BACKSLASH) {
        if (j + 1 < n && text.charCodeAt(j + 1) === LF) return -1;
        j += 2;
        continue;
      }
      if (c === LF) return -1;
      if (inClass) {
        if (c === CLOSE_BRACKET) inClass = false;
      } else if (c === OPEN_BRACKET) {
        inClass = true;
      } else if (c === SLASH) {
        j++;
        while (j < n && isAsciiFlag(text.charCodeAt(j), ASCII_LETTER)) j++;
        return j;
      }
      j++;
    }
    return -1;
  }
}

/** Can a '/' after token `prev` (undefined at the start) begin a JS regex literal? */
function regexAllowedAfter(prev: string | undefined): boolean {
  if (prev === undefined) return true;
  if (REGEX_KEYWORDS.has(prev)) return true;
  if (prev === ')' || prev === ']' || prev === '}') return false;
  const c = prev.charCodeAt(0);
  if (c < 128) {
    if ((ASCII_FLAGS[c] & DIVISION_AFTER) !== 0) return false; // identifier, number, string or template
    // A number such as .5; `prev.length > 1` in UTF-16 units agrees with Python's code points here.
    return !(c === DOT && prev.length > 1 && isDigitCodePoint(prev.codePointAt(1) as number));
  }
  return !isAlnumCodePoint(prev.codePointAt(0) as number);
}

/** End (exclusive) of a '...' or "..." string at text[i]; an unescaped newline closes it before the newline. */
function scanQuoted(text: string, i: number, quote: number, n: number): number {
  let j = i + 1;
  while (j < n) {
    const c = text.charCodeAt(j);
    if (c === BACKSLASH) {
      j += 2;
      continue;
    }
    if (c === quote) return j + 1;
    if (c === LF) return j;
    j++;
  }
  return n;
}

/** End of a Python triple-quoted string at text[i]; `quote3` is the three quote characters. */
function scanTriple(text: string, i: number, quote3: string, n: number): number {
  let j = i + 3;
  while (j < n) {
    if (text.charCodeAt(j) === BACKSLASH) {
      j += 2;
      continue;
    }
    if (text.startsWith(quote3, j)) return j + 3;
    j++;
  }
  return n;
}

/** A Python string at text[j] (a quote): triple-quoted or single-line. */
function scanPythonString(text: string, j: number, quote: number, n: number): number {
  if (j + 2 < n && text.charCodeAt(j + 1) === quote && text.charCodeAt(j + 2) === quote) {
    return scanTriple(text, j, quote === SINGLE_QUOTE ? "'''" : '"""', n);
  }
  return scanQuoted(text, j, quote, n);
}

/**
 * End of a backtick template at text[i], skipping nested `${...}` expressions.
 * Templates nest inside expressions without limit, so the open expressions
 * are kept on an explicit stack: no input depth can overflow the call stack.
 */
function scanTemplate(text: string, i: number, n: number, regexes: RegexFailures): number {
  /** Brace depth of each open `${...}` whose nested template is being scanned. */
  const suspended: number[] = [];
  let inExpression = false;
  let depth = 0;
  let prev = 0; // previous significant character inside the expression
  let j = i + 1;
  while (j < n) {
    const c = text.charCodeAt(j);
    if (!inExpression) {
      if (c === BACKSLASH) {
        j += 2;
      } else if (c === BACKTICK) {
        j++;
        if (suspended.length === 0) return j;
        // Back in the enclosing expression, where the whole template counts as one backtick.
        depth = suspended.pop() as number;
        prev = BACKTICK;
        inExpression = true;
      } else if (c === DOLLAR && j + 1 < n && text.charCodeAt(j + 1) === OPEN_BRACE) {
        j += 2;
        depth = 1;
        prev = OPEN_BRACE;
        inExpression = true;
      } else {
        j++;
      }
      continue;
    }
    if (isSpace(c)) {
      j++;
      continue;
    }
    if (c === SINGLE_QUOTE || c === DOUBLE_QUOTE) {
      j = scanQuoted(text, j, c, n);
      prev = c;
      continue;
    }
    if (c === SLASH && j + 1 < n) {
      const next = text.charCodeAt(j + 1);
      if (next === SLASH) {
        j = findOrEnd(text, '\n', j, n);
        continue;
      }
      if (next === STAR) {
        const k = text.indexOf('*/', j + 2);
        j = k < 0 ? n : k + 2;
        continue;
      }
      if (isAsciiFlag(prev, REGEX_AFTER_IN_TEMPLATE)) {
        const k = regexes.scan(j, n);
        if (k >= 0) {
          j = k;
          prev = SLASH;
          continue;
        }
      }
    }
    if (c === BACKTICK) {
      suspended.push(depth);
      inExpression = false;
      j++;
      continue;
    }
    if (c === OPEN_BRACE) {
      depth++;
    } else if (c === CLOSE_BRACE) {
      depth--;
      if (depth === 0) {
        inExpression = false;
        j++;
        continue;
      }
    }
    // An astral character leaves its low surrogate here, which, like the code
    // point Python would keep, is in no character class the scanner checks.
    prev = c;
    j++;
  }
  return n;
}

/** End of the number at text[i]; the caller has checked that one starts there. */
function scanNumber(text: string, i: number, n: number): number {
  if (text.charCodeAt(i) === ZERO && i + 2 < n) {
    const radix = text.charCodeAt(i + 1) | 0x20; // lower-cases x, b, o
    if (radix === 0x78 || radix === 0x62 || radix === 0x6f) {
      let j = i + 2;
      while (j < n && isRadixDigit(text.charCodeAt(j), radix)) j++;
      if (j > i + 2) return skipAsciiLetters(text, j, n);
    }
  }
  let j: number;
  const width = decimalWidthAt(text, i, n);
  if (width > 0) {
    j = skipDecimalRun(text, i + width, n);
    if (j < n && text.charCodeAt(j) === DOT) {
      const fractionWidth = decimalWidthAt(text, j + 1, n);
      if (fractionWidth > 0) {
        j = skipDecimalRun(text, j + 1 + fractionWidth, n);
      } else if (j + 1 >= n || !isFractionBlocker(text.charCodeAt(j + 1))) {
        j++; // "12." but not "1.toFixed", "1._x" or "1..toString"
      }
    }
  } else {
    j = skipDecimalRun(text, i + 1 + decimalWidthAt(text, i + 1, n), n); // ".5"
  }
  if (j < n && (text.charCodeAt(j) | 0x20) === 0x65) {
    let k = j + 1;
    if (k < n && (text.charCodeAt(k) === PLUS || text.charCodeAt(k) === MINUS)) k++;
    const exponentWidth = decimalWidthAt(text, k, n);
    if (exponentWidth > 0) j = skipDecimalRun(text, k + exponentWidth, n);
  }
  return skipAsciiLetters(text, j, n);
}

function isRadixDigit(c: number, radix: number): boolean {
  if (c === UNDERSCORE) return true;
  if (radix === 0x78) return isAsciiFlag(c, HEX_DIGIT);
  if (radix === 0x62) return c === ZERO || c === ZERO + 1;
  return c >= ZERO && c <= ZERO + 7;
}

/** `[\d_]*` with Python's Unicode `\d`. */
function skipDecimalRun(text: string, j: number, n: number): number {
  for (;;) {
    if (j < n && text.charCodeAt(j) === UNDERSCORE) {
      j++;
      continue;
    }
    const width = decimalWidthAt(text, j, n);
    if (width === 0) return j;
    j += width;
  }
}

function skipAsciiLetters(text: string, j: number, n: number): number {
  while (j < n && isAsciiFlag(text.charCodeAt(j), ASCII_LETTER)) j++;
  return j;
}

/** The reference's `(?![A-Za-z_$.])` after a trailing '.'. */
function isFractionBlocker(c: number): boolean {
  return c === DOT || isAsciiFlag(c, IDENT_START);
}

/** Length of the longest operator at text[i], or 0. */
function operatorLength(text: string, i: number, c: number, n: number): number {
  const candidates = c < 128 ? OPERATORS_BY_FIRST[c] : undefined;
  if (candidates === undefined) return 0;
  for (const operator of candidates) {
    if (!text.startsWith(operator, i)) continue;
    // '?.' followed by a digit is '?' then a number (a ? .5 : b)
    if (c === QUESTION && operator === '?.' && i + 2 < n && isDigitCodePoint(text.codePointAt(i + 2) as number)) {
      continue;
    }
    return operator.length;
  }
  return 0;
}

const WORD_TOKEN = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Whether a token is an identifier or keyword by the protocol's rule (`[A-Za-z_$][A-Za-z0-9_$]*`). */
export function isWordToken(token: string): boolean {
  return WORD_TOKEN.test(token);
}

/**
 * Splits source text into the protocol's tokens. Whitespace and comments are
 * dropped; strings, templates and (in 'js') regex literals are single tokens
 * with whitespace runs shown as U+2581, so no token contains whitespace.
 */
export function tokenize(text: string, kind: LanguageKind): string[] {
  const isPython = kind === 'python';
  const isJs = kind === 'js';
  const tokens: string[] = [];
  const n = text.length;
  const regexes = new RegexFailures(text);
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === BACKSLASH && i + 1 < n) {
      const next = text.charCodeAt(i + 1);
      if (next === LF || next === CR) {
        i++; // line continuation: the newline after it is skipped as whitespace
        continue;
      }
    }
    if (isPython) {
      if (c === HASH) {
        i = findOrEnd(text, '\n', i, n);
        continue;
      }
    } else if (c === SLASH && i + 1 < n) {
      const next = text.charCodeAt(i + 1);
      if (next === SLASH) {
        i = findOrEnd(text, '\n', i, n);
        continue;
      }
      if (next === STAR) {
        const k = text.indexOf('*/', i + 2);
        i = k < 0 ? n : k + 2;
        continue;
      }
      if (isJs && regexAllowedAfter(tokens.length > 0 ? tokens[tokens.length - 1] : undefined)) {
        const k = regexes.scan(i, n);
        if (k >= 0) {
          tokens.push(literalToken(text, i, k));
          i = k;
          continue;
        }
      }
    }
    if (c === SINGLE_QUOTE || c === DOUBLE_QUOTE) {
      const end = isPython ? scanPythonString(text, i, c, n) : scanQuoted(text, i, c, n);
      tokens.push(literalToken(text, i, end));
      i = end;
      continue;
    }
    if (c === BACKTICK) {
      const end = scanTemplate(text, i, n, regexes);
      tokens.push(literalToken(text, i, end));
      i = end;
      continue;
    }
    if (isAsciiFlag(c, IDENT_START)) {
      let j = i + 1;
      while (j < n && isAsciiFlag(text.charCodeAt(j), IDENT_PART)) j++;
      if (isPython && j < n) {
        const quote = text.charCodeAt(j);
        if ((quote === SINGLE_QUOTE || quote === DOUBLE_QUOTE) && j - i <= 2) {
          if (PY_STRING_PREFIXES.has(text.slice(i, j).toLowerCase())) {
            const end = scanPythonString(text, j, quote, n);
            tokens.push(literalToken(text, i, end));
            i = end;
            continue;
          }
        }
      }
      tokens.push(text.slice(i, j));
      i = j;
      continue;
    }
    if (
      decimalWidthAt(text, i, n) > 0 ||
      (c === DOT && decimalWidthAt(text, i + 1, n) > 0)
    ) {
      const end = scanNumber(text, i, n);
      tokens.push(text.slice(i, end));
      i = end;
      continue;
    }
    const length = operatorLength(text, i, c, n);
    if (length > 0) {
      tokens.push(text.slice(i, i + length));
      i += length;
      continue;
    }
    // One character; an astral one is a surrogate pair, one code point in Python.
    const width =
      c >= 0xd800 && c <= 0xdbff && i + 1 < n && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
    tokens.push(width === 1 ? text[i] : text.slice(i, i + 2));
    i += width;
  }
  return tokens;
}

import * as lexer from '../../../../src/core/text/lexer';
import type { LanguageKind } from '../../../../src/core/text/lexer';

/**
 * Runs `run` with a lexer that throws on any text containing `marker`, as the
 * recursive template scanner once did on deep nesting: a stand-in for
 * whatever lexer bug comes next. The real lexer is back when `run` returns.
 */
export function withLexerThrowingOn<T>(marker: string, run: () => T): T {
  const exported = lexer as { tokenize: (text: string, kind: LanguageKind) => string[] };
  const real = exported.tokenize;
  exported.tokenize = (text, kind) => {
    if (text.includes(marker)) throw new RangeError('Maximum call stack size exceeded');
    return real(text, kind);
  };
  try {
    return run();
  } finally {
    exported.tokenize = real;
  }
}

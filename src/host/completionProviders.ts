import * as vscode from 'vscode';
import type { Completion, Continuation } from '../core/engine/completionEngine';
import { isWordToken, languageKindOf } from '../core/text/lexer';
import { isSuggestible } from '../core/text/secrets';
import { ghostTextOf, tokenToText } from './textMapping';
import type { Config } from './config';
import type { EngineHost } from './engineHost';
import type { Indexer } from './indexer';
import type { Logger } from './logger';

/** The languages the engine's lexer knows, as VS Code names them. */
export const INDEXED_LANGUAGES: readonly string[] = [
  'typescript', 'typescriptreact', 'javascript', 'javascriptreact', 'python', 'java',
];
const SUGGESTIONS = 12;
const GHOST_MAX_TOKENS = 16;
const GHOST_MIN_PROBABILITY = 0.08;
/** Hypotheses of ghost text's beam search. */
const GHOST_BEAM_WIDTH = 3;

/** Asks the worker for next tokens; an error (worker restarting, cancelled) is logged once and answers nothing. */
class CompletionSource {
  private lastError: string | undefined;

  constructor(private readonly engine: EngineHost, private readonly indexer: Indexer, private readonly logger: Logger) {}

  async complete(document: vscode.TextDocument, textBefore: string, k: number): Promise<Completion> {
    if (!this.engine.isRunning) return { typedPrefix: '', suggestions: [] };
    try {
      return await this.engine.request({
        type: 'completion/complete',
        path: this.indexer.pathOf(document.uri, document.languageId),
        textBefore,
        k,
      });
    } catch (error) {
      this.noteError(error);
      return { typedPrefix: '', suggestions: [] };
    }
  }

  /** The rest of the line, by beam search in the worker (one request); nothing when the worker cannot answer. */
  async continueLine(document: vscode.TextDocument, textBefore: string, textAfter: string): Promise<Continuation> {
    const nothing: Continuation = { typedPrefix: '', tokens: [], probability: 0 };
    if (!this.engine.isRunning) return nothing;
    try {
      return await this.engine.request({
        type: 'completion/continue',
        path: this.indexer.pathOf(document.uri, document.languageId),
        textBefore,
        textAfter,
        maxTokens: GHOST_MAX_TOKENS,
        beamWidth: GHOST_BEAM_WIDTH,
        minProbability: GHOST_MIN_PROBABILITY,
      });
    } catch (error) {
      this.noteError(error);
      return nothing;
    }
  }

  private noteError(error: unknown): void {
    const message = (error as Error).message;
    if (message !== this.lastError) this.logger.warn(`No completions for now: ${message}.`);
    this.lastError = message;
  }
}

/** The text before the cursor as the engine reads it: the document's text (saved or not) up to the position. */
function textBefore(document: vscode.TextDocument, position: vscode.Position): string {
  return document.getText(new vscode.Range(new vscode.Position(0, 0), position));
}

/** Ranked next tokens in the suggest list, after the other providers' items of equal match. */
export class MetaCompletionProvider implements vscode.CompletionItemProvider {
  constructor(private readonly source: CompletionSource, private readonly config: Config) {}

  async provideCompletionItems(
    document: vscode.TextDocument,
    position: vscode.Position,
    token: vscode.CancellationToken,
  ): Promise<vscode.CompletionList | undefined> {
    if (!this.config.forDocument(document).completionsEnabled) return undefined;
    const completion = await this.source.complete(document, textBefore(document, position), SUGGESTIONS);
    if (token.isCancellationRequested) return undefined;
    const range = new vscode.Range(position.translate(0, -completion.typedPrefix.length), position);
    const items = completion.suggestions
      .filter((suggestion) => isWordToken(suggestion.token) || /^["'`0-9]/.test(suggestion.token))
      .filter((suggestion) => isSuggestible(suggestion.token))
      .map((suggestion, index) => {
        const percent = `MetaComplete ${Math.round(suggestion.probability * 100)}%`;
        const text = tokenToText(suggestion.token);
        const kind = isWordToken(suggestion.token) ? vscode.CompletionItemKind.Text : vscode.CompletionItemKind.Value;
        const item = new vscode.CompletionItem({ label: text, description: percent }, kind);
        item.detail = percent;
        item.insertText = text;
        item.filterText = text;
        item.range = range;
        // '~' sorts after letters: among equally good matches ours come after the other providers', in our order.
        item.sortText = `~metacomplete${String(index).padStart(3, '0')}`;
        return item;
      });
    // Incomplete: the list depends on the typed prefix, so the editor asks again as it grows.
    return new vscode.CompletionList(items, true);
  }
}

/** Ghost text: the most likely continuation of the line, token by token from the worker. */
export class MetaInlineCompletionProvider implements vscode.InlineCompletionItemProvider {
  constructor(private readonly source: CompletionSource, private readonly config: Config) {}

  async provideInlineCompletionItems(
    document: vscode.TextDocument,
    position: vscode.Position,
    _context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[] | undefined> {
    const settings = this.config.forDocument(document);
    if (!settings.inlineCompletionsEnabled) return undefined;
    // Each keystroke cancels the previous request: only a pause in typing reaches the worker.
    await new Promise((resolve) => setTimeout(resolve, settings.debounceMs));
    if (token.isCancellationRequested) return undefined;
    const line = document.lineAt(position.line).text;
    const before = textBefore(document, position);
    const continuation = await this.source.continueLine(document, before, line.slice(position.character));
    if (token.isCancellationRequested) return undefined;
    const ghost = ghostTextOf(before, continuation, languageKindOf(this.extensionOf(document)));
    if (ghost === undefined || token.isCancellationRequested) return undefined;
    const range = new vscode.Range(position.translate(0, -ghost.typedPrefix.length), position);
    return [new vscode.InlineCompletionItem(ghost.text, range)];
  }

  private extensionOf(document: vscode.TextDocument): string {
    return document.languageId === 'python' ? 'x.py' : document.languageId === 'java' ? 'x.java' : 'x.ts';
  }
}

/** Registers both providers for the indexed languages and owns their registrations. */
export class CompletionProviders implements vscode.Disposable {
  private readonly registrations: vscode.Disposable[];

  constructor(engine: EngineHost, indexer: Indexer, config: Config, logger: Logger) {
    const source = new CompletionSource(engine, indexer, logger);
    const selector = INDEXED_LANGUAGES.map((language) => ({ language }));
    this.registrations = [
      vscode.languages.registerCompletionItemProvider(selector, new MetaCompletionProvider(source, config), '.'),
      vscode.languages.registerInlineCompletionItemProvider(selector, new MetaInlineCompletionProvider(source, config)),
    ];
  }

  dispose(): void {
    for (const registration of this.registrations) registration.dispose();
  }
}

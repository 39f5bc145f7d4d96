// The part of the `vscode` API that src/host/ uses, over plain Node, so the
// host bench can run the real providers, indexer and engine host outside VS
// Code. The bench maps `require('vscode')` here (hostBench.ts). Workspace
// files come from the disk (`workspace.fs`); settings from `settings` below.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** `metacomplete.*` and other settings the stub's configuration answers, by full key. */
export const settings = new Map<string, unknown>();

export class Disposable {
  constructor(private readonly onDispose: () => void = () => undefined) {}
  dispose(): void {
    this.onDispose();
  }
}

type Listener<T> = (value: T) => unknown;

export class EventEmitter<T> {
  private listeners: Listener<T>[] = [];
  readonly event = (listener: Listener<T>): Disposable => {
    this.listeners.push(listener);
    return new Disposable(() => (this.listeners = this.listeners.filter((other) => other !== listener)));
  };
  fire(value: T): void {
    for (const listener of [...this.listeners]) listener(value);
  }
  dispose(): void {
    this.listeners = [];
  }
}

const noEvent = (): Disposable => new Disposable();

export class Uri {
  private constructor(readonly scheme: string, readonly path: string) {}
  static file(fsPath: string): Uri {
    return new Uri('file', path.resolve(fsPath).replace(/\\/g, '/'));
  }
  static joinPath(base: Uri, ...segments: string[]): Uri {
    return new Uri(base.scheme, path.posix.join(base.path, ...segments));
  }
  get fsPath(): string {
    return this.path;
  }
  toString(): string {
    return `${this.scheme}://${this.path}`;
  }
}

export class Position {
  constructor(readonly line: number, readonly character: number) {}
  translate(lineDelta = 0, characterDelta = 0): Position {
    return new Position(this.line + lineDelta, this.character + characterDelta);
  }
}

export class Range {
  constructor(readonly start: Position, readonly end: Position) {}
}

export enum FileType {
  Unknown = 0,
  File = 1,
  Directory = 2,
  SymbolicLink = 64,
}

export enum CompletionItemKind {
  Text = 0,
  Value = 11,
}
export enum StatusBarAlignment {
  Left = 1,
  Right = 2,
}
export enum ProgressLocation {
  Notification = 15,
}

export class CompletionItem {
  detail?: string;
  insertText?: string;
  filterText?: string;
  sortText?: string;
  range?: Range;
  constructor(readonly label: string | { label: string; description?: string }, readonly kind?: CompletionItemKind) {}
}

export class CompletionList {
  constructor(readonly items: CompletionItem[], readonly isIncomplete = false) {}
}

export class InlineCompletionItem {
  constructor(readonly insertText: string, readonly range?: Range) {}
}

export class ThemeColor {
  constructor(readonly id: string) {}
}

/** Providers registered through `languages`, for the bench to call. */
export const registeredProviders: { completion: unknown[]; inline: unknown[] } = { completion: [], inline: [] };

export const languages = {
  registerCompletionItemProvider(_selector: unknown, provider: unknown): Disposable {
    registeredProviders.completion.push(provider);
    return new Disposable();
  },
  registerInlineCompletionItemProvider(_selector: unknown, provider: unknown): Disposable {
    registeredProviders.inline.push(provider);
    return new Disposable();
  },
};

/** Log lines of the stub output channel (the MetaComplete log), kept for the bench to show on failure. */
export const logLines: string[] = [];

export interface StubStatusBarItem {
  text: string;
  tooltip: string;
  command: string;
}

/** Status bar items created so far, for a test or the bench to read and click. */
export const statusBarItems: StubStatusBarItem[] = [];

export const window = {
  createOutputChannel(_name: string) {
    const log = (level: string) => (message: string) => void logLines.push(`[${level}] ${message}`);
    return { info: log('info'), warn: log('warn'), error: log('error'), trace: log('trace'), debug: log('debug'), show: () => undefined, dispose: () => undefined };
  },
  createStatusBarItem() {
    const item = { text: '', tooltip: '', name: '', command: '', backgroundColor: undefined, show: () => undefined, hide: () => undefined, dispose: () => undefined };
    statusBarItems.push(item);
    return item;
  },
  showWarningMessage: async (message: string) => void logLines.push(`[notification] ${message}`),
  showErrorMessage: async (message: string) => void logLines.push(`[notification] ${message}`),
  showInformationMessage: async (message: string) => void logLines.push(`[notification] ${message}`),
};

export interface WorkspaceFolder {
  uri: Uri;
  name: string;
  index: number;
}

/** The open folders; the bench sets them. */
export const workspaceFolders: WorkspaceFolder[] = [];

export const workspace = {
  get workspaceFolders(): WorkspaceFolder[] {
    return workspaceFolders;
  },
  getWorkspaceFolder(uri: Uri): WorkspaceFolder | undefined {
    return workspaceFolders.find((folder) => uri.path === folder.uri.path || uri.path.startsWith(`${folder.uri.path}/`));
  },
  getConfiguration(section: string) {
    return { get: (key: string) => settings.get(`${section}.${key}`) };
  },
  fs: {
    async stat(uri: Uri) {
      const stat = await fs.promises.stat(uri.fsPath);
      return { size: stat.size, mtime: stat.mtimeMs, ctime: stat.ctimeMs, type: stat.isDirectory() ? 2 : 1 };
    },
    async readDirectory(uri: Uri): Promise<[string, FileType][]> {
      const entries = await fs.promises.readdir(uri.fsPath, { withFileTypes: true });
      return entries.map((entry) => {
        const link = entry.isSymbolicLink() ? FileType.SymbolicLink : 0;
        const target = entry.isSymbolicLink() ? fs.statSync(path.join(uri.fsPath, entry.name)) : entry;
        return [entry.name, link | (target.isDirectory() ? FileType.Directory : target.isFile() ? FileType.File : FileType.Unknown)];
      });
    },
    async readFile(uri: Uri): Promise<Uint8Array> {
      return new Uint8Array(await fs.promises.readFile(uri.fsPath));
    },
  },
  createFileSystemWatcher() {
    return { onDidCreate: noEvent, onDidChange: noEvent, onDidDelete: noEvent, dispose: () => undefined };
  },
  onDidSaveTextDocument: noEvent,
  onDidChangeTextDocument: noEvent,
  onDidChangeWorkspaceFolders: noEvent,
  onDidChangeConfiguration: noEvent,
};

/** Registered command handlers, by id: `commands.executeCommand` runs them as VS Code would. */
export const registeredCommands = new Map<string, (...args: unknown[]) => unknown>();

export const commands = {
  registerCommand(id: string, handler: (...args: unknown[]) => unknown): Disposable {
    registeredCommands.set(id, handler);
    return new Disposable(() => registeredCommands.delete(id));
  },
  async executeCommand(id: string, ...args: unknown[]): Promise<unknown> {
    const handler = registeredCommands.get(id);
    if (handler === undefined) throw new Error(`command '${id}' not found`);
    return handler(...args);
  },
  async getCommands(): Promise<string[]> {
    return [...registeredCommands.keys()];
  },
};

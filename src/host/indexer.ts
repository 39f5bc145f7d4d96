import * as vscode from 'vscode';
import type { FileUpdate } from '../core/engine/completionEngine';
import { ALWAYS_EXCLUDED_GLOBS, FileFilter, contentKey, enabledGlobs, enginePath, gitignoreToGlobs } from './fileFilter';
import type { Config } from './config';
import type { EngineHost } from './engineHost';
import type { Logger } from './logger';
import type { StatusBar } from './statusBar';

/** Files sent per files/update request, and bytes at most: small batches keep every message short. */
const BATCH_FILES = 32;
const BATCH_BYTES = 2 * 1024 * 1024;
/** A save fires the watcher and onDidSaveTextDocument; one update per file within this delay. */
const UPDATE_DELAY_MS = 150;

const UNTITLED_EXTENSIONS: Record<string, string> = {
  typescript: '.ts', typescriptreact: '.tsx', javascript: '.js', javascriptreact: '.jsx', python: '.py', java: '.java',
};

interface Candidate {
  uri: vscode.Uri;
  path: string;
  /** metacomplete.maxFileSizeKB of its folder, in bytes. */
  maxBytes: number;
}

/**
 * Learns the workspace in the worker: a full index on demand (findFiles, then
 * files/update in batches) and, after it, one file at a time as files are
 * saved, created, changed or deleted.
 */
export class Indexer implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private readonly filters = new Map<string, FileFilter>();
  private readonly indexed = new Set<string>();
  /** The content each incrementally learned file had, so the save event and the watcher learn it once. */
  private readonly learnedContent = new Map<string, string>();
  private readonly pendingUpdates = new Map<string, NodeJS.Timeout>();
  private run = 0;
  private running: Promise<void> | undefined;
  private indexing = false;
  private indexScope: string;

  constructor(
    private readonly engine: EngineHost,
    private readonly config: Config,
    private readonly logger: Logger,
    private readonly status: StatusBar,
  ) {
    const settings = config.current;
    this.indexScope = JSON.stringify([settings.include, settings.exclude, settings.maxFileSizeKB]);
    const watcher = vscode.workspace.createFileSystemWatcher('**/*');
    this.disposables.push(
      watcher,
      watcher.onDidCreate((uri) => this.scheduleUpdate(uri)),
      watcher.onDidChange((uri) => this.scheduleUpdate(uri)),
      watcher.onDidDelete((uri) => void this.remove(uri)),
      vscode.workspace.onDidSaveTextDocument((document) => this.scheduleUpdate(document.uri)),
      vscode.workspace.onDidChangeWorkspaceFolders(() =>
        this.indexWorkspace().catch((error: Error) => this.logger.error(`Indexing failed: ${error.message}.`)),
      ),
      config.onDidChange((settings) => {
        this.filters.clear();
        // Which files are learned depends on these three; the others only change the providers.
        const scope = JSON.stringify([settings.include, settings.exclude, settings.maxFileSizeKB]);
        if (scope !== this.indexScope) {
          this.indexScope = scope;
          this.logger.info('The include, exclude or size settings changed; re-indexing.');
          this.indexWorkspace().catch((error: Error) => this.logger.error(`Indexing failed: ${error.message}.`));
        }
      }),
    );
  }

  /** The path the engine knows a document by; documents outside the workspace get their absolute path. */
  pathOf(uri: vscode.Uri, languageId?: string): string {
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    if (folder !== undefined) {
      const relative = uri.path.slice(folder.uri.path.replace(/\/$/, '').length + 1);
      return enginePath(folder.name, relative, vscode.workspace.workspaceFolders?.length ?? 1);
    }
    if (uri.scheme === 'untitled') return `untitled/${uri.path}${UNTITLED_EXTENSIONS[languageId ?? ''] ?? ''}`;
    return uri.path;
  }

  /**
   * Re-learns every included file of every folder, reporting n/N; a second
   * call cancels the first. Files learned before but gone now are forgotten.
   */
  indexWorkspace(progress?: vscode.Progress<{ message?: string; increment?: number }>, token?: vscode.CancellationToken): Promise<void> {
    const run = ++this.run;
    const previous = this.running ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(async () => {
        this.indexing = true;
        try {
          await this.index(run, progress, token);
        } finally {
          this.indexing = false;
        }
      });
    this.running = next;
    return next;
  }

  /** Forgets what was learned, after the worker was replaced by an empty one. */
  clearLearned(): void {
    this.indexed.clear();
    this.learnedContent.clear();
  }

  dispose(): void {
    this.run++;
    for (const timer of this.pendingUpdates.values()) clearTimeout(timer);
    for (const disposable of this.disposables) disposable.dispose();
  }

  private async index(
    run: number,
    progress: vscode.Progress<{ message?: string; increment?: number }> | undefined,
    token: vscode.CancellationToken | undefined,
  ): Promise<void> {
    const stale = () => run !== this.run || token?.isCancellationRequested === true || !this.engine.isRunning;
    const folders = vscode.workspace.workspaceFolders ?? [];
    if (folders.length === 0) {
      this.status.setReady(0, ' (no folder is open)');
      return;
    }
    this.filters.clear();
    const started = Date.now();
    this.logger.info(`Indexing ${folders.map((folder) => folder.name).join(', ')}.`);
    const candidates: Candidate[] = [];
    let skipped = 0;
    for (const folder of folders) {
      const found = await this.findCandidates(folder, token);
      candidates.push(...found.candidates);
      skipped += found.excluded;
      if (stale()) return this.stopped(run);
    }
    const total = candidates.length;
    this.status.setIndexing(0, total);
    const seen = new Set<string>();
    let done = 0;
    let reported = 0;
    let learned = 0;
    let batch: { path: string; bytes: Uint8Array }[] = [];
    let batchBytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const updates = await this.engine.request({ type: 'files/update', files: batch });
      batch = [];
      batchBytes = 0;
      for (const update of updates) {
        if (this.record(update)) learned++;
        else skipped++;
      }
    };
    for (const candidate of candidates) {
      if (stale()) return this.stopped(run);
      seen.add(candidate.path);
      const bytes = await this.readIfSmall(candidate);
      if (bytes === undefined) skipped++;
      else {
        batch.push({ path: candidate.path, bytes });
        batchBytes += bytes.length;
        if (batch.length >= BATCH_FILES || batchBytes >= BATCH_BYTES) await flush();
      }
      done++;
      if (done % BATCH_FILES === 0 || done === total) {
        this.status.setIndexing(done, total);
        progress?.report({ message: `${done}/${total} files`, increment: ((done - reported) / total) * 100 });
        reported = done;
      }
    }
    await flush();
    if (stale()) return this.stopped(run);
    const gone = [...this.indexed].filter((path) => !seen.has(path));
    if (gone.length > 0) {
      await this.engine.request({ type: 'files/remove', paths: gone });
      for (const path of gone) this.indexed.delete(path);
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    this.logger.info(`Indexed the workspace in ${seconds} s: ${learned} files learned, ${skipped} skipped.`);
    this.status.setReady(this.indexed.size);
  }

  private stopped(run: number): void {
    // A newer run reports for itself; a cancelled one leaves what it learned.
    if (run === this.run) {
      this.logger.info('Indexing stopped before the end; what was learned so far is kept.');
      this.status.setReady(this.indexed.size, ' (indexing was stopped)');
    }
  }

  /** Included files of one folder: findFiles excludes the cheap globs, the filter the rest, each logged with why. */
  private async findCandidates(
    folder: vscode.WorkspaceFolder,
    token?: vscode.CancellationToken,
  ): Promise<{ candidates: Candidate[]; excluded: number }> {
    const filter = await this.filterFor(folder);
    const settings = this.config.forFolder(folder);
    // findFiles takes one exclude glob; brace groups cannot nest, so only brace-free globs go there.
    const excludeGlobs = [...ALWAYS_EXCLUDED_GLOBS, ...settings.exclude, ...this.workbenchExcludes(folder)].filter(
      (glob) => !/[{}]/.test(glob),
    );
    const exclude = `{${excludeGlobs.join(',')}}`;
    const uris = new Map<string, vscode.Uri>();
    for (const include of settings.include) {
      for (const uri of await vscode.workspace.findFiles(new vscode.RelativePattern(folder, include), exclude, undefined, token)) {
        uris.set(uri.toString(), uri);
      }
    }
    const candidates: Candidate[] = [];
    let excluded = 0;
    const folderCount = vscode.workspace.workspaceFolders?.length ?? 1;
    for (const uri of [...uris.values()].sort((a, b) => a.path.localeCompare(b.path))) {
      const relative = uri.path.slice(folder.uri.path.replace(/\/$/, '').length + 1);
      const path = enginePath(folder.name, relative, folderCount);
      const reason = filter.exclusionReason(relative);
      if (reason !== undefined) {
        this.logger.info(`Skipped ${path}: ${reason}.`);
        excluded++;
        continue;
      }
      candidates.push({ uri, path, maxBytes: settings.maxFileSizeKB * 1024 });
    }
    return { candidates, excluded };
  }

  private workbenchExcludes(folder: vscode.WorkspaceFolder): string[] {
    return [
      ...enabledGlobs(vscode.workspace.getConfiguration('files', folder.uri).get('exclude')),
      ...enabledGlobs(vscode.workspace.getConfiguration('search', folder.uri).get('exclude')),
    ];
  }

  private async filterFor(folder: vscode.WorkspaceFolder): Promise<FileFilter> {
    const cached = this.filters.get(folder.uri.toString());
    if (cached !== undefined) return cached;
    let gitignore: string[] = [];
    try {
      const bytes = await vscode.workspace.fs.readFile(vscode.Uri.joinPath(folder.uri, '.gitignore'));
      gitignore = gitignoreToGlobs(new TextDecoder().decode(bytes));
    } catch {
      // No .gitignore at the folder's root.
    }
    const settings = this.config.forFolder(folder);
    const filter = new FileFilter({
      include: settings.include,
      exclude: settings.exclude,
      workbenchExclude: this.workbenchExcludes(folder),
      gitignore,
    });
    this.filters.set(folder.uri.toString(), filter);
    return filter;
  }

  private async readIfSmall(candidate: Candidate): Promise<Uint8Array | undefined> {
    const maxBytes = candidate.maxBytes;
    try {
      const stat = await vscode.workspace.fs.stat(candidate.uri);
      if (stat.size > maxBytes) {
        this.logger.info(`Skipped ${candidate.path}: file is ${stat.size} bytes, over metacomplete.maxFileSizeKB (${maxBytes / 1024} KB).`);
        return undefined;
      }
      return await vscode.workspace.fs.readFile(candidate.uri);
    } catch (error) {
      this.logger.warn(`Skipped ${candidate.path}: it could not be read (${(error as Error).message}).`);
      return undefined;
    }
  }

  /** Logs a worker answer and tracks what is learned; true when the file was learned. */
  private record(update: FileUpdate): boolean {
    this.learnedContent.delete(update.path);
    if (update.status === 'learned') {
      this.indexed.add(update.path);
      return true;
    }
    this.indexed.delete(update.path);
    this.logger.info(`Skipped ${update.path}: ${update.reason}.`);
    return false;
  }

  private scheduleUpdate(uri: vscode.Uri): void {
    const key = uri.toString();
    clearTimeout(this.pendingUpdates.get(key));
    this.pendingUpdates.set(
      key,
      setTimeout(() => {
        this.pendingUpdates.delete(key);
        void this.update(uri);
      }, UPDATE_DELAY_MS),
    );
  }

  /** Re-learns one file, or forgets it when it is now excluded or too large. */
  private async update(uri: vscode.Uri): Promise<void> {
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    if (folder === undefined || uri.scheme !== 'file' || !this.engine.isRunning) return;
    const relative = uri.path.slice(folder.uri.path.replace(/\/$/, '').length + 1);
    const path = this.pathOf(uri);
    const filter = await this.filterFor(folder);
    if (!filter.isIncluded(relative)) return;
    try {
      if (filter.exclusionReason(relative) !== undefined) {
        if (this.indexed.delete(path)) await this.engine.request({ type: 'files/remove', paths: [path] });
        return;
      }
      const bytes = await this.readIfSmall({ uri, path, maxBytes: this.config.forFolder(folder).maxFileSizeKB * 1024 });
      if (bytes === undefined) {
        if (this.indexed.delete(path)) await this.engine.request({ type: 'files/remove', paths: [path] });
      } else {
        const key = contentKey(bytes);
        if (this.indexed.has(path) && this.learnedContent.get(path) === key) return;
        const [update] = await this.engine.request({ type: 'files/update', files: [{ path, bytes }] });
        this.record(update);
        if (update.status === 'learned') {
          this.learnedContent.set(path, key);
          this.logger.info(`Re-learned ${path} (${update.tokens} tokens).`);
        }
      }
      if (!this.indexing) this.status.setReady(this.indexed.size);
    } catch (error) {
      this.logger.warn(`Could not update ${path}: ${(error as Error).message}.`);
    }
  }

  /** Forgets a deleted file, or every learned file under a deleted folder. */
  private async remove(uri: vscode.Uri): Promise<void> {
    if (vscode.workspace.getWorkspaceFolder(uri) === undefined) return;
    const path = this.pathOf(uri);
    const paths = [...this.indexed].filter((known) => known === path || known.startsWith(`${path}/`));
    if (paths.length === 0) return;
    for (const known of paths) this.indexed.delete(known);
    try {
      await this.engine.request({ type: 'files/remove', paths });
      this.logger.info(`Forgot ${paths.length === 1 ? paths[0] : `${paths.length} files under ${path}`}.`);
      if (!this.indexing) this.status.setReady(this.indexed.size);
    } catch (error) {
      this.logger.warn(`Could not forget ${path}: ${(error as Error).message}.`);
    }
  }
}

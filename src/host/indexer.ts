import * as vscode from 'vscode';
import type { FileUpdate } from '../core/engine/completionEngine';
import {
  FileFilter,
  WorkspaceBoundary,
  contentKey,
  enabledGlobs,
  enginePath,
  gitignoreToGlobs,
} from './fileFilter';
import type { Config } from './config';
import type { EngineHost } from './engineHost';
import type { Logger } from './logger';
import type { StatusBar } from './statusBar';

/**
 * Files sent per files/update request, and bytes at most. Requests that are
 * not completions (stats, saves, a file's re-learning after a save) wait in
 * the worker behind the batches sent before them, so batches are small
 * (host bench, 10,000 files, when completions still queued too: suggest p95
 * while indexing 167 ms with 32 files or 2 MB, 55 ms with 8 or 128 KB,
 * indexing no slower). Completions now go between two files of a batch.
 */
const BATCH_FILES = 8;
const BATCH_BYTES = 128 * 1024;
/** Files read, or folders listed, at once: each is a round trip to the file system, so overlapping them hides the latency. */
const READ_CONCURRENCY = 8;
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
  /** Size and mtime when it was last stat'ed, saved with the index (see `stampOf`). */
  stamp?: string;
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
  /**
   * The update of each file in flight: the next one for the same file waits
   * for it. The watcher may report a save after the save event's update has
   * started; run side by side, both would pass the `learnedContent` check
   * before either records the content, and the file would be learned twice.
   */
  private readonly updating = new Map<string, Promise<void>>();
  /** Stamps of the files the worker restored from the saved index; the next full index skips those still matching. */
  private readonly restoredStamps = new Map<string, string>();
  private run = 0;
  /** Every run numbered up to this one was cancelled (Cancel Indexing); later runs are not. */
  private cancelledThrough = 0;
  private running: Promise<void> | undefined;
  private indexing = false;
  private indexScope: string;
  private boundary: { folders: string; value: WorkspaceBoundary } | undefined;

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

  /**
   * Stops the full index under way, and those queued behind it, after the
   * batch the worker is learning: what was learned so far stays in use and
   * the next save keeps it. False when no index was running.
   */
  cancel(): boolean {
    this.cancelledThrough = this.run;
    if (!this.indexing) return false;
    this.logger.info('Cancel Indexing: stopping after the batch under way.');
    return true;
  }

  /** Forgets what was learned, after the worker was replaced by an empty one. */
  clearLearned(): void {
    this.indexed.clear();
    this.learnedContent.clear();
    this.restoredStamps.clear();
  }

  /** Takes the files the worker restored from the saved index as learned; the next index re-reads only changed ones. */
  adoptRestored(files: readonly { path: string; stamp?: string }[]): void {
    for (const file of files) {
      this.indexed.add(file.path);
      if (file.stamp !== undefined) this.restoredStamps.set(file.path, file.stamp);
    }
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
    const stale = () =>
      run !== this.run || run <= this.cancelledThrough || token?.isCancellationRequested === true || !this.engine.isRunning;
    const folders = vscode.workspace.workspaceFolders ?? [];
    if (folders.length === 0) {
      this.status.setReady(0, ' (no folder is open)');
      return;
    }
    this.filters.clear();
    const started = performance.now();
    this.logger.info(`Indexing ${folders.map((folder) => folder.name).join(', ')}.`);
    const found = await Promise.all(folders.map((folder) => this.findCandidates(folder, stale)));
    if (stale()) return this.stopped(run);
    const unchanged = await this.unchangedSinceRestore(found.flatMap((folder) => folder.candidates), stale);
    if (stale()) return this.stopped(run);
    const candidates = found.flatMap((folder) => folder.candidates).filter((candidate) => !unchanged.has(candidate.path));
    let skipped = found.reduce((sum, folder) => sum + folder.excluded, 0);
    const listed = performance.now();
    const total = candidates.length;
    this.status.setIndexing(0, total);
    const seen = new Set<string>(unchanged);
    let done = 0;
    let reported = 0;
    let learned = 0;
    let batch: { path: string; bytes: Uint8Array; stamp?: string }[] = [];
    let batchBytes = 0;
    // One batch is learned in the worker while the next is read; at most two are outstanding.
    let learning: Promise<void> | undefined;
    const flush = async () => {
      if (batch.length === 0) return;
      const files = batch;
      batch = [];
      batchBytes = 0;
      const previous = learning;
      learning = this.engine.request({ type: 'files/update', files }).then((updates) => {
        for (const update of updates) {
          if (this.record(update)) learned++;
          else skipped++;
        }
      });
      // A run that stops early never awaits its last batch; its failure is the worker's, reported elsewhere.
      learning.catch(() => undefined);
      await previous;
    };
    for await (const [candidate, bytes] of readAhead(candidates, READ_CONCURRENCY, (candidate) => this.readIndexable(candidate))) {
      if (stale()) {
        // The batch the worker is learning counts as learned, so the status and the next save agree with the worker.
        await Promise.resolve(learning).catch(() => undefined);
        return this.stopped(run);
      }
      seen.add(candidate.path);
      if (bytes === undefined) skipped++;
      else {
        batch.push({ path: candidate.path, bytes, stamp: candidate.stamp });
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
    await learning;
    if (stale()) return this.stopped(run);
    const gone = [...this.indexed].filter((path) => !seen.has(path));
    if (gone.length > 0) {
      await this.engine.request({ type: 'files/remove', paths: gone });
      for (const path of gone) this.indexed.delete(path);
    }
    const seconds = (milliseconds: number) => `${(milliseconds / 1000).toFixed(2)} s`;
    const finished = performance.now();
    this.logger.info(
      `Indexed the workspace in ${seconds(finished - started)} (listing files ${seconds(listed - started)}, ` +
        `reading and learning ${seconds(finished - listed)}): ${learned} files learned, ${skipped} skipped.`,
    );
    this.status.setReady(this.indexed.size);
  }

  /**
   * Paths among `candidates` that the worker restored and whose size and
   * mtime still match: they need no reading. Used once, by the first index
   * after a restore; a file that cannot be stat'ed counts as changed.
   */
  private async unchangedSinceRestore(candidates: readonly Candidate[], stopped: () => boolean): Promise<Set<string>> {
    const unchanged = new Set<string>();
    if (this.restoredStamps.size === 0) return unchanged;
    const restored = candidates.filter((candidate) => this.restoredStamps.has(candidate.path));
    for (let start = 0; start < restored.length; start += READ_CONCURRENCY) {
      // The stamps are kept: the next run still skips the unchanged files.
      if (stopped()) return unchanged;
      await Promise.all(
        restored.slice(start, start + READ_CONCURRENCY).map(async (candidate) => {
          try {
            const stamp = stampOf(await vscode.workspace.fs.stat(candidate.uri));
            if (stamp === this.restoredStamps.get(candidate.path)) unchanged.add(candidate.path);
          } catch {
            // Read (and judged) again with the changed files.
          }
        }),
      );
    }
    this.restoredStamps.clear();
    this.logger.info(
      `${unchanged.size} of ${candidates.length} files are unchanged since the saved index; reading ${candidates.length - unchanged.size}.`,
    );
    return unchanged;
  }

  private stopped(run: number): void {
    // A newer run reports for itself; a cancelled one leaves what it learned.
    if (run === this.run) {
      this.logger.info(`Indexing stopped before the end; what was learned so far (${this.indexed.size} files) is kept.`);
      this.status.setReady(this.indexed.size, ' (indexing was stopped)');
    }
  }

  /**
   * Included files of one folder, each file or folder left out logged with why.
   * The folder is walked with `workspace.fs`, which the extension host serves
   * itself, rather than `findFiles`, which goes through the workbench: in a
   * remote or browser window that took 0.5 to 1.7 s for three files while the
   * window loaded. Excluded folders (node_modules, .gitignore'd ones) are
   * never entered; symbolic links to folders are not followed.
   */
  private async findCandidates(
    folder: vscode.WorkspaceFolder,
    stopped: () => boolean,
  ): Promise<{ candidates: Candidate[]; excluded: number }> {
    const settings = this.config.forFolder(folder);
    const filter = await this.filterFor(folder);
    const folderCount = vscode.workspace.workspaceFolders?.length ?? 1;
    const candidates: Candidate[] = [];
    let excluded = 0;
    const skip = (relative: string, reason: string) => {
      this.logger.info(`Skipped ${enginePath(folder.name, relative, folderCount)}: ${reason}.`);
      excluded++;
    };
    // Breadth first, a few folders listed at once.
    let level = [''];
    while (level.length > 0 && !stopped()) {
      const listings: { relative: string; entries: [string, vscode.FileType][] }[] = [];
      for (let i = 0; i < level.length; i += READ_CONCURRENCY) {
        listings.push(...(await Promise.all(level.slice(i, i + READ_CONCURRENCY).map((relative) => this.listFolder(folder, relative)))));
      }
      const next: string[] = [];
      for (const { relative: parent, entries } of listings) {
        for (const [name, type] of entries.sort(([a], [b]) => a.localeCompare(b))) {
          const relative = parent === '' ? name : `${parent}/${name}`;
          if ((type & vscode.FileType.Directory) !== 0) {
            // The trailing slash lets folder globs such as `**/.git/**` match the folder itself.
            const reason = filter.exclusionReason(`${relative}/`);
            // A linked folder is never entered: it may leave the workspace or loop back into it.
            if ((type & vscode.FileType.SymbolicLink) !== 0) skip(`${relative}/`, reason ?? 'symbolic link to a folder, not followed');
            else if (reason === undefined) next.push(relative);
            else skip(`${relative}/`, reason);
          } else if ((type & vscode.FileType.File) !== 0 && filter.isIncluded(relative)) {
            const reason = filter.exclusionReason(relative);
            if (reason !== undefined) skip(relative, reason);
            else {
              const uri = vscode.Uri.joinPath(folder.uri, relative);
              candidates.push({ uri, path: enginePath(folder.name, relative, folderCount), maxBytes: settings.maxFileSizeKB * 1024 });
            }
          }
        }
      }
      level = next;
    }
    return { candidates: candidates.sort((a, b) => a.path.localeCompare(b.path)), excluded };
  }

  /** The entries of one folder of the workspace; an unreadable folder is logged and taken as empty. */
  private async listFolder(folder: vscode.WorkspaceFolder, relative: string): Promise<{ relative: string; entries: [string, vscode.FileType][] }> {
    try {
      const uri = relative === '' ? folder.uri : vscode.Uri.joinPath(folder.uri, relative);
      return { relative, entries: await vscode.workspace.fs.readDirectory(uri) };
    } catch (error) {
      this.logger.warn(`Skipped ${relative === '' ? folder.name : relative}/: it could not be listed (${(error as Error).message}).`);
      return { relative, entries: [] };
    }
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

  /**
   * The file's bytes, or undefined (logged with the reason) when it is too
   * large, unreadable, or a link out of the workspace. Secrets in the bytes
   * are redacted by the engine when it learns them.
   */
  private async readIndexable(candidate: Candidate): Promise<Uint8Array | undefined> {
    if (candidate.uri.scheme === 'file') {
      const escape = await this.workspaceBoundary().escapeReason(candidate.uri.fsPath);
      if (escape !== undefined) {
        this.logger.info(`Skipped ${candidate.path}: ${escape}.`);
        return undefined;
      }
    }
    return this.readIfSmall(candidate);
  }

  /** The boundary of the current workspace folders, made again when they change. */
  private workspaceBoundary(): WorkspaceBoundary {
    const roots = (vscode.workspace.workspaceFolders ?? []).filter((folder) => folder.uri.scheme === 'file').map((folder) => folder.uri.fsPath);
    const folders = JSON.stringify(roots);
    if (this.boundary?.folders !== folders) this.boundary = { folders, value: new WorkspaceBoundary(roots) };
    return this.boundary.value;
  }

  private async readIfSmall(candidate: Candidate): Promise<Uint8Array | undefined> {
    const maxBytes = candidate.maxBytes;
    try {
      const stat = await vscode.workspace.fs.stat(candidate.uri);
      // Taken before the read: a file changed in between then looks changed next session, never the reverse.
      candidate.stamp = stampOf(stat);
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
    // By file path: the save event's and the watcher's URIs of one file may be spelled differently.
    const key = uri.fsPath;
    clearTimeout(this.pendingUpdates.get(key));
    this.pendingUpdates.set(
      key,
      setTimeout(() => {
        this.pendingUpdates.delete(key);
        const run = (): Promise<void> => this.update(uri);
        const next = (this.updating.get(key) ?? Promise.resolve()).then(run, run);
        this.updating.set(key, next);
        const settle = (): void => {
          if (this.updating.get(key) === next) this.updating.delete(key);
        };
        next.then(settle, (error: Error) => {
          settle();
          this.logger.warn(`Could not update ${uri.fsPath}: ${error.message}.`);
        });
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
      const candidate: Candidate = { uri, path, maxBytes: this.config.forFolder(folder).maxFileSizeKB * 1024 };
      const bytes = await this.readIndexable(candidate);
      if (bytes === undefined) {
        if (this.indexed.delete(path)) await this.engine.request({ type: 'files/remove', paths: [path] });
      } else {
        const key = contentKey(bytes);
        if (this.indexed.has(path) && this.learnedContent.get(path) === key) return;
        const [update] = await this.engine.request({ type: 'files/update', files: [{ path, bytes, stamp: candidate.stamp }] });
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

/** What identifies a file's content across sessions without reading it. */
function stampOf(stat: vscode.FileStat): string {
  return `${stat.size}:${stat.mtime}`;
}

/**
 * Yields `[item, await read(item)]` in the order of `items`, with up to
 * `limit` reads running at once. `read` must not reject.
 */
async function* readAhead<T, R>(items: readonly T[], limit: number, read: (item: T) => Promise<R>): AsyncGenerator<[T, R]> {
  const inFlight: Promise<R>[] = [];
  let next = 0;
  while (next < items.length && inFlight.length < limit) inFlight.push(read(items[next++]));
  for (const item of items) {
    const result = await (inFlight.shift() as Promise<R>);
    if (next < items.length) inFlight.push(read(items[next++]));
    yield [item, result];
  }
}

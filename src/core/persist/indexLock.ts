import { open, readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { isProcessAlive } from './stateFile';

/**
 * Who saves a workspace's index. VS Code runs one extension host process per
 * window, and the engine worker is a thread of it, so the process id names
 * the window (a restarted worker is the same window).
 */
export interface IndexLockOwner {
  pid: number;
  host: string;
  /** When it took the lock (ISO time), for the message the other window shows. */
  since: string;
}

export type IndexLockOutcome = { held: true } | { held: false; owner: IndexLockOwner | undefined };

/** A lock file being written has no owner in it for a moment; one without an owner this long is left over from a crash. */
const UNREADABLE_STALE_MS = 10_000;

function parseOwner(text: string): IndexLockOwner | undefined {
  try {
    const { pid, host, since } = JSON.parse(text) as Partial<IndexLockOwner>;
    if (!Number.isInteger(pid) || typeof host !== 'string' || typeof since !== 'string') return undefined;
    return { pid: pid as number, host, since };
  } catch {
    return undefined;
  }
}

/**
 * The lock that keeps two windows on one workspace from overwriting each
 * other's saved index: `<index>.lock`, created with an exclusive open and
 * holding the owner's pid and host. The first window to save owns it until
 * its process ends; another window is told who owns it and does not save.
 * A lock whose process is gone (same host) is taken over.
 */
export class IndexLock {
  private readonly self: IndexLockOwner;

  constructor(
    private readonly indexPath: string,
    owner: { pid: number; host: string } = { pid: process.pid, host: hostname() },
    private readonly isAlive: (pid: number) => boolean = isProcessAlive,
  ) {
    this.self = { ...owner, since: new Date().toISOString() };
  }

  get lockPath(): string {
    return `${this.indexPath}.lock`;
  }

  /** Takes the lock, or keeps it; says who holds it when another live window does. */
  async acquire(): Promise<IndexLockOutcome> {
    if (await this.create()) return { held: true };
    const owner = await this.readOwner();
    if (owner !== undefined && owner.host === this.self.host && owner.pid === this.self.pid) return { held: true };
    const stale = owner === undefined ? await this.leftUnreadable() : owner.host === this.self.host && !this.isAlive(owner.pid);
    if (!stale) return { held: false, owner };
    await rm(this.lockPath, { force: true });
    if (await this.create()) return { held: true };
    return { held: false, owner: await this.readOwner() };
  }

  /** Gives the lock up if this window holds it. */
  async release(): Promise<void> {
    const owner = await this.readOwner();
    if (owner?.pid === this.self.pid && owner.host === this.self.host) await rm(this.lockPath, { force: true });
  }

  /** True when the lock file did not exist and now names this window. */
  private async create(): Promise<boolean> {
    let handle;
    try {
      handle = await open(this.lockPath, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
    try {
      await handle.writeFile(JSON.stringify(this.self));
    } finally {
      await handle.close();
    }
    return true;
  }

  private async readOwner(): Promise<IndexLockOwner | undefined> {
    try {
      return parseOwner(await readFile(this.lockPath, 'utf8'));
    } catch {
      return undefined;
    }
  }

  private async leftUnreadable(): Promise<boolean> {
    try {
      return Date.now() - (await stat(this.lockPath)).mtimeMs > UNREADABLE_STALE_MS;
    } catch {
      // Gone meanwhile: free to take.
      return true;
    }
  }
}

/** The one-line message of a window that may not save the index. */
export function describeLockedIndex(owner: IndexLockOwner | undefined): string {
  const who = owner === undefined ? 'another VS Code window' : `another VS Code window (process ${owner.pid}${owner.host === hostname() ? '' : ` on ${owner.host}`}, since ${owner.since})`;
  return `${who} saves this workspace's index, so this window keeps its index in memory and does not save it`;
}

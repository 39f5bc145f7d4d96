// Runs the real VS Code workbench for end-to-end tests: code-server (VS Code
// server, installed by scripts/code-server/install.sh) serves it on a loopback
// port, and headless Chromium driven by playwright-core opens it.
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext, Locator, Page } from 'playwright-core';

export const CODE_SERVER_VERSION = '4.100.3';

/** The folder install.sh fills; the same variables and defaults as that script. */
export function codeServerCacheDir(): string {
  const cacheHome = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return (
    process.env.METACOMPLETE_CODE_SERVER_DIR ||
    path.join(cacheHome, 'metacomplete', `code-server-${CODE_SERVER_VERSION}`)
  );
}

/** `out/node/entry.js` of the installed code-server; throws if install.sh has not completed. */
export function codeServerEntry(): string {
  const cacheDir = codeServerCacheDir();
  const entry = path.join(cacheDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  if (!fs.existsSync(path.join(cacheDir, '.install-complete')) || !fs.existsSync(entry)) {
    throw new Error(
      `code-server ${CODE_SERVER_VERSION} is not installed in ${cacheDir}: run \`bash scripts/code-server/install.sh\` first.`,
    );
  }
  return entry;
}

/** The repository root: the nearest folder above this file whose package.json is MetaComplete's. */
export function repoRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, 'utf8')).name === 'metacomplete') {
      return dir;
    }
    if (path.dirname(dir) === dir) throw new Error(`No MetaComplete package.json above ${__dirname}.`);
  }
}

/** Where screenshots and logs of the e2e suite go: `test-artifacts/e2e` under the repository. */
export function artifactsDir(): string {
  return path.join(repoRoot(), 'test-artifacts', 'e2e');
}

/** What `npm start` and this suite share: scripts/code-server/launch.cjs (CommonJS, loaded at run time from the repository). */
interface Launch {
  QUIET_SETTINGS: Readonly<Record<string, unknown>>;
  isolatedEnv(root: string): NodeJS.ProcessEnv;
  folderArgs(userDataDir: string, extensionsDir: string): string[];
  serverArgs(entry: string, port: number, userDataDir: string, extensionsDir: string): string[];
}

function launch(): Launch {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(repoRoot(), 'scripts', 'code-server', 'launch.cjs')) as Launch;
}

/** User settings that keep the workbench quiet and deterministic: no welcome page, tips or update checks. */
function quietSettings(): Record<string, unknown> {
  return {
    ...launch().QUIET_SETTINGS,
    // The web workbench saves after a delay by default; a test decides when files change on disk.
    'files.autoSave': 'off',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'extensions.ignoreRecommendations': true,
    'git.enabled': false,
    'chat.commandCenter.enabled': false,
    'chat.disableAIFeatures': true,
    'window.restoreWindows': 'none',
    // Output channels are log files; unwrapped, each log line is one rendered line.
    '[Log]': { 'editor.wordWrap': 'off' },
  };
}

export interface CodeServerOptions {
  /** `.vsix` files installed into the fresh extensions folder before the server starts. */
  readonly vsixPaths?: readonly string[];
  /** User settings merged over the quiet defaults. */
  readonly settings?: Record<string, unknown>;
  /** Receives code-server's output and, on stop, a copy of its logs folder. */
  readonly artifactsDir?: string;
  /** How long to wait for the server to answer; default 60 s. */
  readonly startTimeoutMs?: number;
}

/** One code-server process with its own temporary user-data and extensions folders. */
export class CodeServer {
  private stopped = false;

  private constructor(
    /** `http://127.0.0.1:PORT` */
    readonly url: string,
    /** Temporary folder holding everything this server writes. */
    readonly rootDir: string,
    readonly userDataDir: string,
    readonly extensionsDir: string,
    private readonly child: ChildProcess,
    private readonly outputLog: string,
    private readonly artifacts: string | undefined,
  ) {}

  static async start(options: CodeServerOptions = {}): Promise<CodeServer> {
    const entry = codeServerEntry();
    const rootDir = makeScratchDir('metacomplete-code-server-');
    const userDataDir = path.join(rootDir, 'user-data');
    const extensionsDir = path.join(rootDir, 'extensions');
    fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
    fs.mkdirSync(extensionsDir, { recursive: true });
    fs.writeFileSync(
      path.join(userDataDir, 'User', 'settings.json'),
      JSON.stringify({ ...quietSettings(), ...options.settings }, null, 2),
    );
    const env = launch().isolatedEnv(rootDir);
    const folderArgs = launch().folderArgs(userDataDir, extensionsDir);

    for (const vsix of options.vsixPaths ?? []) {
      await installExtension(entry, vsix, folderArgs, env);
    }

    const port = await freeLoopbackPort();
    const outputLog = path.join(options.artifactsDir ?? rootDir, 'code-server.log');
    fs.mkdirSync(path.dirname(outputLog), { recursive: true });
    const output = fs.openSync(outputLog, 'w');
    // detached: the server and everything it forks (extension host, pty host,
    // file watcher) share a new process group that stop() can signal at once.
    const child = spawn(process.execPath, launch().serverArgs(entry, port, userDataDir, extensionsDir), {
      detached: true,
      stdio: ['ignore', output, output],
      env,
    });
    fs.closeSync(output);
    if (child.pid !== undefined) liveGroups.add(child.pid);
    const server = new CodeServer(
      `http://127.0.0.1:${port}`, rootDir, userDataDir, extensionsDir, child, outputLog, options.artifactsDir,
    );
    try {
      await server.waitUntilServing(options.startTimeoutMs ?? 60_000);
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  /** code-server's own output so far (stdout and stderr). */
  output(): string {
    return fs.existsSync(this.outputLog) ? fs.readFileSync(this.outputLog, 'utf8') : '';
  }

  /** The text of every log file under the user-data-dir's `logs` whose path contains `fragment`. */
  logs(fragment = ''): string {
    return listFiles(path.join(this.userDataDir, 'logs'))
      .filter((file) => file.includes(fragment))
      .map((file) => `--- ${path.relative(this.userDataDir, file)}\n${fs.readFileSync(file, 'utf8')}`)
      .join('\n');
  }

  /** Stops the server and every process it started, copies its logs to the artifacts, removes its folders. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await killProcessTree(this.child);
    if (this.child.pid !== undefined) liveGroups.delete(this.child.pid);
    if (this.artifacts) {
      const logs = path.join(this.userDataDir, 'logs');
      if (fs.existsSync(logs)) {
        const copy = path.join(this.artifacts, 'code-server-logs');
        fs.rmSync(copy, { recursive: true, force: true });
        fs.cpSync(logs, copy, { recursive: true });
      }
    }
    removeScratchDir(this.rootDir);
  }

  private async waitUntilServing(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`code-server exited before serving (${this.child.exitCode ?? this.child.signalCode}):\n${this.output()}`);
      }
      if ((await httpStatus(`${this.url}/healthz`)) === 200) return;
      await delay(250);
    }
    throw new Error(`code-server did not answer on ${this.url} within ${timeoutMs} ms:\n${this.output()}`);
  }
}

async function installExtension(
  entry: string, vsix: string, folderArgs: readonly string[], env: NodeJS.ProcessEnv,
): Promise<void> {
  const absolute = path.resolve(vsix);
  if (!fs.existsSync(absolute)) throw new Error(`No extension package at ${absolute}.`);
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
    execFile(
      process.execPath,
      [entry, '--install-extension', absolute, ...folderArgs],
      { env, timeout: 120_000, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const exitCode = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code: exitCode, output: `${stdout}${stderr}` });
      },
    );
  });
  if (code !== 0 || !/successfully installed/i.test(output)) {
    throw new Error(`Installing ${absolute} into code-server failed (exit ${code}):\n${output}`);
  }
}

/** A loopback port that was free a moment ago (the OS picks it). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('The OS gave no loopback port.'));
      });
    });
  });
}

function httpStatus(url: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const request = http.get(url, { timeout: 2_000 }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.once('timeout', () => request.destroy());
    request.once('error', () => resolve(undefined));
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? listFiles(full) : entry.isFile() ? [full] : [];
  });
}

// --- processes -----------------------------------------------------------------

interface ProcessInfo {
  readonly pid: number;
  readonly parentPid: number;
  readonly groupId: number;
  readonly zombie: boolean;
}

/** Every process of this machine, from /proc (Linux). */
function processTable(): ProcessInfo[] {
  const table: ProcessInfo[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command name may hold spaces and parentheses: the fields after it start past the last ')'.
      const [state, parentPid, groupId] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.push({ pid: Number(name), parentPid: Number(parentPid), groupId: Number(groupId), zombie: state === 'Z' });
    } catch {
      // The process ended while we read the table.
    }
  }
  return table;
}

/** The living processes of `root`'s group together with all of root's descendants. */
function processesOf(root: number, alsoKnown: ReadonlySet<number> = new Set()): number[] {
  const table = processTable().filter((info) => !info.zombie);
  const found = new Set<number>();
  for (const info of table) {
    if (info.groupId === root || alsoKnown.has(info.pid)) found.add(info.pid);
  }
  const queue = table.filter((info) => info.pid === root).map((info) => info.pid);
  while (queue.length > 0) {
    const parent = queue.pop() as number;
    found.add(parent);
    for (const info of table) {
      if (info.parentPid === parent && !found.has(info.pid)) queue.push(info.pid);
    }
  }
  return [...found];
}

/** Process groups of servers not yet stopped; killed outright if the test process ends first. */
const liveGroups = new Set<number>();
/** Temporary folders not yet removed; removed if the test process ends first. */
const scratchDirs = new Set<string>();
let orphanGuardInstalled = false;

/** A new temporary folder, removed by removeScratchDir or, failing that, when the process exits. */
export function makeScratchDir(prefix: string): string {
  installOrphanGuard();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  scratchDirs.add(dir);
  return dir;
}

export function removeScratchDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  scratchDirs.delete(dir);
}

/**
 * A detached server outlives its parent unless someone kills it: when the
 * runner exits, or is interrupted or terminated, before stop() ran, kill the
 * groups left and remove the scratch folders (synchronously: 'exit' allows nothing else).
 */
function installOrphanGuard(): void {
  if (orphanGuardInstalled) return;
  orphanGuardInstalled = true;
  const cleanUp = (): void => {
    for (const group of liveGroups) signal(-group, 'SIGKILL');
    liveGroups.clear();
    for (const dir of scratchDirs) fs.rmSync(dir, { recursive: true, force: true });
    scratchDirs.clear();
  };
  process.on('exit', cleanUp);
  for (const [name, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    process.once(name, () => {
      cleanUp();
      process.exit(code);
    });
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

/**
 * Ends a detached child's whole process group and any descendant that left it:
 * SIGTERM first so the server can shut its extension host down, then SIGKILL
 * whatever is still alive after 10 s.
 */
export async function killProcessTree(child: ChildProcess, graceMs = 10_000): Promise<void> {
  const root = child.pid;
  if (root === undefined) return;
  const known = new Set(processesOf(root));
  signal(-root, 'SIGTERM');
  for (const pid of known) signal(pid, 'SIGTERM');
  for (const [wait, next] of [[graceMs, 'SIGKILL'], [5_000, undefined]] as const) {
    const deadline = Date.now() + wait;
    while (processesOf(root, known).length > 0 && Date.now() < deadline) await delay(100);
    const left = processesOf(root, known);
    if (left.length === 0) return;
    if (next === undefined) throw new Error(`Processes ${left.join(', ')} of code-server survived SIGKILL.`);
    signal(-root, next);
    for (const pid of left) signal(pid, next);
  }
}

// --- the workbench in Chromium -------------------------------------------------------

/** Flags for Debian Chromium under playwright-core, shared with the webview harness. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export interface WorkbenchOptions {
  /** Where screenshots go; default `test-artifacts/e2e`. */
  readonly artifactsDir?: string;
  /** Chromium binary; default `$METACOMPLETE_CHROMIUM` or Debian's `/usr/bin/chromium`. */
  readonly executablePath?: string;
  /** How long to wait for the workbench to be ready; default 90 s. */
  readonly readyTimeoutMs?: number;
}

/** VS Code's quick input: the command palette, Quick Open and the picks that commands open. */
const QUICK_INPUT = '.quick-input-widget';
const QUICK_INPUT_BOX = `${QUICK_INPUT} .quick-input-box input`;
const QUICK_INPUT_ROWS = `${QUICK_INPUT} .quick-input-list .monaco-list-row`;

/** The VS Code workbench of one code-server, open on one folder in headless Chromium. */
export class Workbench {
  private readonly consoleLines: string[] = [];

  private constructor(
    readonly page: Page,
    private readonly context: BrowserContext,
    private readonly browserDataDir: string,
    private readonly artifacts: string,
  ) {
    page.on('console', (message) => this.consoleLines.push(`[${message.type()}] ${message.text()}`));
    page.on('pageerror', (error) => this.consoleLines.push(`[pageerror] ${error.message}`));
  }

  /** Opens `folder` (absolute path) in the workbench and waits until the explorer shows it. */
  static async open(server: CodeServer, folder: string, options: WorkbenchOptions = {}): Promise<Workbench> {
    const browserDataDir = makeScratchDir('metacomplete-chromium-');
    const browserTmp = path.join(browserDataDir, 'tmp');
    fs.mkdirSync(browserTmp);
    let context: BrowserContext;
    try {
      // A fresh profile each time; TMPDIR keeps Chromium's temporary files in the same scratch folder.
      context = await chromium.launchPersistentContext(path.join(browserDataDir, 'profile'), {
        executablePath: options.executablePath ?? process.env.METACOMPLETE_CHROMIUM ?? '/usr/bin/chromium',
        headless: true,
        args: CHROMIUM_ARGS,
        env: { ...process.env, TMPDIR: browserTmp },
        viewport: { width: 1440, height: 900 },
        timeout: 60_000,
      });
    } catch (error) {
      removeScratchDir(browserDataDir);
      throw error;
    }
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    const page = context.pages()[0] ?? (await context.newPage());
    const workbench = new Workbench(page, context, browserDataDir, options.artifactsDir ?? artifactsDir());
    try {
      await page.goto(`${server.url}/?folder=${encodeURIComponent(path.resolve(folder))}`, { timeout: 60_000 });
      await workbench.waitUntilReady(options.readyTimeoutMs ?? 90_000);
    } catch (error) {
      await workbench.screenshot('workbench-not-ready').catch(() => undefined);
      await workbench.close();
      throw error;
    }
    return workbench;
  }

  private async waitUntilReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const left = (): number => Math.max(1, deadline - Date.now());
    await this.page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: left() });
    await this.page.locator('#workbench\\.parts\\.statusbar').waitFor({ state: 'visible', timeout: left() });
    // The explorer lists the folder's files once the remote file system answers.
    await this.page
      .locator('.explorer-folders-view .monaco-list-row')
      .first()
      .waitFor({ state: 'visible', timeout: left() });
  }

  /**
   * Runs a command from the palette by its title as shown there, e.g.
   * "MetaComplete: Show Log". Retries until the command is listed: contributed
   * commands appear only once the extension host has scanned the extensions.
   */
  async runCommand(title: string, timeoutMs = 30_000): Promise<void> {
    await this.pickFromQuickInput('F1', [{ query: `>${title}`, label: title }], timeoutMs);
  }

  /** Opens a workspace file by its path relative to the folder, through Quick Open (Ctrl+P). */
  async openFile(relativePath: string, timeoutMs = 30_000): Promise<void> {
    const fileName = path.posix.basename(relativePath);
    await this.pickFromQuickInput('Control+P', [{ query: relativePath, label: fileName }], timeoutMs);
    await this.page
      .locator('.tabs-container .tab.active', { hasText: fileName })
      .waitFor({ state: 'visible', timeout: timeoutMs });
    await this.activeEditor().locator('.view-lines').waitFor({ state: 'visible', timeout: timeoutMs });
  }

  /** Types text into the active editor as keystrokes; at the end of the file unless `atEnd` is false. */
  async typeInEditor(text: string, options: { atEnd?: boolean } = {}): Promise<void> {
    const editor = this.activeEditor();
    await editor.locator('.view-lines').click();
    if (options.atEnd ?? true) await this.page.keyboard.press('Control+End');
    await this.page.keyboard.type(text, { delay: 20 });
  }

  /** The lines of the active editor that are in view, top to bottom (Monaco renders no others). */
  async editorText(): Promise<string> {
    return visibleLines(this.activeEditor());
  }

  /** The texts of the status bar's items, left to right. */
  async statusBarItems(): Promise<string[]> {
    const texts = await this.page.locator('#workbench\\.parts\\.statusbar .statusbar-item').allInnerTexts();
    return texts.map((text) => text.trim()).filter((text) => text.length > 0);
  }

  /** The name of the channel the Output view shows, or undefined when the view is not open. */
  async activeOutputChannel(): Promise<string | undefined> {
    if (!(await this.page.locator('.part.panel .output-view').isVisible())) return undefined;
    // The channel picker is a <select> in the panel's title bar; its option values are the channel names.
    const picker = this.page.locator('.part.panel select.monaco-select-box:visible');
    return (await picker.count()) === 1 ? await picker.inputValue() : undefined;
  }

  /** Waits until the Output view shows `channel`, without switching it there. */
  async waitForActiveOutputChannel(channel: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let active: string | undefined;
    while (Date.now() < deadline) {
      active = await this.activeOutputChannel();
      if (active === channel) return;
      await delay(250);
    }
    throw new Error(`The Output view did not show the "${channel}" channel within ${timeoutMs} ms (it showed ${active ?? 'nothing'}).`);
  }

  /**
   * The Output view's whole text for `channel`, switching the view to that
   * channel first ("Output: Show Output Channels..."), when another one shows.
   * Moves the focus to the Output view.
   */
  async outputChannelText(channel: string, timeoutMs = 30_000): Promise<string> {
    if ((await this.activeOutputChannel()) !== channel) {
      const showChannels = 'Output: Show Output Channels...';
      await this.pickFromQuickInput(
        'F1', [{ query: `>${showChannels}`, label: showChannels }, { query: channel, label: channel }], timeoutMs,
      );
    }
    const editor = this.page.locator('.part.panel .output-view .monaco-editor');
    await editor.locator('.view-lines').waitFor({ state: 'visible', timeout: timeoutMs });
    return this.copyAllFrom(editor);
  }

  /** Polls the Output view of `channel` until its text contains `expected`; returns that text. */
  async waitForOutputText(channel: string, expected: string, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let text = '';
    while (Date.now() < deadline) {
      text = await this.outputChannelText(channel, Math.max(1_000, deadline - Date.now()));
      if (text.includes(expected)) return text;
      await delay(500);
    }
    throw new Error(`The Output channel "${channel}" did not show "${expected}" within ${timeoutMs} ms; it showed:\n${text}`);
  }

  /** Saves a PNG of the whole window to `<artifacts>/<name>.png` and returns its path. */
  async screenshot(name: string): Promise<string> {
    const file = path.join(this.artifacts, `${name.replace(/[^\w.-]+/g, '-')}.png`);
    fs.mkdirSync(this.artifacts, { recursive: true });
    await this.page.screenshot({ path: file });
    return file;
  }

  /** Closes Chromium, keeps its console output as an artifact and removes its profile. */
  async close(): Promise<void> {
    try {
      fs.mkdirSync(this.artifacts, { recursive: true });
      fs.writeFileSync(path.join(this.artifacts, 'browser-console.log'), `${this.consoleLines.join('\n')}\n`);
      await this.context.close();
    } finally {
      removeScratchDir(this.browserDataDir);
    }
  }

  /**
   * The whole text of a Monaco editor, as a user would take it: select all,
   * copy, read the clipboard. Monaco renders only the lines in view, so the
   * DOM alone cannot give a long text.
   */
  private async copyAllFrom(editor: Locator): Promise<string> {
    // An empty clipboard first, so that a copy that did not happen cannot pass for the text.
    await this.page.evaluate("navigator.clipboard.writeText('')");
    // Near the top-left corner: the centre of a wide, scrolled text can lie under the panel's title bar.
    await editor.click({ position: { x: 80, y: 8 } });
    await this.page.keyboard.press('Control+A');
    await this.page.keyboard.press('Control+C');
    const text = String(await this.page.evaluate('navigator.clipboard.readText()'));
    await this.page.keyboard.press('Control+End');
    return text;
  }

  private activeEditor(): Locator {
    return this.page.locator('.editor-group-container.active .editor-instance .monaco-editor').first();
  }

  /**
   * Opens a quick input with `key`, then for each step fills in `query` and
   * accepts the row labelled `label` (a command may open a second pick).
   * Starts over until the deadline when a row is missing: a quick input lists
   * what existed when it opened, and commands and channels appear as the
   * extension host starts.
   */
  private async pickFromQuickInput(
    key: string, steps: ReadonlyArray<{ query: string; label: string }>, timeoutMs: number,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.page.keyboard.press(key);
        for (const { query, label } of steps) {
          const box = this.page.locator(QUICK_INPUT_BOX);
          await box.waitFor({ state: 'visible', timeout: 5_000 });
          await box.fill(query);
          await this.pickRow(label, 3_000);
        }
        return;
      } catch (error) {
        await this.page.keyboard.press('Escape');
        if (Date.now() >= deadline) {
          const wanted = steps.map((step) => `"${step.label}" for "${step.query}"`).join(', then ');
          throw new Error(`The quick input did not offer ${wanted} within ${timeoutMs} ms: ${String(error)}`);
        }
        await delay(500);
      }
    }
  }

  /** In the open quick input, accepts the row whose label is exactly `label`. */
  private async pickRow(label: string, timeoutMs: number): Promise<void> {
    const box = this.page.locator(QUICK_INPUT_BOX);
    const query = await box.inputValue();
    const row = this.page
      .locator(QUICK_INPUT_ROWS)
      .filter({ has: this.page.locator('.label-name', { hasText: new RegExp(`^\\s*${escapeRegExp(label)}\\s*$`) }) })
      .first();
    await row.waitFor({ state: 'visible', timeout: timeoutMs });
    // Enter accepts the focused row, which is the best match; click when the match is further down.
    if ((await row.getAttribute('class'))?.split(/\s+/).includes('focused')) {
      await this.page.keyboard.press('Enter');
    } else {
      await row.click();
    }
    // Accepted once the quick input closes, or shows a new pick (a command may open one) with another query.
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!(await this.page.locator(QUICK_INPUT).isVisible())) return;
      if ((await box.inputValue().catch(() => query)) !== query) return;
      await delay(100);
    }
    throw new Error(`The quick input stayed open on "${query}" after choosing "${label}".`);
  }
}

/**
 * The lines Monaco has rendered in `editor`, in document order. Monaco
 * positions each line absolutely, so DOM order need not be line order; and it
 * renders spaces as no-break spaces.
 */
async function visibleLines(editor: Locator): Promise<string> {
  const lines = editor.locator('.view-lines .view-line');
  const rows: Array<{ top: number; text: string }> = [];
  for (let index = 0, count = await lines.count(); index < count; index += 1) {
    const line = lines.nth(index);
    const style = (await line.getAttribute('style')) ?? '';
    const top = Number(/top:\s*(-?[\d.]+)px/.exec(style)?.[1] ?? index);
    rows.push({ top, text: (await line.textContent()) ?? '' });
  }
  return rows
    .sort((a, b) => a.top - b.top)
    .map((row) => row.text.replace(/\u00a0/g, ' '))
    .join('\n');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// The extension-host benchmark (`npm run bench:host`): the real host code
// (src/host: engine host, indexer, completion providers) with the real worker
// (dist/worker.js), outside VS Code through a stub of the `vscode` module, on
// rxjs 7.8.1's sources. Measures the issue's targets:
//   - completion latency, request to items, over a simulated typing script: p95 <= 10 ms;
//   - event-loop lag of the host thread while the worker works: p99 <= 20 ms;
//   - memory on rxjs (peak RSS of the host process with its worker thread): <= 300 MB.
// Then the load workload, on a 10,000-file workspace of installed packages' sources
// (scripts/load-workspace.mjs): time to index it, suggest-list latency while it is
// indexed (p95 <= 10 ms), event-loop lag (p99 <= 20 ms), peak RSS of the whole
// process, host, worker and a meta-training thread (<= 500 MB), and a start-up
// index cancelled a quarter of the way through (`--load-only`, `--no-load`).
// Each repeat runs in a fresh child process, so that peak memory belongs to one run.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
// The `vscode` module, mapped to the stub before any host module loads.
import './vscodeHook';

const REPO = path.resolve(__dirname, '..', '..', '..');
const RXJS_SOURCES = path.join(REPO, 'node_modules', 'rxjs', 'src');
const WORKER_SCRIPT = path.join(REPO, 'dist', 'worker.js');
const TARGETS = { completionP95Ms: 10, lagP99Ms: 20, peakRssMb: 300 };

/** Every 40th rxjs file (sorted) is held out of the index and typed in, as a new file the model has not seen. */
const HELD_OUT_EVERY = 40;
/** Characters typed per held-out file, one keystroke each. */
const TYPED_CHARACTERS = 1200;
/** Ghost text is asked for at every n-th keystroke (each is up to 16 worker round trips). */
const GHOST_EVERY = 4;

// --- statistics -----------------------------------------------------------------------------

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

interface Distribution {
  samples: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  return { samples: sorted.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] };
}

/** Sampling period of the lag histogram; it records whole periods between ticks, so this is taken off every value. */
const LAG_RESOLUTION_MS = 2;

/** Event-loop lag of this thread while `work` runs (how late a timer fires), in ms. */
interface LagFigures {
  p50: number;
  p99: number;
  max: number;
  seconds: number;
}

async function measureLag(work: () => Promise<unknown>): Promise<LagFigures> {
  const histogram = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  const started = performance.now();
  histogram.enable();
  try {
    await work();
  } finally {
    histogram.disable();
  }
  const ms = (ns: number) => Math.max(0, ns / 1e6 - LAG_RESOLUTION_MS);
  return { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max), seconds: (performance.now() - started) / 1000 };
}

// --- one run (child process) ----------------------------------------------------------------

type HostModules = {
  stub: typeof import('./vscodeStub');
  EngineHost: typeof import('../../src/host/engineHost').EngineHost;
  Indexer: typeof import('../../src/host/indexer').Indexer;
  Config: typeof import('../../src/host/config').Config;
  Logger: typeof import('../../src/host/logger').Logger;
  StatusBar: typeof import('../../src/host/statusBar').StatusBar;
  CompletionProviders: typeof import('../../src/host/completionProviders').CompletionProviders;
};

/** What a workload can drive: the host's services, started on the rxjs folder. */
export interface WorkloadContext {
  engine: InstanceType<HostModules['EngineHost']>;
  indexer: InstanceType<HostModules['Indexer']>;
  /** Where a workload that trains records the latency of completions asked meanwhile (ms). */
  duringTraining: number[];
}

/**
 * A heavy job run while the host's event-loop lag is measured. Indexing is
 * the first and is needed by the typing script; add meta-training here once
 * the worker takes training requests.
 */
export interface HostWorkload {
  name: string;
  description: string;
  run(context: WorkloadContext): Promise<void>;
}

export const WORKLOADS: readonly HostWorkload[] = [
  {
    name: 'index-rxjs',
    description: 'Index Workspace over rxjs/src: host reads and scans files, worker learns them',
    run: ({ indexer }) => indexer.indexWorkspace(),
  },
  {
    name: 'reindex-rxjs',
    description: 'Index Workspace again: every file re-learned (forget + learn) in the worker',
    run: ({ indexer }) => indexer.indexWorkspace(),
  },
  {
    name: 'meta-train-rxjs',
    description: 'Meta-training in the worker (Meta-SGD, 2 pre-training epochs, 10 outer steps) until the model is saved and in use',
    run: ({ engine, duringTraining }) => metaTrain(engine, duringTraining),
  },
];

/** Suggest-list requests while meta-training runs: one every this many ms. */
const TRAINING_PROBE_MS = 100;

/**
 * Starts training in the worker and resolves once it is done (the typing
 * script then completes with the trained model). Meanwhile it asks the worker
 * for completions, as an editor would, and records how long each took.
 */
async function metaTrain(engine: WorkloadContext['engine'], latencies: number[]): Promise<void> {
  const modelPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'metacomplete-bench-')), 'model.mcmodel');
  let training = true;
  const probe = async () => {
    const textBefore = 'import { Observable } from "../Observable";\nexport function probe<T>(source: Observable<T>) {\n  return source.pi';
    while (training) {
      const started = performance.now();
      await engine.request({ type: 'completion/complete', path: 'probe.ts', textBefore, k: 12 });
      latencies.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, TRAINING_PROBE_MS));
    }
  };
  const probing = probe();
  try {
    await trainToEnd(engine, modelPath);
  } finally {
    training = false;
    await probing;
  }
}

function trainToEnd(engine: WorkloadContext['engine'], modelPath: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const subscription = engine.onTrainingEvent((event) => {
      if (event.type !== 'training-state') return;
      if (event.phase === 'done') {
        subscription.dispose();
        resolve();
      } else if (event.phase === 'error' || event.phase === 'cancelled') {
        subscription.dispose();
        reject(new Error(`meta-training stopped: ${event.phase} ${event.message ?? ''}`));
      }
    });
    engine
      .request({ type: 'training/start', learner: 'meta-sgd', modelPath, overrides: { pretrainEpochs: 2, outerSteps: 10 } })
      .catch((error: unknown) => {
        subscription.dispose();
        reject(error instanceof Error ? error : new Error(String(error)));
      });
  });
}

/** A document being typed: the text so far, the cursor at its end. */
class TypedDocument {
  readonly languageId = 'typescript';
  private readonly lineStarts: number[] = [0];

  constructor(readonly uri: unknown, private readonly text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
  }

  get end(): { line: number; character: number } {
    const line = this.lineStarts.length - 1;
    return { line, character: this.text.length - this.lineStarts[line] };
  }

  getText(range?: { start: { line: number; character: number }; end: { line: number; character: number } }): string {
    if (range === undefined) return this.text;
    return this.text.slice(this.offsetAt(range.start), this.offsetAt(range.end));
  }

  lineAt(line: number): { text: string } {
    const end = line + 1 < this.lineStarts.length ? this.lineStarts[line + 1] - 1 : this.text.length;
    return { text: this.text.slice(this.lineStarts[line], end) };
  }

  private offsetAt(position: { line: number; character: number }): number {
    return this.lineStarts[position.line] + position.character;
  }
}

interface CompletionProviderLike {
  provideCompletionItems(document: unknown, position: unknown, token: unknown): Promise<{ items: unknown[] } | undefined>;
}
interface InlineProviderLike {
  provideInlineCompletionItems(document: unknown, position: unknown, context: unknown, token: unknown): Promise<unknown[] | undefined>;
}

interface RunResult {
  completionMs: number[];
  /** Suggest-list requests to the worker while it meta-trained. */
  duringTrainingMs: number[];
  ghostMs: number[];
  suggestionsShown: number;
  ghostShown: number;
  lag: Record<string, { p50: number; p99: number; max: number; seconds: number }>;
  baselineRssMb: number;
  peakRssMb: number;
  indexedFiles: number;
  typedFiles: number;
  modelMb: number;
}

function rxjsFiles(): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) found.push(path.relative(RXJS_SOURCES, full).replace(/\\/g, '/'));
    }
  };
  walk(RXJS_SOURCES);
  return found.sort();
}

async function runOnce(workloadNames: readonly string[]): Promise<RunResult> {
  if (!fs.existsSync(WORKER_SCRIPT)) throw new Error(`No ${WORKER_SCRIPT}: run \`npm run build\` first.`);
  if (!fs.existsSync(RXJS_SOURCES)) throw new Error(`No rxjs sources at ${RXJS_SOURCES}: run \`npm install\` (rxjs is a devDependency).`);
  const modules: HostModules = {
    stub: await import('./vscodeStub'),
    EngineHost: (await import('../../src/host/engineHost')).EngineHost,
    Indexer: (await import('../../src/host/indexer')).Indexer,
    Config: (await import('../../src/host/config')).Config,
    Logger: (await import('../../src/host/logger')).Logger,
    StatusBar: (await import('../../src/host/statusBar')).StatusBar,
    CompletionProviders: (await import('../../src/host/completionProviders')).CompletionProviders,
  };
  const { stub } = modules;
  const heldOut = rxjsFiles().filter((_, index) => index % HELD_OUT_EVERY === 7);
  stub.workspaceFolders.push({ uri: stub.Uri.file(RXJS_SOURCES), name: 'src', index: 0 });
  stub.settings.set('metacomplete.exclude', heldOut);
  stub.settings.set('metacomplete.debounceMs', 0);

  // memoryUsage.rss() reads one number; memoryUsage() walks the heaps and would itself stall the loop being measured.
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 20);
  const baselineRss = process.memoryUsage.rss();

  const logger = new modules.Logger();
  const config = new modules.Config();
  const engine = new modules.EngineHost(WORKER_SCRIPT, logger);
  const indexer = new modules.Indexer(engine, config, logger, new modules.StatusBar());
  const providers = new modules.CompletionProviders(engine, indexer, config, logger);
  const completion = stub.registeredProviders.completion[0] as CompletionProviderLike;
  const inline = stub.registeredProviders.inline[0] as InlineProviderLike;
  const lag: RunResult['lag'] = {};
  try {
    lag.idle = await measureLag(() => new Promise((resolve) => setTimeout(resolve, 1000)));
    engine.start();
    const duringTraining: number[] = [];
    const context: WorkloadContext = { engine, indexer, duringTraining };
    for (const workload of WORKLOADS.filter((candidate) => workloadNames.includes(candidate.name))) {
      lag[workload.name] = await measureLag(() => workload.run(context));
    }
    const stats = await engine.request({ type: 'engine/stats' });
    if (stats.files === 0) throw new Error(`Nothing was indexed:\n${stub.logLines.join('\n')}`);

    const completionMs: number[] = [];
    const ghostMs: number[] = [];
    let suggestionsShown = 0;
    let ghostShown = 0;
    const token = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose: () => undefined }) };
    lag.typing = await measureLag(async () => {
      for (const relative of heldOut) {
        const text = fs.readFileSync(path.join(RXJS_SOURCES, relative), 'utf8').slice(0, TYPED_CHARACTERS);
        const uri = stub.Uri.file(path.join(RXJS_SOURCES, relative));
        for (let typed = 1; typed <= text.length; typed++) {
          const document = new TypedDocument(uri, text.slice(0, typed));
          const { line, character } = document.end;
          const position = new stub.Position(line, character);
          // The editor asks the suggest list as an identifier or a member access is typed.
          if (/[A-Za-z0-9_$.]/.test(text[typed - 1])) {
            const started = performance.now();
            const list = await completion.provideCompletionItems(document, position, token);
            completionMs.push(performance.now() - started);
            if ((list?.items.length ?? 0) > 0) suggestionsShown++;
          }
          if (typed % GHOST_EVERY === 0) {
            const started = performance.now();
            const items = await inline.provideInlineCompletionItems(document, position, { triggerKind: 1 }, token);
            ghostMs.push(performance.now() - started);
            if ((items?.length ?? 0) > 0) ghostShown++;
          }
        }
      }
    });
    clearInterval(sampler);
    const maxRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
    return {
      completionMs,
      duringTrainingMs: duringTraining,
      ghostMs,
      suggestionsShown,
      ghostShown,
      lag,
      baselineRssMb: baselineRss / 2 ** 20,
      peakRssMb: maxRss / 2 ** 20,
      indexedFiles: stats.files,
      typedFiles: heldOut.length,
      modelMb: stats.modelBytes / 2 ** 20,
    };
  } finally {
    clearInterval(sampler);
    providers.dispose();
    indexer.dispose();
    engine.dispose();
  }
}


// --- the 10,000-file load workload -------------------------------------------------------------

const LOAD_FILES = 10_000;
const LOAD_TARGETS = { suggestP95Ms: 10, lagP99Ms: 20, peakRssMb: 500 };
/** While the load workspace is indexed, a keystroke every this many ms, as someone typing meanwhile. */
const LOAD_KEYSTROKE_MS = 50;
/** The cancel run clicks Cancel Indexing once this share of the files is done. */
const CANCEL_AT_SHARE = 0.25;
/**
 * After indexing, meta-training on the load workspace, the smallest run that
 * goes through every phase (no pre-training, 2 outer steps), for the training
 * thread's memory; cancelled, as a user would, if it runs longer than this.
 */
const LOAD_TRAINING = { overrides: { pretrainEpochs: 0, outerSteps: 2 }, budgetSeconds: 120, graceSeconds: 60 };
/** The text typed while indexing runs, one character per keystroke, from its start again at its end. */
const LOAD_TYPED_FILE = path.join(RXJS_SOURCES, 'internal', 'Observable.ts');

interface LoadWorkspace {
  dir: string;
  files: number;
  bytes: number;
  uniqueFiles: number;
  fingerprint: string;
}

/** Builds (or reuses) the workspace in a temporary folder; the same file list every run. */
function loadWorkspace(): LoadWorkspace {
  const script = path.join(REPO, 'scripts', 'load-workspace.mjs');
  const output = execFileSync(process.execPath, [script, '--files', String(LOAD_FILES)], { encoding: 'utf8' });
  return JSON.parse(output.trim().split('\n').pop() ?? '') as LoadWorkspace;
}

interface LoadIndexResult {
  indexSeconds: number;
  learnedFiles: number;
  tokens: number;
  /** Suggest-list requests while indexing ran, request to items (ms). */
  suggestMs: number[];
  suggestionsShown: number;
  lag: LagFigures;
  baselineRssMb: number;
  /** Peak RSS until the index was complete. */
  indexingPeakRssMb: number;
  /** Peak RSS until the engine's stats were read (its task graph's communities, which completions also read). */
  statsPeakRssMb: number;
  /** Peak RSS of the whole run: indexing, stats, then meta-training on its own thread. */
  peakRssMb: number;
  training: { seconds: number; ended: string };
}

interface LoadCancelResult {
  total: number;
  /** Files done (status bar n/N) when Cancel Indexing ran. */
  doneAtCancel: number;
  /** From the command to the end of the indexing run (ms). */
  stopMs: number;
  /** Files the worker holds once stopped. */
  learnedFiles: number;
  /** Items of a suggest list asked after the stop. */
  suggestionsAfter: number;
  statusAfter: string;
}

/** The host's services on the load workspace, as the extension builds them. */
async function startLoadHost(dir: string) {
  const stub = await import('./vscodeStub');
  const { EngineHost } = await import('../../src/host/engineHost');
  const { Indexer } = await import('../../src/host/indexer');
  const { Config } = await import('../../src/host/config');
  const { Logger } = await import('../../src/host/logger');
  const { StatusBar } = await import('../../src/host/statusBar');
  const { CompletionProviders } = await import('../../src/host/completionProviders');
  const { registerCommands } = await import('../../src/host/commands');
  stub.workspaceFolders.push({ uri: stub.Uri.file(dir), name: path.basename(dir), index: 0 });
  stub.settings.set('metacomplete.debounceMs', 0);
  const logger = new Logger();
  const config = new Config();
  const engine = new EngineHost(WORKER_SCRIPT, logger);
  const status = new StatusBar();
  const indexer = new Indexer(engine, config, logger, status);
  const providers = new CompletionProviders(engine, indexer, config, logger);
  const commands = registerCommands(engine, indexer, logger);
  const completion = stub.registeredProviders.completion[0] as CompletionProviderLike;
  const token = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose: () => undefined }) };
  const typedText = fs.readFileSync(LOAD_TYPED_FILE, 'utf8');
  const typedUri = stub.Uri.file(path.join(dir, 'typed-while-indexing.ts'));
  let typed = 0;
  /** Types the next character of the typed file and asks the suggest list, as the editor would; its latency, or undefined when the editor would not ask. */
  const keystroke = async (): Promise<{ ms: number; items: number } | undefined> => {
    typed = (typed % typedText.length) + 1;
    if (!/[A-Za-z0-9_$.]/.test(typedText[typed - 1])) return undefined;
    const document = new TypedDocument(typedUri, typedText.slice(0, typed));
    const { line, character } = document.end;
    const started = performance.now();
    const list = await completion.provideCompletionItems(document, new stub.Position(line, character), token);
    return { ms: performance.now() - started, items: list?.items.length ?? 0 };
  };
  engine.start();
  const dispose = () => {
    for (const command of commands) command.dispose();
    providers.dispose();
    indexer.dispose();
    status.dispose();
    engine.dispose();
  };
  return { stub, engine, indexer, keystroke, dispose };
}

/** Runs `work` and presses a key every LOAD_KEYSTROKE_MS meanwhile; the suggest list's latencies and how many lists had items. */
async function typingDuring(keystroke: () => Promise<{ ms: number; items: number } | undefined>, work: Promise<unknown>) {
  const latencies: number[] = [];
  let shown = 0;
  let working = true;
  const typing = (async () => {
    while (working) {
      const answer = await keystroke();
      if (answer !== undefined) {
        latencies.push(answer.ms);
        if (answer.items > 0) shown++;
      }
      await new Promise((resolve) => setTimeout(resolve, LOAD_KEYSTROKE_MS));
    }
  })();
  try {
    await work;
  } finally {
    working = false;
    await typing;
  }
  return { latencies, shown };
}

/** Indexes the whole load workspace from nothing while someone types. */
async function runLoadIndex(dir: string): Promise<LoadIndexResult> {
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 20);
  const baselineRss = process.memoryUsage.rss();
  const host = await startLoadHost(dir);
  try {
    let indexSeconds = 0;
    let indexingPeakRss = 0;
    let typing = { latencies: [] as number[], shown: 0 };
    const lag = await measureLag(async () => {
      const started = performance.now();
      const indexing = host.indexer.indexWorkspace().then(() => {
        indexSeconds = (performance.now() - started) / 1000;
        indexingPeakRss = Math.max(peakRss, process.memoryUsage.rss());
      });
      typing = await typingDuring(host.keystroke, indexing);
    });
    const stats = await host.engine.request({ type: 'engine/stats' });
    if (stats.files === 0) throw new Error(`Nothing was indexed:\n${host.stub.logLines.slice(-20).join('\n')}`);
    const statsPeakRss = Math.max(peakRss, process.memoryUsage.rss());
    const training = await trainWithin(host.engine, LOAD_TRAINING.budgetSeconds, LOAD_TRAINING.graceSeconds);
    clearInterval(sampler);
    const maxRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
    return {
      indexSeconds,
      learnedFiles: stats.files,
      tokens: stats.tokens,
      suggestMs: typing.latencies,
      suggestionsShown: typing.shown,
      lag,
      baselineRssMb: baselineRss / 2 ** 20,
      indexingPeakRssMb: indexingPeakRss / 2 ** 20,
      statsPeakRssMb: statsPeakRss / 2 ** 20,
      peakRssMb: maxRss / 2 ** 20,
      training,
    };
  } finally {
    clearInterval(sampler);
    host.dispose();
  }
}

/**
 * Meta-trains in the worker until the run ends or `budgetSeconds` pass, then
 * cancels it, and gives up waiting `graceSeconds` later (the process then
 * ends, and the training thread with it); how long it ran and how it ended.
 */
async function trainWithin(engine: WorkloadContext['engine'], budgetSeconds: number, graceSeconds: number): Promise<{ seconds: number; ended: string }> {
  const modelPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'metacomplete-bench-')), 'model.mcmodel');
  const started = performance.now();
  let phase = 'starting';
  let phaseAtCancel = '';
  const timers: NodeJS.Timeout[] = [];
  const ended = new Promise<string>((resolve) => {
    const subscription = engine.onTrainingEvent((event) => {
      if (event.type !== 'training-state') return;
      phase = event.phase;
      if (!['done', 'error', 'cancelled'].includes(event.phase)) return;
      subscription.dispose();
      resolve(event.phase === 'error' ? `error: ${event.message ?? ''}` : event.phase === 'cancelled' ? `cancelled after ${budgetSeconds} s in the ${phaseAtCancel} phase` : 'done');
    });
    timers.push(
      setTimeout(() => {
        phaseAtCancel = phase;
        void engine.request({ type: 'training/cancel' });
      }, budgetSeconds * 1000),
      setTimeout(() => resolve(`NOT STOPPED ${graceSeconds} s after Cancel, asked in the ${phaseAtCancel} phase`), (budgetSeconds + graceSeconds) * 1000),
    );
  });
  await engine.request({ type: 'training/start', learner: 'meta-sgd', modelPath, overrides: LOAD_TRAINING.overrides });
  try {
    const how = await ended;
    return { seconds: (performance.now() - started) / 1000, ended: how };
  } finally {
    for (const timer of timers) clearTimeout(timer);
  }
}

/**
 * Start-up indexing (no progress notification, as the extension runs it)
 * cancelled from the status bar a quarter of the way through: how long it
 * takes to stop, and whether what was learned answers the suggest list.
 */
async function runLoadCancel(dir: string): Promise<LoadCancelResult> {
  const host = await startLoadHost(dir);
  try {
    const item = host.stub.statusBarItems[0];
    let stoppedAt = 0;
    const indexing = host.indexer.indexWorkspace().then(() => (stoppedAt = performance.now()));
    let progress: RegExpMatchArray | null = null;
    for (;;) {
      progress = /indexing (\d+)\/(\d+)/.exec(item.text);
      if (progress !== null && Number(progress[1]) >= CANCEL_AT_SHARE * Number(progress[2])) break;
      if (stoppedAt > 0) throw new Error('The load workspace was indexed before it could be cancelled.');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const cancelled = performance.now();
    // What a click on the status bar item runs while it shows indexing n/N.
    await host.stub.commands.executeCommand(item.command);
    await indexing;
    const stats = await host.engine.request({ type: 'engine/stats' });
    let suggestionsAfter = 0;
    for (let i = 0; i < 200 && suggestionsAfter === 0; i++) suggestionsAfter = (await host.keystroke())?.items ?? 0;
    return {
      total: Number(progress[2]),
      doneAtCancel: Number(progress[1]),
      stopMs: stoppedAt - cancelled,
      learnedFiles: stats.files,
      suggestionsAfter,
      statusAfter: item.text,
    };
  } finally {
    host.dispose();
  }
}

// --- the parent: repeats, aggregates, prints ---------------------------------------------------

/** Runs this file again with `args` in a fresh process; resolves with the JSON its last line holds. */
function runChild<T>(args: readonly string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [__filename, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const last = output.trim().split('\n').pop() ?? '';
      if (code !== 0) reject(new Error(`A bench run exited with code ${code}:\n${output}`));
      else resolve(JSON.parse(last) as T);
    });
  });
}

function formatTable(rows: string[][]): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  ')).join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const option = (name: string) => {
    const index = args.indexOf(name);
    return index >= 0 ? args[index + 1] : undefined;
  };
  const workloads = (option('--workloads') ?? WORKLOADS.map((workload) => workload.name).join(',')).split(',').filter(Boolean);
  const unknown = workloads.filter((name) => !WORKLOADS.some((workload) => workload.name === name));
  if (unknown.length > 0 || !workloads.includes('index-rxjs')) {
    throw new Error(`--workloads must include index-rxjs and name only ${WORKLOADS.map((workload) => workload.name).join(', ')}; got ${workloads.join(',')}.`);
  }
  if (args.includes('--child')) {
    process.stdout.write(`${JSON.stringify(await runOnce(workloads))}\n`);
    return;
  }
  const loadChild = option('--child-load');
  if (loadChild !== undefined) {
    const dir = option('--dir') ?? '';
    process.stdout.write(`${JSON.stringify(loadChild === 'cancel' ? await runLoadCancel(dir) : await runLoadIndex(dir))}\n`);
    return;
  }
  const repeats = Number(option('--repeats') ?? 3);
  if (!args.includes('--load-only')) await rxjsBench(workloads, repeats);
  if (!args.includes('--no-load')) await loadBench(Number(option('--load-repeats') ?? 1));
}

/** The typing script on rxjs after the workloads, `repeats` times; prints the table and the JSON. */
async function rxjsBench(workloads: readonly string[], repeats: number): Promise<void> {
  const runs: RunResult[] = [];
  for (let repeat = 0; repeat < repeats; repeat++) {
    process.stderr.write(`host bench: run ${repeat + 1}/${repeats}\n`);
    runs.push(await runChild<RunResult>(['--child', '--workloads', workloads.join(',')]));
  }
  const completion = runs.map((run) => distribution(run.completionMs));
  const ghost = runs.map((run) => distribution(run.ghostMs));
  const training = runs.filter((run) => run.duringTrainingMs.length > 0).map((run) => distribution(run.duringTrainingMs));
  const lagNames = Object.keys(runs[0].lag);
  const summary = {
    repeats,
    typedFiles: runs[0].typedFiles,
    indexedFiles: runs[0].indexedFiles,
    completionMs: { p50: median(completion.map((d) => d.p50)), p95: median(completion.map((d) => d.p95)), p99: median(completion.map((d) => d.p99)), max: Math.max(...completion.map((d) => d.max)), samplesPerRun: completion[0].samples },
    ghostTextMs: { p50: median(ghost.map((d) => d.p50)), p95: median(ghost.map((d) => d.p95)), max: Math.max(...ghost.map((d) => d.max)), samplesPerRun: ghost[0].samples },
    duringTrainingMs: training.length === 0
      ? undefined
      : { p50: median(training.map((d) => d.p50)), p95: median(training.map((d) => d.p95)), max: Math.max(...training.map((d) => d.max)), samplesPerRun: training[0].samples },
    suggestionsShownShare: median(runs.map((run) => run.suggestionsShown / run.completionMs.length)),
    ghostShownShare: median(runs.map((run) => run.ghostShown / run.ghostMs.length)),
    lagMs: Object.fromEntries(lagNames.map((name) => [name, { p50: median(runs.map((run) => run.lag[name].p50)), p99: median(runs.map((run) => run.lag[name].p99)), max: Math.max(...runs.map((run) => run.lag[name].max)), seconds: median(runs.map((run) => run.lag[name].seconds)) }])),
    memoryMb: { baselineRss: median(runs.map((run) => run.baselineRssMb)), peakRss: Math.max(...runs.map((run) => run.peakRssMb)), peakRssMedian: median(runs.map((run) => run.peakRssMb)), model: median(runs.map((run) => run.modelMb)) },
    targets: TARGETS,
  };
  const fixed = (value: number, digits = 2) => value.toFixed(digits);
  const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const heavyLag = Math.max(...WORKLOADS.filter((workload) => workloads.includes(workload.name)).map((workload) => summary.lagMs[workload.name].p99));
  const rows = [
    ['measure', 'p50', 'p95 / p99', 'max', 'target', ''],
    ['suggest list: request to items (ms)', fixed(summary.completionMs.p50), `p95 ${fixed(summary.completionMs.p95)}`, fixed(summary.completionMs.max), `p95 <= ${TARGETS.completionP95Ms}`, verdict(summary.completionMs.p95 <= TARGETS.completionP95Ms)],
    ['ghost text, debounce 0 (ms)', fixed(summary.ghostTextMs.p50), `p95 ${fixed(summary.ghostTextMs.p95)}`, fixed(summary.ghostTextMs.max), '', ''],
    ...(summary.duringTrainingMs === undefined
      ? []
      : [['worker answers a completion during meta-training (ms)', fixed(summary.duringTrainingMs.p50), `p95 ${fixed(summary.duringTrainingMs.p95)}`, fixed(summary.duringTrainingMs.max), '', '']]),
    ...lagNames.map((name) => [
      `event-loop lag: ${name} (ms, ${fixed(summary.lagMs[name].seconds, 1)} s)`,
      fixed(summary.lagMs[name].p50), `p99 ${fixed(summary.lagMs[name].p99)}`, fixed(summary.lagMs[name].max),
      WORKLOADS.some((workload) => workload.name === name) ? `p99 <= ${TARGETS.lagP99Ms}` : '', WORKLOADS.some((workload) => workload.name === name) ? verdict(summary.lagMs[name].p99 <= TARGETS.lagP99Ms) : '',
    ]),
    ['peak RSS, host process + worker (MB)', fixed(summary.memoryMb.peakRssMedian, 0), '', fixed(summary.memoryMb.peakRss, 0), `<= ${TARGETS.peakRssMb}`, verdict(summary.memoryMb.peakRss <= TARGETS.peakRssMb)],
    ['  of which before the worker started (MB)', fixed(summary.memoryMb.baselineRss, 0), '', '', '', ''],
  ];
  process.stdout.write(`MetaComplete host bench: rxjs/src, ${summary.indexedFiles} files indexed, ${summary.typedFiles} held-out files typed (${TYPED_CHARACTERS} characters each), median over ${repeats} runs\n\n`);
  process.stdout.write(`${formatTable(rows)}\n\n`);
  process.stdout.write(`suggest list non-empty at ${fixed(summary.suggestionsShownShare * 100, 0)} % of keystrokes, ghost text at ${fixed(summary.ghostShownShare * 100, 0)} %; worst workload lag p99 ${fixed(heavyLag)} ms\n\n`);
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}

/** The load workload: `repeats` full indexes of the 10,000-file workspace, then one cancelled start-up index; prints the table and the JSON. */
async function loadBench(repeats: number): Promise<void> {
  const workspace = loadWorkspace();
  const runs: LoadIndexResult[] = [];
  for (let repeat = 0; repeat < repeats; repeat++) {
    process.stderr.write(`host bench: load run ${repeat + 1}/${repeats} (${workspace.files} files in ${workspace.dir})\n`);
    runs.push(await runChild<LoadIndexResult>(['--child-load', 'index', '--dir', workspace.dir]));
  }
  process.stderr.write('host bench: load run, cancelled\n');
  const cancel = await runChild<LoadCancelResult>(['--child-load', 'cancel', '--dir', workspace.dir]);
  const suggest = runs.map((run) => distribution(run.suggestMs));
  const summary = {
    repeats,
    workspace,
    indexSeconds: median(runs.map((run) => run.indexSeconds)),
    learnedFiles: median(runs.map((run) => run.learnedFiles)),
    tokens: median(runs.map((run) => run.tokens)),
    suggestWhileIndexingMs: { p50: median(suggest.map((d) => d.p50)), p95: median(suggest.map((d) => d.p95)), max: Math.max(...suggest.map((d) => d.max)), samplesPerRun: suggest[0].samples },
    suggestionsShownShare: median(runs.map((run) => run.suggestionsShown / Math.max(1, run.suggestMs.length))),
    lagWhileIndexingMs: { p50: median(runs.map((run) => run.lag.p50)), p99: median(runs.map((run) => run.lag.p99)), max: Math.max(...runs.map((run) => run.lag.max)) },
    memoryMb: {
      baselineRss: median(runs.map((run) => run.baselineRssMb)),
      indexingPeakRssMedian: median(runs.map((run) => run.indexingPeakRssMb)),
      statsPeakRssMedian: median(runs.map((run) => run.statsPeakRssMb)),
      peakRss: Math.max(...runs.map((run) => run.peakRssMb)),
      peakRssMedian: median(runs.map((run) => run.peakRssMb)),
    },
    training: { settings: LOAD_TRAINING, runs: runs.map((run) => run.training) },
    cancel,
    targets: LOAD_TARGETS,
  };
  const fixed = (value: number, digits = 2) => value.toFixed(digits);
  const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const rows = [
    ['measure', 'p50', 'p95 / p99', 'max', 'target', ''],
    [`time to index ${workspace.files} files (s)`, fixed(summary.indexSeconds, 1), '', '', '', ''],
    ['suggest list while indexing: request to items (ms)', fixed(summary.suggestWhileIndexingMs.p50), `p95 ${fixed(summary.suggestWhileIndexingMs.p95)}`, fixed(summary.suggestWhileIndexingMs.max), `p95 <= ${LOAD_TARGETS.suggestP95Ms}`, verdict(summary.suggestWhileIndexingMs.p95 <= LOAD_TARGETS.suggestP95Ms)],
    ['event-loop lag while indexing (ms)', fixed(summary.lagWhileIndexingMs.p50), `p99 ${fixed(summary.lagWhileIndexingMs.p99)}`, fixed(summary.lagWhileIndexingMs.max), `p99 <= ${LOAD_TARGETS.lagP99Ms}`, verdict(summary.lagWhileIndexingMs.p99 <= LOAD_TARGETS.lagP99Ms)],
    ['peak RSS, whole process: host, worker, training thread (MB)', fixed(summary.memoryMb.peakRssMedian, 0), '', fixed(summary.memoryMb.peakRss, 0), `<= ${LOAD_TARGETS.peakRssMb}`, verdict(summary.memoryMb.peakRss <= LOAD_TARGETS.peakRssMb)],
    ['  until the index was complete (MB)', fixed(summary.memoryMb.indexingPeakRssMedian, 0), '', '', `<= ${LOAD_TARGETS.peakRssMb}`, verdict(summary.memoryMb.indexingPeakRssMedian <= LOAD_TARGETS.peakRssMb)],
    ['  then reading the stats: task-graph communities (MB)', fixed(summary.memoryMb.statsPeakRssMedian, 0), '', '', '', ''],
    ['  before the worker started (MB)', fixed(summary.memoryMb.baselineRss, 0), '', '', '', ''],
    ['Cancel Indexing: click to end of run (ms)', fixed(cancel.stopMs, 0), '', '', '', ''],
  ];
  const mb = (bytes: number) => fixed(bytes / 2 ** 20, 1);
  process.stdout.write(
    `\nMetaComplete host bench, load: ${workspace.files} files (${workspace.uniqueFiles} distinct, ${mb(workspace.bytes)} MB) of installed packages' sources, ` +
      `${summary.learnedFiles} learned (${summary.tokens} tokens), a keystroke every ${LOAD_KEYSTROKE_MS} ms while indexing, median over ${repeats} runs\n\n`,
  );
  process.stdout.write(`${formatTable(rows)}\n\n`);
  process.stdout.write(
    `suggest list non-empty at ${fixed(summary.suggestionsShownShare * 100, 0)} % of keystrokes while indexing; start-up index cancelled at ${cancel.doneAtCancel}/${cancel.total} files: ` +
      `stopped in ${fixed(cancel.stopMs, 0)} ms with ${cancel.learnedFiles} files learned, suggest list then ${cancel.suggestionsAfter > 0 ? `answered (${cancel.suggestionsAfter} items)` : 'EMPTY'}, status "${cancel.statusAfter}"\n` +
      `meta-training after indexing (Meta-SGD, ${JSON.stringify(LOAD_TRAINING.overrides)}): ${runs.map((run) => `${run.training.ended}, ${fixed(run.training.seconds, 0)} s`).join('; ')}\n\n`,
  );
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`host bench failed: ${error.message}\n`);
  process.exitCode = 1;
});

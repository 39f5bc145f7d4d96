import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { measureCountingThroughput, measurePredictLatency } from '../core/eval/bench';
import { evaluate } from '../core/eval/evaluate';
import type { EvaluationModel, EvaluationOptions, EvaluationResult, EvaluationSetting } from '../core/eval/evaluate';
import { initBackend } from '../core/backend/backend';
import { CompletionEngine } from '../core/engine/completionEngine';
import { benchmarkGraphBuild } from '../core/graph/benchmark';
import { benchmarkLstm } from '../core/neural/benchmark';
import { TaskGraph } from '../core/graph/taskGraph';
import { loadCorpus } from '../core/text/corpus';
import type { CorpusFile } from '../core/text/corpus';
import { adaptAt } from '../core/experiment/adapt';
import { classIndexOf, fileClassIds, supportLength } from '../core/experiment/classes';
import { DEFAULT_FEWSHOT_OPTIONS, runFewShot } from '../core/experiment/fewshot';
import { evaluateMixture } from '../core/experiment/mixtureEval';
import { disposeTrainedModel } from '../core/experiment/model';
import { trainModel } from '../core/experiment/pipeline';
import { DEFAULT_TRAIN_SETTINGS, taskShape } from '../core/experiment/train';
import { QUICK_SETTINGS } from './fewshotCommand';
import { DEFAULT_LEARNER } from './trainCommand';
import { parseCommandLine, UsageError } from './usage';

export const benchChildKinds = ['eval', 'counting', 'predict', 'memory-baseline', 'memory-engine', 'memory-eval', 'graph-rxjs', 'graph-10k', 'lstm', 'meta', 'fewshot'] as const;
export type BenchChildKind = (typeof benchChildKinds)[number];

interface Table {
  title: string;
  header: string[];
  rows: string[][];
}

const MB = 1024 * 1024;

/** rxjs 7.8.1's TypeScript sources, the protocol's benchmark corpus (a pinned devDependency). */
export function rxjsSourceRoot(): string {
  try {
    return join(dirname(require.resolve('rxjs/package.json')), 'src');
  } catch {
    throw new Error('rxjs is not installed; run `npm install` in the MetaComplete folder (it is a devDependency).');
  }
}

function loadRxjs(): CorpusFile[] {
  return loadCorpus(rxjsSourceRoot(), { extensions: ['.ts'] }).files;
}

function peakRssMB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** `metacomplete bench-child <kind>`: one measurement, printed as JSON on stdout. */
export async function runBenchChildCommand(argv: readonly string[]): Promise<number> {
  const { positionals, values } = parseCommandLine(argv, { quick: { type: 'boolean' } });
  const kind = positionals[0] as BenchChildKind;
  if (!benchChildKinds.includes(kind)) throw new UsageError(`bench-child takes one of ${benchChildKinds.join(', ')}`);
  const result = await measure(kind, values.quick === true);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return 0;
}

async function measure(kind: BenchChildKind, quick: boolean): Promise<unknown> {
  switch (kind) {
    case 'eval':
      return measureEvaluation();
    case 'counting':
      return measureCounting(loadRxjs(), quick);
    case 'predict':
      return measurePrediction(loadRxjs());
    case 'memory-baseline':
    case 'memory-engine':
    case 'memory-eval':
      return measureMemory(kind);
    case 'graph-rxjs':
      return measureGraphRxjs();
    case 'graph-10k':
      return measureGraph10k();
    case 'lstm':
      return measureLstm(quick);
    case 'meta':
      return measureMetaTraining(quick);
    case 'fewshot':
      return measureFewShot(quick);
  }
}

async function startWasm(): Promise<string> {
  // The bundled CLI finds the wasm binaries that the build copies to dist/wasm.
  const backend = await initBackend({ wasmDir: join(__dirname, 'wasm'), log: (message) => process.stderr.write(`${message}\n`) });
  return backend.name;
}

/**
 * A full meta-training run as `metacomplete train` does it (the default
 * learner on rxjs's TRAIN files: pre-training, meta-training, rates and gate
 * chosen on held-out files), then the mixture scored under the protocol
 * beside the graph-nested n-gram in the same process, then the time to
 * adapt the model to one file (k = 5) on each TEST file.
 */
async function measureMetaTraining(quick: boolean): Promise<unknown> {
  const backend = await startWasm();
  const files = loadRxjs();
  const settings = { ...DEFAULT_TRAIN_SETTINGS, ...(quick ? QUICK_SETTINGS : {}) };
  const phases: Record<string, number> = {};
  let phaseStart = performance.now();
  let phase = 'preparing';
  const started = performance.now();
  const trained = await trainModel(files.filter((file) => file.split === 'train'), { ...DEFAULT_FEWSHOT_OPTIONS, settings, learner: DEFAULT_LEARNER }, (event) => {
    if (event.type === 'training-state' && event.phase !== phase) {
      phases[phase] = (phases[phase] ?? 0) + performance.now() - phaseStart;
      phase = event.phase;
      phaseStart = performance.now();
    }
  });
  phases[phase] = (phases[phase] ?? 0) + performance.now() - phaseStart;
  const trainMs = performance.now() - started;
  const model = trained.model;
  if (model === undefined) throw new Error('meta-training was cancelled');
  try {
    // Every figure leak-free, plus MRR ranked as SLP-Core's batch mode ranks (`slpBatch`), which its published MRR is.
    const mixture = evaluateMixture(files, model, { slpBatchMrr: true });
    const ngram = evaluate(files, { model: 'graph-nested', setting: 'project', slpBatchMrr: true });
    const slpSetUp = evaluate(files, { ...slpCoreConfiguration, model: 'nested', setting: 'project', slpBatchMrr: true });
    const adaptMs: number[] = [];
    const classIndex = classIndexOf(model.classTokens);
    for (const file of files.filter((f) => f.split === 'test' && f.tokens.length > 1)) {
      const ids = fileClassIds(file.tokens, classIndex);
      const support = supportLength(ids.length, settings.supportFraction, settings.maxSupportTokens);
      const t0 = performance.now();
      adaptAt(model, ids, support, [5], { innerLr: model.hyper.innerLr, adapterLr: settings.adapterLr, innerClip: settings.innerClip, shape: taskShape(settings) }, () => undefined);
      adaptMs.push(performance.now() - t0);
    }
    const sorted = [...adaptMs].sort((a, b) => a - b);
    return {
      backend,
      learner: model.learner,
      settings,
      trainMs,
      phasesMs: phases,
      outerSteps: trained.metaLosses.length,
      metaLosses: trained.metaLosses,
      mixture,
      graphNested: figuresOf(ngram),
      slpCoreSetUp: figuresOf(slpSetUp),
      adapt: { files: adaptMs.length, medianMs: median(adaptMs), p95Ms: sorted[Math.floor(0.95 * (sorted.length - 1))], maxMs: sorted[sorted.length - 1] },
      peakRssMB: peakRssMB(),
    };
  } finally {
    disposeTrainedModel(model);
  }
}

/** An evaluation's headline figures, beside the mixture's. */
function figuresOf(result: EvaluationResult): Pick<EvaluationResult, 'entropy' | 'mrr' | 'top1' | 'tokens' | 'slpBatch'> {
  return { entropy: result.entropy, mrr: result.mrr, top1: result.top1, tokens: result.tokens, slpBatch: result.slpBatch };
}

/** The few-shot table (learners × k) of the engine issue on rxjs. */
async function measureFewShot(quick: boolean): Promise<unknown> {
  const backend = await startWasm();
  const settings = { ...DEFAULT_TRAIN_SETTINGS, ...(quick ? QUICK_SETTINGS : {}) };
  const result = await runFewShot(loadRxjs(), { ...DEFAULT_FEWSHOT_OPTIONS, settings, log: (line) => process.stderr.write(`fewshot: ${line}\n`) });
  return { backend, ...result, peakRssMB: peakRssMB() };
}

/** SLP-Core v0.3's set-up (JM λ = 0.5 at every level, confidence mixing): reproduces its anchors on our code. */
const slpCoreConfiguration: Partial<EvaluationOptions> = {
  smoothing: 'jm',
  ngram: { jmLambda: 0.5 },
  cache: { smoothing: 'jm', jmLambda: 0.5 },
  mixing: 'confidence',
};

function measureEvaluation(): unknown {
  const files = loadRxjs();
  const runs: { model: EvaluationModel; setting: EvaluationSetting; configuration: string; options: Partial<EvaluationOptions> }[] = [];
  for (const setting of ['static', 'cache', 'project'] as const) {
    for (const model of ['ngram', 'cache', 'nested', 'graph-nested'] as const) {
      if (setting === 'static' && model !== 'ngram' && model !== 'nested' && model !== 'graph-nested') continue;
      for (const smoothing of ['jm', 'mkn'] as const) runs.push({ model, setting, configuration: smoothing, options: { smoothing } });
    }
  }
  for (const [model, setting] of [['ngram', 'static'], ['cache', 'cache'], ['nested', 'project']] as const) {
    runs.push({ model, setting, configuration: 'SLP-Core set-up', options: slpCoreConfiguration });
  }
  const results = runs.map((run) => ({ configuration: run.configuration, ...evaluate(files, { ...run.options, model: run.model, setting: run.setting }) }));
  // A run of its own, so that `ms` stays the time of the leak-free evaluation alone.
  const slpBatch = runs.map((run) =>
    run.setting === 'static'
      ? undefined
      : evaluate(files, { ...run.options, model: run.model, setting: run.setting, slpBatchMrr: true }).slpBatch,
  );
  const rows = results.map((result, i) => [
    result.setting,
    result.model,
    result.configuration,
    result.entropy.toFixed(3),
    result.mrr.toFixed(3),
    result.top1.toFixed(3),
    result.identifiers.entropy.toFixed(3),
    result.identifiers.mrr.toFixed(3),
    slpBatch[i]?.mrr.toFixed(3) ?? '—',
    slpBatch[i]?.top1.toFixed(3) ?? '—',
    Math.round(result.ms).toString(),
  ]);
  const table: Table = {
    title:
      'Entropy (bits/token) and MRR on rxjs TEST files; SLP-Core (JM-6): static 3.253/0.671, cache 2.695/0.789, nested+cache 2.658/0.809. ' +
      'SLP-batch: MRR and top-1 ranked as SLP-Core batch mode does, with a cache that has read the whole test file (leaky; for comparison with its MRR only)',
    header: ['setting', 'model', 'project smoothing', 'entropy', 'MRR', 'top-1', 'ident. entropy', 'ident. MRR', 'SLP-batch MRR', 'SLP-batch top-1', 'ms'],
    rows,
  };
  return { table, results: results.map((result, i) => ({ ...result, slpBatch: slpBatch[i] })) };
}

function measureCounting(files: CorpusFile[], quick: boolean): unknown {
  return { ...measureCountingThroughput(files, { repeats: quick ? 3 : 7 }), peakRssMB: peakRssMB() };
}

/** Graph-nested prediction latency beside directory nesting, in the same run. */
function measurePrediction(files: CorpusFile[]): unknown {
  return {
    graph: measurePredictLatency(files, { locality: 'graph' }),
    directory: measurePredictLatency(files, { locality: 'directory' }),
    peakRssMB: peakRssMB(),
  };
}

/**
 * Peak RSS of one workload per process: the corpus alone (baseline); the
 * completion engine (graph-nested model and task graph) holding rxjs and
 * answering completions every 50 characters through its TEST files, as the
 * extension's worker does; and the project-setting evaluation, which also
 * rebuilds the graph around each held-out file.
 */
function measureMemory(kind: 'memory-baseline' | 'memory-engine' | 'memory-eval'): unknown {
  const root = rxjsSourceRoot();
  const files = loadRxjs();
  if (kind === 'memory-engine') {
    const engine = new CompletionEngine();
    for (const file of files) engine.updateFile(file.relPath, readFileSync(join(root, file.relPath)));
    for (const file of files.filter((candidate) => candidate.split === 'test')) {
      const text = readFileSync(join(root, file.relPath), 'utf8');
      for (let end = 50; end < text.length; end += 50) engine.complete(file.relPath, text.slice(0, end), 10);
    }
  } else if (kind === 'memory-eval') {
    evaluate(files, { model: 'graph-nested', setting: 'project', mixing: 'confidence' });
  }
  const workloads = {
    'memory-baseline': 'rxjs corpus loaded, no model',
    'memory-engine': 'completion engine: graph-nested model + task graph, completing',
    'memory-eval': 'eval graph-nested, project setting (confidence mixing)',
  };
  return { workload: workloads[kind], peakRssMB: peakRssMB() };
}

function measureGraphRxjs(): unknown {
  const files = loadRxjs().map((file) => ({ path: file.relPath, tokens: file.tokens }));
  const repeats = 5;
  const lsh: number[] = [];
  const exhaustive: number[] = [];
  let last;
  for (let repeat = 0; repeat < repeats; repeat++) {
    // exhaustiveUpTo: 0 forces the LSH path even on a small corpus, so both are timed on the same files.
    last = benchmarkGraphBuild(files, { exhaustiveUpTo: 0 });
    lsh.push(last.totalMs);
    exhaustive.push(benchmarkGraphBuild(files, { exhaustiveUpTo: Number.POSITIVE_INFINITY }).totalMs);
  }
  const graph = TaskGraph.build(files, { exhaustiveUpTo: 0 });
  const exact = TaskGraph.build(files, { exhaustiveUpTo: Number.POSITIVE_INFINITY });
  let found = 0;
  let wanted = 0;
  for (const file of files) {
    const exactPaths = new Set(exact.neighbours(file.path).map((neighbour) => neighbour.path));
    wanted += exactPaths.size;
    for (const neighbour of graph.neighbours(file.path)) if (exactPaths.has(neighbour.path)) found++;
  }
  return {
    files: files.length,
    edges: last?.edges,
    communities: last?.communities,
    lshBuildMsMedian: median(lsh),
    bruteForceBuildMsMedian: median(exhaustive),
    recallVsBruteForce: wanted === 0 ? 1 : found / wanted,
    peakRssMB: peakRssMB(),
  };
}

/** 10,000 real files: rxjs's sources and its compiled JavaScript, repeated under other names. */
function measureGraph10k(): unknown {
  const packageRoot = dirname(require.resolve('rxjs/package.json'));
  const real = loadCorpus(packageRoot, { extensions: ['.ts', '.js'] }).files;
  const target = 10_000;
  const files: { path: string; tokens: readonly string[] }[] = [];
  for (let i = 0; i < target; i++) {
    const file = real[i % real.length];
    files.push({ path: `copy${Math.floor(i / real.length)}/${file.relPath}`, tokens: file.tokens });
  }
  const tokens = files.reduce((sum, file) => sum + file.tokens.length, 0);
  const before = process.memoryUsage().rss / MB;
  const result = benchmarkGraphBuild(files);
  return {
    files: result.files,
    distinctRealFiles: real.length,
    tokens,
    edges: result.edges,
    communities: result.communities,
    buildMs: result.buildMs,
    communityMs: result.communityMs,
    totalMs: result.totalMs,
    rssBeforeBuildMB: before,
    rssAfterBuildMB: result.rssMB,
    peakRssMB: result.peakRssMB,
  };
}

/** LSTM training throughput beside the matMul roofline, both measured here on the active backend. */
async function measureLstm(quick: boolean): Promise<unknown> {
  // The bundled CLI finds the wasm binaries that the build copies to dist/wasm.
  const backend = await initBackend({ wasmDir: join(__dirname, 'wasm'), log: (message) => process.stderr.write(`${message}\n`) });
  const result = await benchmarkLstm({ repeats: quick ? 3 : 7 });
  return { ...result, backend: backend.name, backendReason: backend.reason, peakRssMB: peakRssMB() };
}

import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D } from '@tensorflow/tfjs-core';
import { makeBatches } from './batches';
import type { LmBatch } from './batches';
import { disposeParams, disposeState, initLstmParams } from './lstm';
import type { LstmConfig, LstmParams, LstmState } from './lstm';
import { SeededRandom } from './random';
import { AdamOptimizer, SgdOptimizer, trainStep } from './train';
import type { MapOptimizer } from './train';

export interface LstmBenchmarkOptions {
  /** Model shape; defaults to vocab 4001, embed 128, hidden 256, 1 layer. */
  config?: Partial<LstmConfig>;
  batchSize?: number;
  timeSteps?: number;
  optimizer?: 'adam' | 'sgd';
  /** Timed repeats; each figure is the median over them. */
  repeats?: number;
  /** Training steps per timed repeat. */
  stepsPerRepeat?: number;
  /** Untimed steps first (weight packing caches, heap growth). */
  warmupSteps?: number;
  /** Also run one training step under tf.profile and report the slowest kernels. */
  profile?: boolean;
  /** Progress sink. */
  log?: (message: string) => void;
}

export interface KernelTime {
  name: string;
  calls: number;
  totalMs: number;
}

/** Throughput figures from one clock. */
export interface ThroughputFigures {
  /** One [1024,256] x [256,2000] matMul with fresh operands, as in training: the roofline. */
  matMulGflops: number;
  matMulMs: number;
  msPerStep: number;
  trainTokensPerSecond: number;
  /** 3 x forward matMul FLOPs per token x tokens per second. */
  effectiveGflops: number;
  /** effectiveGflops / matMulGflops. */
  rooflineFraction: number;
}

export interface LstmBenchmarkResult extends ThroughputFigures {
  backend: string;
  config: LstmConfig;
  batchSize: number;
  timeSteps: number;
  /** Forward matMul FLOPs per token; training counts 3x that. */
  forwardFlopsPerToken: number;
  repeats: number;
  /**
   * The same figures in process CPU time: what a quiet machine would show
   * when other processes share the cores (the top-level figures are wall-clock).
   */
  cpuTime: ThroughputFigures;
  /** Slowest kernels of one profiled step, when `profile` was set. */
  kernels?: KernelTime[];
}

/**
 * Training throughput of the LSTM against the matMul roofline on the current
 * backend (call initBackend first). Timings exclude reading results back,
 * which training never does, except for the loss scalar of each step; on
 * wasm every kernel is synchronous, so a returned op has finished.
 */
export async function benchmarkLstm(options: LstmBenchmarkOptions = {}): Promise<LstmBenchmarkResult> {
  const config: LstmConfig = {
    vocabSize: 4001,
    embeddingSize: 128,
    hiddenSize: 256,
    layers: 1,
    ...options.config,
  };
  const batchSize = options.batchSize ?? 32;
  const timeSteps = options.timeSteps ?? 32;
  const repeats = options.repeats ?? 5;
  const stepsPerRepeat = options.stepsPerRepeat ?? 3;
  const warmupSteps = options.warmupSteps ?? 4;
  const log = options.log ?? (() => undefined);

  timeMatMul(); // first call grows the heap
  const random = new SeededRandom(7);
  // Zipf-like ids so that the softmax sees a realistic spread of classes.
  const tokenCount = batchSize * timeSteps * (warmupSteps + repeats * stepsPerRepeat + 2) + 1;
  const stream = Int32Array.from({ length: tokenCount }, () =>
    Math.min(config.vocabSize - 1, Math.floor(Math.exp(random.next() * Math.log(config.vocabSize)))),
  );
  const batches = makeBatches(stream, { batchSize, timeSteps });
  const optimizer: MapOptimizer =
    options.optimizer === 'sgd' ? new SgdOptimizer(0.5) : new AdamOptimizer({ learningRate: 1e-3 });
  let params: LstmParams = initLstmParams(config, 1);
  let state: LstmState | undefined;
  let cursor = 0;
  const step = (): void => {
    const batch: LmBatch = batches[cursor++ % batches.length];
    const result = trainStep(params, batch, optimizer, { state });
    disposeParams(params);
    disposeState(state);
    params = result.params;
    state = result.state;
  };

  try {
    for (let i = 0; i < warmupSteps; i++) step();
    // Roofline and training are timed in alternation, so that a busy machine
    // slows both alike and their ratio stays meaningful.
    const wall = { matMul: [] as number[], step: [] as number[] };
    const cpu = { matMul: [] as number[], step: [] as number[] };
    for (let r = 0; r < repeats; r++) {
      const matMuls = [timeMatMul(), timeMatMul(), timeMatMul()];
      wall.matMul.push(medianOf(matMuls.map((time) => time.wallMs)));
      cpu.matMul.push(medianOf(matMuls.map((time) => time.cpuMs)));
      const steps = timed(() => {
        for (let i = 0; i < stepsPerRepeat; i++) step();
      });
      wall.step.push(steps.wallMs / stepsPerRepeat);
      cpu.step.push(steps.cpuMs / stepsPerRepeat);
      log(
        `repeat ${r + 1}/${repeats}: matMul ${wall.matMul[r].toFixed(1)} ms, ` +
          `training ${wall.step[r].toFixed(0)} ms per step (cpu ${cpu.step[r].toFixed(0)} ms)`,
      );
    }
    let kernels: KernelTime[] | undefined;
    if (options.profile) {
      const info = await tf.profile(() => step());
      const byName = new Map<string, KernelTime>();
      for (const kernel of info.kernels) {
        const entry = byName.get(kernel.name) ?? { name: kernel.name, calls: 0, totalMs: 0 };
        entry.calls++;
        entry.totalMs += typeof kernel.kernelTimeMs === 'number' ? kernel.kernelTimeMs : 0;
        byName.set(kernel.name, entry);
      }
      kernels = [...byName.values()].sort((a, b) => b.totalMs - a.totalMs).slice(0, 15);
    }
    const forwardFlopsPerToken = lstmForwardFlopsPerToken(config);
    const figures = (matMulTimes: number[], stepTimes: number[]): ThroughputFigures => {
      const matMulMs = medianOf(matMulTimes);
      const matMulGflops = (2 * 1024 * 256 * 2000) / (matMulMs * 1e6);
      const msPerStep = medianOf(stepTimes);
      const trainTokensPerSecond = (batchSize * timeSteps * 1000) / msPerStep;
      const effectiveGflops = (3 * forwardFlopsPerToken * trainTokensPerSecond) / 1e9;
      return {
        matMulGflops,
        matMulMs,
        msPerStep,
        trainTokensPerSecond,
        effectiveGflops,
        rooflineFraction: effectiveGflops / matMulGflops,
      };
    };
    return {
      backend: tf.getBackend(),
      config,
      batchSize,
      timeSteps,
      forwardFlopsPerToken,
      repeats,
      ...figures(wall.matMul, wall.step),
      cpuTime: figures(cpu.matMul, cpu.step),
      kernels,
    };
  } finally {
    disposeParams(params);
    disposeState(state);
    optimizer.dispose();
  }
}

/**
 * Multiply-add FLOPs (2 per multiply-add) of the matMuls of one token's
 * forward pass: input and recurrent projections of every layer, and the
 * output layer. Elementwise work is left out; backward is about twice this.
 */
export function lstmForwardFlopsPerToken(config: LstmConfig): number {
  const { embeddingSize, hiddenSize, vocabSize, layers } = config;
  let flops = 2 * hiddenSize * vocabSize;
  for (let layer = 0; layer < layers; layer++) {
    const inputSize = layer === 0 ? embeddingSize : hiddenSize;
    flops += 2 * (inputSize + hiddenSize) * 4 * hiddenSize;
  }
  return flops;
}

interface Timing {
  wallMs: number;
  /** User + system CPU time of this process. */
  cpuMs: number;
}

function timed(work: () => void): Timing {
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  work();
  const wallMs = performance.now() - start;
  const cpuUsed = process.cpuUsage(cpuStart);
  return { wallMs, cpuMs: (cpuUsed.user + cpuUsed.system) / 1000 };
}

/** One matMul with new operands, so that weight packing is included as in training. */
function timeMatMul(): Timing {
  const left = tf.randomUniform([1024, 256], -1, 1) as Tensor2D;
  const right = tf.randomUniform([256, 2000], -1, 1) as Tensor2D;
  let product: Tensor2D | undefined;
  const timing = timed(() => {
    product = tf.matMul<Tensor2D>(left, right);
  });
  tf.dispose([left, right, product as Tensor2D]);
  return timing;
}

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

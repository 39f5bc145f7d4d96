import * as tf from '@tensorflow/tfjs-core';
import type { Tensor3D } from '@tensorflow/tfjs-core';
import { adaptToSupport, lstmForward } from '../core/experiment/adapt';
import type { ForwardFn } from '../core/experiment/adapt';
import { classIndexOf } from '../core/experiment/classes';
import type { TrainedModel } from '../core/experiment/model';
import { taskShape } from '../core/experiment/train';
import { DEFAULT_TRAIN_SETTINGS, SUPPORT_NEIGHBOURS } from '../core/experiment/train';
import { LogisticGate } from '../core/mix/gate';
import { classMapOf, UnkHandOver } from '../core/mix/unkHandOver';
import type { ClassMap } from '../core/mix/unkHandOver';
import { makeBatches, UNK_CLASS } from '../core/neural/batches';
import type { LmBatch } from '../core/neural/batches';
import { disposeState } from '../core/neural/lstm';
import type { LstmState, ParamMap } from '../core/neural/lstm';
import { adaptMetaNetworkToSupport } from '../core/meta/metaNetwork';
import { DynamicEvaluator } from '../core/meta/online';
import { cloneParams, disposeMap, meanLoss } from '../core/meta/paramMaps';
import type { ContinuationMixer } from '../core/engine/completionEngine';
import type { TokenDistribution } from '../core/ngram/tokenModel';
import type { Vocabulary } from '../core/text/vocabulary';
import type { AdaptResult } from '../protocol/engineProtocol';
import type { TrainingEvent } from '../protocol/trainingEvents';

/** Tokens of context the LSTM reads when it must start over in a file (an edit before the cursor). */
const CONTEXT_WINDOW = 256;
/** Files whose adapted model and LSTM state are kept; the least recently used goes first. */
const KEPT_FILES = 4;

interface FileState {
  /** The model this file's completions use: θ, or θ adapted to the file. */
  forward: ForwardFn;
  /** Online adaptation while typing (θ-adapting learners only). */
  evaluator: DynamicEvaluator | undefined;
  /** Class ids read into `state`, and the state after them. */
  read: number[];
  state: LstmState | undefined;
  /** The state before the last id read: typing that only changes the last token goes back to it. */
  stateBeforeLast: LstmState | undefined;
  /** Class distribution after the last id read. */
  probabilities: Float32Array | undefined;
  /** Ids read since the last dynamic-evaluation step. */
  pending: number[];
  release(): void;
}

/**
 * The trained model in the worker's completions: it reads the file being
 * edited token by token (keeping the LSTM state between keystrokes), adapts
 * to it online by dynamic evaluation, and mixes its distribution with the
 * n-gram's through the fitted gate. "Adapt to Current File" replaces a
 * file's model by one adapted k steps on its text.
 */
export class NeuralCompleter {
  private readonly classIndex: Map<string, number>;
  private readonly gate: LogisticGate | undefined;
  private classes: { map: ClassMap; vocabularySize: number } | undefined;
  private readonly files = new Map<string, FileState>();

  constructor(
    readonly model: TrainedModel,
    private readonly emit: (event: TrainingEvent) => void,
  ) {
    this.classIndex = classIndexOf(model.classTokens);
    this.gate = model.gate ? new LogisticGate(model.gate) : undefined;
  }

  /** The mixture at the cursor, or undefined at the very start of a file (the LSTM has no context there). */
  mix(path: string, tokens: readonly string[], ngram: TokenDistribution, vocabulary: Vocabulary): TokenDistribution | undefined {
    if (tokens.length === 0 || this.gate === undefined) return undefined;
    const file = this.fileState(path);
    const ids = tokens.map((token) => this.classIndex.get(token) ?? UNK_CLASS);
    this.readUpTo(path, file, ids);
    if (file.probabilities === undefined) return undefined;
    return this.mixWith(file.probabilities, ngram, vocabulary);
  }

  /**
   * The mixture for ghost text's beam search: at the cursor, then after each
   * hypothesis, whose LSTM states grow from their parents' in one batched
   * step per token. The file's own state (what the user typed) is read as
   * for `mix` and left as it is by the hypotheses.
   */
  continuation(path: string, tokens: readonly string[], vocabulary: Vocabulary): ContinuationMixer | undefined {
    if (tokens.length === 0 || this.gate === undefined) return undefined;
    const file = this.fileState(path);
    this.readUpTo(path, file, tokens.map((token) => this.classIndex.get(token) ?? UNK_CLASS));
    if (file.probabilities === undefined || file.state === undefined) return undefined;
    const vocab = this.model.classTokens.length;
    const mixWith = (probabilities: Float32Array, ngram: TokenDistribution) => this.mixWith(probabilities, ngram, vocabulary);
    const root = file.probabilities;
    // Row i of `states` is hypothesis i of the last step (the root's single row at first); the file's state is not ours to free.
    let states: LstmState = file.state;
    let owned = false;
    return {
      root: (ngram) => mixWith(root, ngram),
      expand: (hypotheses, ngrams) => {
        const parents = tf.tensor1d(Int32Array.from(hypotheses, (hypothesis) => hypothesis.parent), 'int32');
        const gathered: LstmState = { h: states.h.map((h) => tf.gather(h, parents)), c: states.c.map((c) => tf.gather(c, parents)) };
        parents.dispose();
        const inputs = Int32Array.from(hypotheses, (hypothesis) => this.classIndex.get(hypothesis.token) ?? UNK_CLASS);
        const out = file.forward(
          { batchSize: hypotheses.length, timeSteps: 1, inputs, targets: new Int32Array(inputs.length), mask: new Float32Array(inputs.length) },
          gathered,
        );
        disposeState(gathered);
        if (owned) disposeState(states);
        states = out.state;
        owned = true;
        const probabilities = classProbabilities(out.logits);
        return ngrams.map((ngram, i) => mixWith(probabilities.subarray(i * vocab, (i + 1) * vocab), ngram));
      },
      dispose: () => {
        if (owned) disposeState(states);
        owned = false;
      },
    };
  }

  /**
   * The gate's mixture of the LSTM's class distribution (its `<unk>` handed
   * over to the n-gram) and the n-gram's. The n-gram's probabilities are
   * memoised: the in-class mass and the ranking ask for the same tokens.
   */
  private mixWith(probabilities: Float32Array, ngram: TokenDistribution, vocabulary: Vocabulary): TokenDistribution | undefined {
    if (this.gate === undefined) return undefined;
    const classes = this.classMap(vocabulary);
    const memo = memoised(ngram);
    const neural = new UnkHandOver(probabilities, memo, classes, vocabulary, candidateInClassMass(memo, classes));
    return this.gate.mix(neural, memo, neural.summary);
  }

  /**
   * Adapts the model to one file by its learner's k-step rule; completions in
   * that file then use it. A model meta-trained on neighbour supports adapts
   * to `neighbours` (the tokens of the file's task-graph neighbours, most
   * similar first), as it learned to; any other model, or a file without
   * neighbours, adapts to the file's own text. The losses are the file's.
   */
  adapt(path: string, tokens: readonly string[], neighbours: readonly (readonly string[])[] = []): AdaptResult {
    const started = performance.now();
    const toIds = (list: readonly string[]): Int32Array => Int32Array.from(list.map((token) => this.classIndex.get(token) ?? UNK_CLASS));
    const ids = toIds(tokens);
    if (ids.length < 2) throw new Error('The file has too few tokens to adapt to; type some code first.');
    const k = this.model.hyper.innerSteps;
    const shape = taskShape(DEFAULT_TRAIN_SETTINGS);
    const streams = [makeBatches(ids, shape)];
    const neighbourIds =
      this.model.hyper.support === 'neighbours' ? neighbours.slice(0, SUPPORT_NEIGHBOURS).map(toIds).filter((list) => list.length >= 2) : [];
    // As in training: the support budget shared out among the neighbours, each from its start.
    const perNeighbour = Math.max(2, Math.floor(DEFAULT_TRAIN_SETTINGS.maxSupportTokens / Math.max(neighbourIds.length, 1)));
    const supports = neighbourIds.length > 0 ? neighbourIds.map((list) => list.subarray(0, perNeighbour)) : [ids];
    const adapterLr = Number(this.model.provenance.adapterLr ?? DEFAULT_TRAIN_SETTINGS.adapterLr);
    const lossBefore = meanLoss(this.model.params, streams).loss;
    let lossAfter = lossBefore;
    let adapted: FileState | undefined;
    adaptToSupport(
      this.model,
      supports,
      [k],
      { innerLr: this.model.hyper.innerLr, adapterLr, innerClip: DEFAULT_TRAIN_SETTINGS.innerClip, shape },
      (_k, run, params) => {
        lossAfter = batchesLoss(run, streams[0]);
        if (params !== undefined) adapted = this.newFileState({ start: cloneParams(params) });
      },
    );
    if (adapted === undefined) {
      // The Meta-Network adapts by a generated adapter: keep it as the file's model.
      const supportStreams = supports.map((list) => makeBatches(list, shape)).filter((stream) => stream.length > 0);
      const network = adaptMetaNetworkToSupport({ params: this.model.params, network: this.model.network as ParamMap }, supportStreams, { steps: k, lr: adapterLr });
      adapted = this.newFileState({ fixed: network.forward, release: () => network.dispose() });
    }
    this.files.get(path)?.release();
    this.files.delete(path);
    this.remember(path, adapted);
    return {
      learner: this.model.learner,
      k,
      tokens: ids.length,
      support: neighbourIds.length > 0 ? 'neighbours' : 'prefix',
      supportTokens: supports.reduce((sum, list) => sum + list.length, 0),
      lossBefore,
      lossAfter,
      milliseconds: Math.round(performance.now() - started),
    };
  }

  /** Forgets a file's adaptation (closed or deleted). */
  forget(path: string): void {
    this.files.get(path)?.release();
    this.files.delete(path);
  }

  dispose(): void {
    for (const file of this.files.values()) file.release();
    this.files.clear();
  }

  private fileState(path: string): FileState {
    let file = this.files.get(path);
    if (file === undefined) {
      file = this.newFileState({});
      this.remember(path, file);
    } else {
      // Most recently used last.
      this.files.delete(path);
      this.files.set(path, file);
    }
    return file;
  }

  /**
   * A file's model: `fixed` (the Meta-Network's adapted forward), or θ (or
   * `start`, an adapted copy the state then owns) under dynamic evaluation,
   * as the gate was fitted (see `withDynamicStart`).
   */
  private newFileState(from: { fixed?: ForwardFn; start?: ParamMap; release?: () => void }): FileState {
    const online = from.fixed === undefined;
    const evaluator = online
      ? new DynamicEvaluator(from.start ?? this.model.params, {
          lr: this.model.hyper.dynamicLr,
          decay: this.model.hyper.dynamicDecay,
          meanSquares: this.model.meanSquares,
        })
      : undefined;
    const fixed = from.fixed ?? lstmForward(this.model.params);
    const state: FileState = {
      forward: evaluator === undefined ? fixed : (batch, lstmState) => lstmForward(evaluator.currentParams())(batch, lstmState),
      evaluator,
      read: [],
      state: undefined,
      stateBeforeLast: undefined,
      probabilities: undefined,
      pending: [],
      release: () => {
        evaluator?.dispose();
        disposeMap(from.start);
        from.release?.();
        disposeState(state.state);
        disposeState(state.stateBeforeLast);
        state.state = undefined;
        state.stateBeforeLast = undefined;
      },
    };
    return state;
  }

  private remember(path: string, file: FileState): void {
    this.files.set(path, file);
    while (this.files.size > KEPT_FILES) {
      const [oldest, state] = this.files.entries().next().value as [string, FileState];
      state.release();
      this.files.delete(oldest);
    }
  }

  /** Brings the file's LSTM state up to `ids`: reads only what is new when the text grew, else starts over on a window. */
  private readUpTo(path: string, file: FileState, ids: readonly number[]): void {
    let common = 0;
    while (common < file.read.length && common < ids.length && file.read[common] === ids[common]) common++;
    if (common === file.read.length && file.state !== undefined) {
      // The text grew: read only what is new.
    } else if (common === file.read.length - 1 && ids.length > common && file.stateBeforeLast !== undefined) {
      // Typing changed the last token (a longer operator, a string being typed): go back one token.
      disposeState(file.state);
      file.state = file.stateBeforeLast;
      file.stateBeforeLast = undefined;
      file.read.pop();
      file.pending.pop();
    } else {
      disposeState(file.state);
      disposeState(file.stateBeforeLast);
      file.state = undefined;
      file.stateBeforeLast = undefined;
      file.read = ids.slice(0, Math.max(0, ids.length - CONTEXT_WINDOW));
      file.pending = [];
    }
    const fresh = ids.slice(file.read.length);
    if (fresh.length === 0) return;
    // All but the last new token, then the last: the state before it is kept for the next keystroke.
    if (fresh.length > 1) {
      const out = this.read(file, fresh.slice(0, -1), file.state);
      out.logits.dispose();
      disposeState(file.state);
      file.state = out.state;
    }
    const out = this.read(file, fresh.slice(-1), file.state);
    disposeState(file.stateBeforeLast);
    file.stateBeforeLast = file.state;
    file.state = out.state;
    file.probabilities = classProbabilities(out.logits);
    file.read.push(...fresh);
    this.learnOnline(path, file, fresh);
  }

  /** Runs the file's model over `ids` from `state` (left alone); the caller owns the result. */
  private read(file: FileState, ids: readonly number[], state: LstmState | undefined): { logits: Tensor3D; state: LstmState } {
    return file.forward(
      { batchSize: 1, timeSteps: ids.length, inputs: Int32Array.from(ids), targets: new Int32Array(ids.length), mask: new Float32Array(ids.length) },
      state,
    );
  }

  /** Dynamic evaluation: one RMS-normalised step per `dynamicSegment` new tokens, with its loss reported. */
  private learnOnline(path: string, file: FileState, fresh: readonly number[]): void {
    if (file.evaluator === undefined) return;
    file.pending.push(...fresh);
    // Checkpoints are validated on load; still, a segment below 1 would splice nothing and loop for ever.
    const segment = Math.max(1, Math.floor(this.model.hyper.dynamicSegment) || 1);
    while (file.pending.length >= segment) {
      const score = file.evaluator.observe(file.pending.splice(0, segment));
      if (score.tokens > 0) this.emit({ type: 'online-loss', task: path, tokens: score.tokens, loss: score.loss });
    }
  }

  private classMap(vocabulary: Vocabulary): ClassMap {
    if (this.classes?.vocabularySize === vocabulary.size) return this.classes.map;
    // Class tokens the workspace no longer has are interned with no counts, so every class maps to a token id.
    const ids = this.model.classTokens.map((token, c) => (c === UNK_CLASS ? -1 : vocabulary.intern(token)));
    const classOfToken = new Int32Array(vocabulary.size).fill(UNK_CLASS);
    ids.forEach((id, c) => {
      if (id >= 0) classOfToken[id] = c;
    });
    const map = classMapOf(classOfToken);
    this.classes = { map, vocabularySize: vocabulary.size };
    return map;
  }
}

/** The distribution with each token's probability computed once (a nested-model lookup is the costly part of mixing). */
function memoised(distribution: TokenDistribution): TokenDistribution {
  const known = new Map<number, number>();
  return {
    vocabularySize: distribution.vocabularySize,
    escapeProbability: distribution.escapeProbability,
    confidence: distribution.confidence,
    matchedOrder: distribution.matchedOrder,
    contextCount: distribution.contextCount,
    contextDistinct: distribution.contextDistinct,
    probability: (token) => {
      let p = known.get(token);
      if (p === undefined) {
        p = distribution.probability(token);
        known.set(token, p);
      }
      return p;
    },
    collectCandidates: (typedPrefix, limit, into) => distribution.collectCandidates(typedPrefix, limit, into),
  };
}

/**
 * The softmax of one time step's logits (`[rows, 1, classes]`, disposed
 * here), row after row, floored at 1e-30 so that no token's log-probability
 * is infinite (NaN becomes the floor too).
 */
function classProbabilities(logits: Tensor3D): Float32Array {
  const [rows, , classes] = logits.shape;
  const softmax = tf.tidy(() => tf.softmax(tf.reshape(logits, [rows, classes])));
  logits.dispose();
  const probabilities = softmax.dataSync() as Float32Array;
  softmax.dispose();
  for (let i = 0; i < probabilities.length; i++) if (!(probabilities[i] >= 1e-30)) probabilities[i] = 1e-30;
  return probabilities;
}

/** Mean loss of a forward function over one stream (state carried), nats per token. */
function batchesLoss(run: ForwardFn, batches: readonly LmBatch[]): number {
  let total = 0;
  let count = 0;
  let state: LstmState | undefined;
  for (const batch of batches) {
    const out = run(batch, state);
    disposeState(state);
    state = out.state;
    const vocab = out.logits.shape[2];
    const logits = out.logits.dataSync();
    out.logits.dispose();
    // Row r of the batch-major logits predicts targets[r].
    for (let r = 0; r < batch.mask.length; r++) {
      if (batch.mask[r] === 0) continue;
      let max = -Infinity;
      for (let c = 0; c < vocab; c++) max = Math.max(max, logits[r * vocab + c]);
      let sum = 0;
      for (let c = 0; c < vocab; c++) sum += Math.exp(logits[r * vocab + c] - max);
      total -= logits[r * vocab + batch.targets[r]] - max - Math.log(sum);
    }
    for (let i = 0; i < batch.mask.length; i++) count += batch.mask[i];
  }
  disposeState(state);
  return count === 0 ? 0 : total / count;
}

/**
 * n-gram candidates whose mass stands in for the whole in-class mass while
 * typing. 64 is what the n-gram keeps ranked per large context
 * (`RANKING_SIZE` in ngramModel.ts): more would rescan every successor of
 * those contexts on each keystroke, which the ghost-text profile showed
 * costing as much as everything else together.
 */
const MASS_CANDIDATES = 64;

/**
 * The n-gram's mass on tokens the LSTM has a class for, summed over the
 * n-gram's own most likely candidates instead of all 2,000 classes: summing
 * every class costs one nested-model lookup each, which dominated completion
 * time (the host bench's profile). The sum is a lower bound, so out-of-class
 * tokens get slightly less of p(<unk>) than exact normalisation would give;
 * rankings barely move. Evaluation (`eval --model mixture`, `fewshot`) keeps
 * the exact sum.
 */
function candidateInClassMass(ngram: TokenDistribution, classes: ClassMap): number {
  const candidates = new Set<number>();
  ngram.collectCandidates('', MASS_CANDIDATES, candidates);
  let mass = 0;
  for (const id of candidates) {
    if (id < classes.classOfToken.length && classes.classOfToken[id] !== UNK_CLASS) mass += ngram.probability(id);
  }
  return Math.min(mass, 1);
}

import { UNK_TOKEN } from '../experiment/model';
import type { ModelHyperParameters } from '../experiment/model';
import { NETWORK_NAMES } from '../meta/networkNames';
import { GATE_FEATURE_COUNT } from '../mix/gate';
import type { GateParameters } from '../mix/gate';
import type { LstmConfig } from '../neural/lstm';
import { LEARNER_NAMES } from '../experiment/events';
import type { LearnerName } from '../experiment/events';
import { MODEL_FIELD_RANGES, TRAINING_SETTING_RANGES, describeRange, isInRange } from '../experiment/settingRanges';
import type { NumberRange } from '../experiment/settingRanges';
import { describeValue, quoted } from '../text/quote';
import { isSecretToken, redactedPlaceholder } from '../text/secrets';
import { StateFileError, decodeStateFile, encodeStateFile } from './stateFile';
import type { BlobData } from './stateFile';

/**
 * The model checkpoint format without TensorFlow.js: what a checkpoint file
 * must hold and the checks that refuse anything else. The host validates an
 * import with this before the worker turns it into tensors.
 */

/** The state-file kind of a trained model. */
export const MODEL_KIND = 'model';
/** Bumped when the header or blob naming of a model checkpoint changes. */
export const MODEL_CHECKPOINT_VERSION = 1;
/** What a checkpoint file is called, in the workspace storage and in export dialogs. */
export const MODEL_FILE_EXTENSION = 'mcmodel';

export const GROUPS = ['params', 'lrs', 'network', 'meanSquares'] as const;
export type GroupName = (typeof GROUPS)[number];

export interface ModelHeader {
  checkpointVersion: number;
  learner: LearnerName;
  config: LstmConfig;
  classTokens: string[];
  hyper: ModelHyperParameters;
  provenance: Record<string, string | number>;
  gate?: GateParameters;
  /** Tensor shapes by group, then by parameter name; each tensor is blob `group/name`. */
  shapes: Partial<Record<GroupName, Record<string, number[]>>>;
}

/** A checked checkpoint whose tensors are still plain arrays: what the host can inspect without tfjs. */
export interface ModelCheckpointContents {
  header: ModelHeader;
  /** Values by group, then by parameter name, row-major. */
  values: Partial<Record<GroupName, Record<string, Float32Array>>>;
}

/** One input kernel per LSTM layer, as {@link paramShapesOf} names them. */
const LAYER_KERNEL = /^layer\d+\.kernel$/;

/** Expected parameter shapes for `config`, in `flattenParams` order. */
export function paramShapesOf(config: LstmConfig): Record<string, number[]> {
  const { vocabSize, embeddingSize, hiddenSize, layers } = config;
  const shapes: Record<string, number[]> = { embedding: [vocabSize, embeddingSize] };
  for (let layer = 0; layer < layers; layer++) {
    shapes[`layer${layer}.kernel`] = [layer === 0 ? embeddingSize : hiddenSize, 4 * hiddenSize];
    shapes[`layer${layer}.recurrent`] = [hiddenSize, 4 * hiddenSize];
    shapes[`layer${layer}.bias`] = [4 * hiddenSize];
  }
  shapes['output.kernel'] = [hiddenSize, vocabSize];
  shapes['output.bias'] = [vocabSize];
  return shapes;
}

/** Meta-Network shapes follow from the config and the task-embedding width the file declares. */
function networkShapesOf(config: LstmConfig, taskSize: number): Record<string, number[]> {
  const rowSize = 2 * config.embeddingSize + 2 * config.hiddenSize;
  return {
    [NETWORK_NAMES.encoderInput]: [config.embeddingSize, taskSize],
    [NETWORK_NAMES.encoderTarget]: [config.embeddingSize, taskSize],
    [NETWORK_NAMES.encoderBias]: [taskSize],
    [NETWORK_NAMES.hyperKernel]: [taskSize, rowSize],
    [NETWORK_NAMES.hyperBias]: [rowSize],
  };
}

/** Sizes as the settings bound them: checked before any shape is built from them. */
const CONFIG_RANGES: Record<keyof LstmConfig, NumberRange> = {
  vocabSize: TRAINING_SETTING_RANGES.vocabSize,
  embeddingSize: TRAINING_SETTING_RANGES.embeddingSize,
  hiddenSize: TRAINING_SETTING_RANGES.hiddenSize,
  layers: MODEL_FIELD_RANGES.layers,
};

const HYPER_RANGES: Record<Exclude<keyof ModelHyperParameters, 'support'>, NumberRange> = {
  innerLr: TRAINING_SETTING_RANGES.innerLr,
  innerSteps: TRAINING_SETTING_RANGES.innerSteps,
  alpha: TRAINING_SETTING_RANGES.alpha,
  beta: TRAINING_SETTING_RANGES.beta,
  dynamicLr: MODEL_FIELD_RANGES.dynamicLr,
  dynamicDecay: MODEL_FIELD_RANGES.dynamicDecay,
  dynamicSegment: MODEL_FIELD_RANGES.dynamicSegment,
  supportFraction: MODEL_FIELD_RANGES.supportFraction,
  seed: MODEL_FIELD_RANGES.seed,
};

/** Provenance is a short record for the user (files, tokens, timings, backend): bounded so it cannot carry bulk. */
const MAX_PROVENANCE_ENTRIES = 64;
const MAX_PROVENANCE_TEXT = 1024;
/** Provenance entries a loaded model is run with, and their ranges. */
const PROVENANCE_RANGES: Record<string, NumberRange> = { adapterLr: MODEL_FIELD_RANGES.adapterLr };

function invalid(detail: string): StateFileError {
  return new StateFileError('content', detail);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);
const describe = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/** `record[key]` if it lies in `range`, else the error naming the field, its range and (cut short) what the file holds. */
function checkedNumber(record: Record<string, unknown>, key: string, range: NumberRange, prefix: string): number {
  const value = record[key];
  if (!isInRange(value, range)) throw invalid(`${prefix}.${key} must be ${describeRange(range)}, the file has ${describeValue(value)}`);
  return value;
}

function checkConfig(value: unknown): LstmConfig {
  if (!isRecord(value)) throw invalid('the model has no LSTM configuration');
  const config = {} as LstmConfig;
  for (const [key, range] of Object.entries(CONFIG_RANGES) as [keyof LstmConfig, NumberRange][]) config[key] = checkedNumber(value, key, range, 'config');
  return config;
}

function checkHyper(value: unknown): ModelHyperParameters {
  if (!isRecord(value)) throw invalid('the model has no hyper-parameters');
  const numbers = {} as Omit<ModelHyperParameters, 'support'>;
  for (const [key, range] of Object.entries(HYPER_RANGES) as [keyof typeof HYPER_RANGES, NumberRange][]) numbers[key] = checkedNumber(value, key, range, 'hyper');
  // Models saved before neighbour supports existed were all meta-trained on prefix supports.
  const support = value.support ?? 'prefix';
  if (support !== 'prefix' && support !== 'neighbours') throw invalid('hyper.support must be "prefix" or "neighbours"');
  return { ...numbers, support };
}

function checkGate(value: unknown): GateParameters | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value)) throw invalid('the gate must be an object');
  const order = checkedNumber(value, 'order', MODEL_FIELD_RANGES.ngramOrder, 'gate');
  const { weights, bias } = value;
  if (!Array.isArray(weights) || weights.length !== GATE_FEATURE_COUNT) {
    throw invalid(`the gate needs ${GATE_FEATURE_COUNT} weights, the file has ${Array.isArray(weights) ? weights.length : 'none'}`);
  }
  if (!weights.every((weight) => typeof weight === 'number' && Number.isFinite(weight))) throw invalid('a gate weight is not finite');
  if (typeof bias !== 'number' || !Number.isFinite(bias)) throw invalid('the gate bias is not finite');
  return { order, weights: [...(weights as number[])], bias };
}

function checkProvenance(value: unknown): Record<string, string | number> {
  if (!isRecord(value)) throw invalid('provenance must be an object');
  const entries = Object.entries(value);
  if (entries.length > MAX_PROVENANCE_ENTRIES) throw invalid(`provenance has ${entries.length} entries, at most ${MAX_PROVENANCE_ENTRIES} are read`);
  const provenance: Record<string, string | number> = {};
  for (const [key, entry] of entries) {
    const name = `provenance.${quoted(key).slice(1, -1)}`;
    if (key.length > MAX_PROVENANCE_TEXT) throw invalid(`${name} has a name longer than ${MAX_PROVENANCE_TEXT} characters`);
    const range = PROVENANCE_RANGES[key];
    if (range !== undefined) {
      provenance[key] = checkedNumber(value, key, range, 'provenance');
    } else if ((typeof entry === 'string' && entry.length <= MAX_PROVENANCE_TEXT) || (typeof entry === 'number' && Number.isFinite(entry))) {
      provenance[key] = entry;
    } else {
      throw invalid(`${name} must be a finite number or a string of at most ${MAX_PROVENANCE_TEXT} characters`);
    }
  }
  return provenance;
}

/** Checks one group: exactly the expected names, each with its shape and finite values. */
function checkGroup(
  group: GroupName,
  declared: unknown,
  expected: Record<string, number[]>,
  blobs: Map<string, BlobData>,
): Record<string, Float32Array> {
  if (!isRecord(declared)) throw invalid(`tensor group ${group} has no shape table`);
  const missing = Object.keys(expected).filter((name) => !Object.hasOwn(declared, name));
  if (missing.length > 0) throw invalid(`${group} lacks ${missing.join(', ')}`);
  const extra = Object.keys(declared).find((name) => !Object.hasOwn(expected, name));
  if (extra !== undefined) throw invalid(`${group} has an unknown tensor ${quoted(extra)}`);
  const values: Record<string, Float32Array> = {};
  for (const name of Object.keys(expected)) {
    const shape = declared[name];
    if (!Array.isArray(shape) || !sameShape(shape as number[], expected[name])) {
      throw invalid(`${group}/${name} has shape ${Array.isArray(shape) ? describe(shape as number[]) : '?'}, the configuration needs ${describe(expected[name])}`);
    }
    const data = blobs.get(`${group}/${name}`);
    if (!(data instanceof Float32Array)) throw invalid(`${group}/${name} has no float32 data`);
    const size = expected[name].reduce((product, dimension) => product * dimension, 1);
    if (data.length !== size) throw invalid(`${group}/${name} holds ${data.length} values, its shape needs ${size}`);
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) throw invalid(`${group}/${name} holds a non-finite value at ${i}`);
    }
    values[name] = data;
  }
  return values;
}

/** Validates a decoded state file as a model; nothing is allocated in tfjs. */
export function checkModel(header: unknown, blobs: Map<string, BlobData>): ModelCheckpointContents {
  if (!isRecord(header)) throw new StateFileError('header', 'the model header is not an object');
  const version = header.checkpointVersion;
  if (typeof version !== 'number') throw new StateFileError('header', 'the model header has no checkpoint version');
  if (version > MODEL_CHECKPOINT_VERSION) {
    throw new StateFileError('newer-version', `model format ${version}, this version reads ${MODEL_CHECKPOINT_VERSION}; update MetaComplete`);
  }
  if (version < MODEL_CHECKPOINT_VERSION) {
    throw new StateFileError('older-version', `model format ${version}, this version reads ${MODEL_CHECKPOINT_VERSION}; retrain the model`);
  }
  if (!(LEARNER_NAMES as readonly unknown[]).includes(header.learner)) throw invalid(`unknown learner ${describeValue(header.learner)}`);
  const config = checkConfig(header.config);
  const classTokens = header.classTokens;
  if (!Array.isArray(classTokens)) throw invalid('classTokens must be a list of strings');
  if (classTokens.length !== config.vocabSize) {
    throw invalid(`${classTokens.length} class tokens for a vocabulary of ${config.vocabSize}`);
  }
  if (!classTokens.every((token) => typeof token === 'string')) throw invalid('classTokens must be a list of strings');
  if (classTokens[0] !== UNK_TOKEN) throw invalid(`class 0 must be ${UNK_TOKEN}`);
  if (new Set(classTokens).size !== classTokens.length) throw invalid('classTokens has duplicates');
  const hyper = checkHyper(header.hyper);
  const provenance = checkProvenance(header.provenance);
  const gate = checkGate(header.gate);
  const shapes = header.shapes;
  if (!isRecord(shapes)) throw invalid('the model has no tensor shape table');
  const unknownGroup = Object.keys(shapes).find((group) => !(GROUPS as readonly string[]).includes(group));
  if (unknownGroup !== undefined) throw invalid(`unknown tensor group ${quoted(unknownGroup)}`);
  if (!isRecord(shapes.params)) throw invalid('the model has no parameters');
  // Against what the file really holds, before paramShapesOf builds three entries per layer.
  const layersHeld = Object.keys(shapes.params).filter((name) => LAYER_KERNEL.test(name)).length;
  if (layersHeld !== config.layers) throw invalid(`config.layers is ${config.layers} but the file holds the tensors of ${layersHeld}`);
  const paramShapes = paramShapesOf(config);
  const values: ModelCheckpointContents['values'] = {};
  values.params = checkGroup('params', shapes.params, paramShapes, blobs);
  for (const group of ['lrs', 'meanSquares'] as const) {
    if (shapes[group] !== undefined) values[group] = checkGroup(group, shapes[group], paramShapes, blobs);
  }
  if (shapes.network !== undefined) {
    const biasShape = isRecord(shapes.network) ? shapes.network[NETWORK_NAMES.encoderBias] : undefined;
    const taskSize: unknown = Array.isArray(biasShape) && biasShape.length === 1 ? biasShape[0] : undefined;
    const range = MODEL_FIELD_RANGES.taskSize;
    if (!isInRange(taskSize, range)) throw invalid(`network/${NETWORK_NAMES.encoderBias} must be a vector of ${range.min} to ${range.max} values`);
    values.network = checkGroup('network', shapes.network, networkShapesOf(config, taskSize), blobs);
  }
  const expectedBlobs = Object.entries(values).reduce((sum, [, group]) => sum + Object.keys(group).length, 0);
  if (blobs.size !== expectedBlobs) throw invalid(`${blobs.size - expectedBlobs} blobs belong to no tensor`);
  return {
    header: {
      checkpointVersion: version,
      learner: header.learner as LearnerName,
      config,
      classTokens: classTokens as string[],
      hyper,
      provenance,
      ...(gate === undefined ? {} : { gate }),
      shapes: shapes as ModelHeader['shapes'],
    },
    values,
  };
}

/** Decodes and fully validates a checkpoint without creating tensors. */
export function parseModelCheckpoint(buffer: Uint8Array): ModelCheckpointContents {
  const { header, blobs } = decodeStateFile(buffer, MODEL_KIND);
  return checkModel(header, blobs);
}

/**
 * Class tokens as a checkpoint may hold them: each one that fails
 * `isSecretToken` becomes its placeholder, so a secret is never written to a
 * file that is shared with a team.
 */
export function secretFreeClassTokens(classTokens: readonly string[]): string[] {
  return classTokens.map((token, index) => (isSecretToken(token) ? redactedPlaceholder(index) : token));
}

/**
 * A checkpoint as MetaComplete stores and exports it: validated, with every
 * secret class token replaced by its placeholder, whoever wrote the file (an
 * older version, another tool). The same bytes when nothing was a secret.
 */
export function secretFreeCheckpoint(buffer: Uint8Array): { bytes: Uint8Array; contents: ModelCheckpointContents; redacted: number } {
  const { header, blobs } = decodeStateFile(buffer, MODEL_KIND);
  const contents = checkModel(header, blobs);
  const classTokens = secretFreeClassTokens(contents.header.classTokens);
  const redacted = classTokens.filter((token, index) => token !== contents.header.classTokens[index]).length;
  if (redacted === 0) return { bytes: buffer, contents, redacted };
  const cleanHeader = { ...(header as Record<string, unknown>), classTokens };
  return {
    bytes: encodeStateFile({ kind: MODEL_KIND, header: cleanHeader, blobs }),
    contents: { ...contents, header: { ...contents.header, classTokens } },
    redacted,
  };
}

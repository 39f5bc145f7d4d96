import { UNK_TOKEN } from '../experiment/model';
import type { ModelHyperParameters } from '../experiment/model';
import { NETWORK_NAMES } from '../meta/metaNetwork';
import { GATE_FEATURE_COUNT } from '../mix/gate';
import type { GateParameters } from '../mix/gate';
import type { LstmConfig } from '../neural/lstm';
import { LEARNER_NAMES } from '../experiment/events';
import type { LearnerName } from '../experiment/events';
import { StateFileError, decodeStateFile } from './stateFile';
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

const HYPER_NUMBERS = [
  'innerLr', 'innerSteps', 'alpha', 'beta', 'dynamicLr', 'dynamicDecay', 'dynamicSegment', 'supportFraction', 'seed',
] as const satisfies readonly (keyof ModelHyperParameters)[];

function invalid(detail: string): StateFileError {
  return new StateFileError('content', detail);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);
const describe = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

function checkConfig(value: unknown): LstmConfig {
  if (!isRecord(value)) throw invalid('the model has no LSTM configuration');
  const config: Record<string, number> = {};
  for (const key of ['vocabSize', 'embeddingSize', 'hiddenSize', 'layers'] as const) {
    const number = value[key];
    if (!Number.isInteger(number) || (number as number) < 1) throw invalid(`config.${key} must be a positive integer`);
    config[key] = number as number;
  }
  return config as unknown as LstmConfig;
}

function checkHyper(value: unknown): ModelHyperParameters {
  if (!isRecord(value)) throw invalid('the model has no hyper-parameters');
  for (const key of HYPER_NUMBERS) {
    if (typeof value[key] !== 'number' || !Number.isFinite(value[key])) throw invalid(`hyper.${key} must be a finite number`);
  }
  // Models saved before neighbour supports existed were all meta-trained on prefix supports.
  const support = value.support ?? 'prefix';
  if (support !== 'prefix' && support !== 'neighbours') throw invalid('hyper.support must be "prefix" or "neighbours"');
  return { ...value, support } as unknown as ModelHyperParameters;
}

function checkGate(value: unknown): GateParameters | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value)) throw invalid('the gate must be an object');
  const { order, weights, bias } = value;
  if (!Number.isInteger(order) || (order as number) < 1) throw invalid('gate.order must be a positive integer');
  if (!Array.isArray(weights) || weights.length !== GATE_FEATURE_COUNT) {
    throw invalid(`the gate needs ${GATE_FEATURE_COUNT} weights, the file has ${Array.isArray(weights) ? weights.length : 'none'}`);
  }
  if (!weights.every((weight) => typeof weight === 'number' && Number.isFinite(weight))) throw invalid('a gate weight is not finite');
  if (typeof bias !== 'number' || !Number.isFinite(bias)) throw invalid('the gate bias is not finite');
  return { order: order as number, weights: [...(weights as number[])], bias };
}

function checkProvenance(value: unknown): Record<string, string | number> {
  if (!isRecord(value)) throw invalid('provenance must be an object');
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string' && typeof entry !== 'number') throw invalid(`provenance.${key} must be a string or a number`);
  }
  return value as Record<string, string | number>;
}

/** Checks one group: exactly the expected names, each with its shape and finite values. */
function checkGroup(
  group: GroupName,
  declared: unknown,
  expected: Record<string, number[]>,
  blobs: Map<string, BlobData>,
): Record<string, Float32Array> {
  if (!isRecord(declared)) throw invalid(`tensor group ${group} has no shape table`);
  const names = Object.keys(declared);
  const missing = Object.keys(expected).filter((name) => !(name in declared));
  if (missing.length > 0) throw invalid(`${group} lacks ${missing.join(', ')}`);
  const extra = names.filter((name) => !(name in expected));
  if (extra.length > 0) throw invalid(`${group} has unknown tensors ${extra.join(', ')}`);
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
  if (!(LEARNER_NAMES as readonly unknown[]).includes(header.learner)) throw invalid(`unknown learner ${JSON.stringify(header.learner)}`);
  const config = checkConfig(header.config);
  const classTokens = header.classTokens;
  if (!Array.isArray(classTokens) || !classTokens.every((token) => typeof token === 'string')) {
    throw invalid('classTokens must be a list of strings');
  }
  if (classTokens.length !== config.vocabSize) {
    throw invalid(`${classTokens.length} class tokens for a vocabulary of ${config.vocabSize}`);
  }
  if (classTokens[0] !== UNK_TOKEN) throw invalid(`class 0 must be ${UNK_TOKEN}`);
  if (new Set(classTokens).size !== classTokens.length) throw invalid('classTokens has duplicates');
  const hyper = checkHyper(header.hyper);
  const provenance = checkProvenance(header.provenance);
  const gate = checkGate(header.gate);
  const shapes = header.shapes;
  if (!isRecord(shapes)) throw invalid('the model has no tensor shape table');
  const unknownGroups = Object.keys(shapes).filter((group) => !(GROUPS as readonly string[]).includes(group));
  if (unknownGroups.length > 0) throw invalid(`unknown tensor groups ${unknownGroups.join(', ')}`);
  if (shapes.params === undefined) throw invalid('the model has no parameters');
  const paramShapes = paramShapesOf(config);
  const values: ModelCheckpointContents['values'] = {};
  values.params = checkGroup('params', shapes.params, paramShapes, blobs);
  for (const group of ['lrs', 'meanSquares'] as const) {
    if (shapes[group] !== undefined) values[group] = checkGroup(group, shapes[group], paramShapes, blobs);
  }
  if (shapes.network !== undefined) {
    const biasShape = isRecord(shapes.network) ? shapes.network[NETWORK_NAMES.encoderBias] : undefined;
    const taskSize = Array.isArray(biasShape) && biasShape.length === 1 ? biasShape[0] : undefined;
    if (!Number.isInteger(taskSize) || (taskSize as number) < 1) throw invalid(`network/${NETWORK_NAMES.encoderBias} must be a non-empty vector`);
    values.network = checkGroup('network', shapes.network, networkShapesOf(config, taskSize as number), blobs);
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

import * as tf from '@tensorflow/tfjs-core';
import { tensorGroupsOf } from '../experiment/model';
import type { TrainedModel } from '../experiment/model';
import type { ParamMap } from '../neural/lstm';
import { MODEL_CHECKPOINT_VERSION, MODEL_KIND, checkModel, parseModelCheckpoint, secretFreeClassTokens } from './modelFormat';
import type { GroupName, ModelCheckpointContents, ModelHeader } from './modelFormat';
import { StateFileError, encodeStateFile, readStateFile, writeStateFileAtomic } from './stateFile';
import type { BlobData } from './stateFile';

/** Model checkpoints: a `TrainedModel`'s tensors and metadata in a state file of kind `model` (format in modelFormat.ts). */

/** Serialises a model; throws if the model itself is inconsistent, so no unreadable checkpoint is ever written. */
export function encodeModel(model: TrainedModel): Buffer {
  const shapes: ModelHeader['shapes'] = {};
  const blobs = new Map<string, BlobData>();
  for (const [group, map] of Object.entries(tensorGroupsOf(model)) as [GroupName, ParamMap][]) {
    const groupShapes: Record<string, number[]> = {};
    for (const [name, tensor] of Object.entries(map)) {
      if (tensor.dtype !== 'float32') throw new TypeError(`${group}/${name} is ${tensor.dtype}; checkpoints hold float32 tensors.`);
      groupShapes[name] = [...tensor.shape];
      blobs.set(`${group}/${name}`, tensor.dataSync() as Float32Array);
    }
    shapes[group] = groupShapes;
  }
  const header: ModelHeader = {
    checkpointVersion: MODEL_CHECKPOINT_VERSION,
    learner: model.learner,
    config: { ...model.config },
    // A checkpoint is shared with a team: a class token that is a secret is never written.
    classTokens: secretFreeClassTokens(model.classTokens),
    hyper: model.hyper,
    provenance: model.provenance,
    ...(model.gate === undefined ? {} : { gate: model.gate }),
    shapes,
  };
  try {
    // The header goes through JSON as a reader will see it.
    checkModel(JSON.parse(JSON.stringify(header)), blobs);
  } catch (error) {
    if (error instanceof StateFileError) throw new Error(`This model cannot be saved: ${error.detail ?? error.reason}.`);
    throw error;
  }
  return encodeStateFile({ kind: MODEL_KIND, header, blobs });
}

/** A validated checkpoint as a model whose tensors the caller owns (`disposeTrainedModel`). */
export function decodeModel(buffer: Uint8Array): TrainedModel {
  return modelOf(parseModelCheckpoint(buffer));
}

/** Tensors are created only here, after every check passed, so a bad file allocates nothing. */
function modelOf({ header, values }: ModelCheckpointContents): TrainedModel {
  const toMap = (group: GroupName): ParamMap | undefined => {
    const groupValues = values[group];
    const groupShapes = header.shapes[group];
    if (groupValues === undefined || groupShapes === undefined) return undefined;
    const map: ParamMap = {};
    for (const [name, data] of Object.entries(groupValues)) map[name] = tf.tensor(data, groupShapes[name], 'float32');
    return map;
  };
  const model: TrainedModel = {
    learner: header.learner,
    config: header.config,
    classTokens: header.classTokens,
    params: toMap('params') as ParamMap,
    hyper: header.hyper,
    provenance: header.provenance,
  };
  const lrs = toMap('lrs');
  const network = toMap('network');
  const meanSquares = toMap('meanSquares');
  if (lrs !== undefined) model.lrs = lrs;
  if (network !== undefined) model.network = network;
  if (meanSquares !== undefined) model.meanSquares = meanSquares;
  if (header.gate !== undefined) model.gate = header.gate;
  return model;
}

/** Writes a checkpoint atomically: the previous file stays whole until the new one is complete. */
export async function saveModelCheckpoint(filePath: string, model: TrainedModel): Promise<void> {
  await writeStateFileAtomic(filePath, encodeModel(model));
}

/** Reads a checkpoint; a missing, corrupt or foreign file is a StateFileError naming the file and why. */
export async function loadModelCheckpoint(filePath: string): Promise<TrainedModel> {
  const { header, blobs } = await readStateFile(filePath, MODEL_KIND);
  let contents: ModelCheckpointContents;
  try {
    contents = checkModel(header, blobs);
  } catch (error) {
    if (error instanceof StateFileError) throw error.inFile(filePath);
    throw error;
  }
  return modelOf(contents);
}

import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../../src/core/backend/backend';
import { DEFAULT_FEWSHOT_OPTIONS } from '../../../../src/core/experiment/fewshot';
import { disposeTrainedModel } from '../../../../src/core/experiment/model';
import { trainModel } from '../../../../src/core/experiment/pipeline';
import { DEFAULT_TRAIN_SETTINGS, prepareTasks, taskQueryLosses, withNeighbourSupports } from '../../../../src/core/experiment/train';
import type { TrainSettings } from '../../../../src/core/experiment/train';
import type { TrainingEvent } from '../../../../src/core/experiment/events';
import { TaskGraph } from '../../../../src/core/graph/taskGraph';
import { flattenParams, initLstmParams } from '../../../../src/core/neural/lstm';
import { meanLoss } from '../../../../src/core/meta/paramMaps';
import { tokenize } from '../../../../src/core/text/lexer';
import type { CorpusFile } from '../../../../src/core/text/corpus';

/** Twelve small files in two families: each file's nearest neighbours are of its own family. */
function corpus(): CorpusFile[] {
  return Array.from({ length: 12 }, (_, i) => {
    const queue = i % 2 === 0;
    const name = queue ? `queue${i}` : `stack${i}`;
    const body = queue
      ? `export function ${name}(items: number[]) {\n  const out = [];\n  for (const item of items) out.push(item * ${i});\n  return out;\n}\n`
      : `export class ${name} {\n  private values: string[] = [];\n  push(value: string) { this.values.push(value); }\n  pop() { return this.values.pop(); }\n}\n`;
    return { relPath: `src/${name}.ts`, split: 'train', tokens: tokenize(body.repeat(2), 'js') };
  });
}

const family = (path: string): string => (path.includes('queue') ? 'queue' : 'stack');

const tiny: TrainSettings = {
  ...DEFAULT_TRAIN_SETTINGS,
  vocabSize: 40,
  embeddingSize: 8,
  hiddenSize: 8,
  pretrainEpochs: 1,
  outerSteps: 2,
  innerSteps: 1,
  maxSupportTokens: 30,
  maxQueryTokens: 40,
};

describe('meta-training with task-graph-neighbour support sets', function () {
  this.timeout(120_000);
  before(async () => {
    await initBackend({ force: 'wasm' });
  });

  it("makes each task's support the start of its neighbours' tokens, the budget shared out, and its query the file itself", () => {
    const files = corpus();
    const prepared = prepareTasks(files.map((file) => ({ path: file.relPath, tokens: file.tokens })), tiny);
    const graph = TaskGraph.build(files.map((file) => ({ path: file.relPath, tokens: file.tokens })));
    const { tasks, fromNeighbours, sources } = withNeighbourSupports(prepared.tasks, prepared.ids, (path) => graph.neighbours(path).map((n) => n.path), tiny);
    assert.equal(fromNeighbours, tasks.length);
    for (const task of tasks) {
      const near = sources.get(task.name) ?? [];
      assert.equal(near.length, 3, task.name);
      assert.ok(!near.includes(task.name), `${task.name} is in its own support`);
      for (const path of near) assert.equal(family(path), family(task.name), `${task.name} takes support from ${path}`);
      const own = prepared.ids.get(task.name) as Int32Array;
      assert.deepEqual(Array.from(task.ids?.query ?? []), Array.from(own.subarray(0, tiny.maxQueryTokens + 1)));
      assert.deepEqual(
        task.ids?.support.map((ids) => Array.from(ids)),
        near.map((path) => Array.from((prepared.ids.get(path) as Int32Array).subarray(0, tiny.maxSupportTokens / 3))),
      );
    }
  });

  it('trains every task on its neighbours, records it in the model, and colours every task', async () => {
    const events: TrainingEvent[] = [];
    const before = tf.memory().numTensors;
    const result = await trainModel(
      corpus(),
      { ...DEFAULT_FEWSHOT_OPTIONS, settings: { ...tiny, support: 'neighbours' }, learner: 'reptile', innerRates: [1], adapterRates: [0.3], dynamicRates: [1e-3] },
      (event) => events.push(event),
    );
    const model = result.model;
    assert.ok(model !== undefined);
    try {
      assert.equal(model.hyper.support, 'neighbours');
      assert.equal(result.supportSources.size, 12);
      for (const [task, near] of result.supportSources) {
        assert.ok(near.length > 0 && !near.includes(task), `${task}: ${near.join(', ')}`);
        for (const path of near) assert.equal(family(path), family(task));
      }
      // Held-out tasks with their k-step loss, every training task with its unadapted loss: all twelve files.
      const losses = events.flatMap((event) => (event.type === 'task-losses' ? event.losses.map((loss) => loss.task) : []));
      assert.deepEqual(new Set(losses), new Set(result.supportSources.keys()));
      const table = events.find((event) => event.type === 'fewshot-table');
      assert.ok(table !== undefined && table.type === 'fewshot-table');
      assert.deepEqual(
        table.rows.map((row) => `${row.learner}@${row.k}`),
        // k up to the run's inner steps (1 here), as the adaptation curves go.
        ['transfer@0', 'transfer@1', 'reptile@0', 'reptile@1'],
      );
      for (const row of table.rows) assert.ok(row.entropy > 0 && row.mrr > 0 && row.mrr <= 1, JSON.stringify(row));
    } finally {
      disposeTrainedModel(model);
    }
    assert.equal(tf.memory().numTensors, before, 'training leaves only the model, which is disposed');
  });

  it('measures every task query loss in one batched pass, as per task', () => {
    const files = corpus();
    const prepared = prepareTasks(files.map((file) => ({ path: file.relPath, tokens: file.tokens })), tiny);
    const config = { vocabSize: prepared.classTokens.length, embeddingSize: 8, hiddenSize: 8, layers: 1 };
    const params = flattenParams(initLstmParams(config, 2));
    const before = tf.memory().numTensors;
    const batched = taskQueryLosses(params, prepared.tasks);
    assert.equal(tf.memory().numTensors, before);
    prepared.tasks.forEach((task, i) => assert.ok(Math.abs(batched[i] - meanLoss(params, task.query).loss) < 1e-4, task.name));
    for (const tensor of Object.values(params)) tensor.dispose();
  });
});

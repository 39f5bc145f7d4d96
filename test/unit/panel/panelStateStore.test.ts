import * as assert from 'node:assert/strict';
import type { TaskGraphSnapshot } from '../../../src/core/graph/taskGraph';
import { PanelStateStore } from '../../../src/host/panel/panelStateStore';
import { applyPanelChange, invalidHostToPanelMessage } from '../../../src/protocol/panelProtocol';
import type { PanelDeltaMessage } from '../../../src/protocol/panelProtocol';
import type { TrainingEvent } from '../../../src/protocol/trainingEvents';

const taskGraph: TaskGraphSnapshot = {
  version: 1,
  nodes: [
    { id: 'src/a.ts', size: 120, community: 0, directory: 'src' },
    { id: 'src/b.ts', size: 80, community: 0, directory: 'src' },
    { id: 'lib/c.ts', size: 40, community: 1, directory: 'lib' },
  ],
  edges: [
    { source: 'src/a.ts', target: 'src/b.ts', weight: 0.7 },
    { source: 'lib/c.ts', target: 'src/a.ts', weight: 0.2 },
  ],
};

const run: TrainingEvent[] = [
  { type: 'training-state', phase: 'pretraining', learner: 'reptile', step: 0, totalSteps: 0 },
  { type: 'pretrain-epoch', epoch: 1, epochs: 2, loss: 4.1 },
  { type: 'training-state', phase: 'meta-training', learner: 'reptile', step: 1, totalSteps: 3 },
  { type: 'outer-step', learner: 'reptile', step: 1, totalSteps: 3, metaLoss: 3.5, tasks: ['src/a.ts'] },
  { type: 'outer-step', learner: 'reptile', step: 2, totalSteps: 3, metaLoss: 3.2, tasks: ['src/b.ts'] },
  { type: 'adaptation-curve', learner: 'reptile', task: 'src/b.ts', queryLoss: [3.4, 2.9, 2.6], baseline: [3.4, 3.3, 3.2] },
  { type: 'adaptation-curve', learner: 'reptile', task: 'lib/c.ts', queryLoss: [4, 3.5, 3.1] },
  { type: 'task-losses', learner: 'reptile', k: 2, losses: [{ task: 'src/a.ts', before: 3.3, after: 2.4 }, { task: 'lib/c.ts', before: 4, after: 3.1 }] },
  { type: 'online-loss', task: 'src/a.ts', tokens: 5, loss: 2.2 },
  { type: 'fewshot-table', rows: [{ learner: 'reptile', k: 0, entropy: 5.1, mrr: 0.31 }, { learner: 'reptile', k: 5, entropy: 4.2, mrr: 0.38 }] },
];

describe('PanelStateStore', () => {
  it('numbers each change and hands out valid deltas in order', () => {
    const store = new PanelStateStore();
    const deltas: PanelDeltaMessage[] = [];
    store.onDelta((delta) => deltas.push(delta));
    store.setGraph(taskGraph);
    for (const event of run) store.applyTrainingEvent(event);
    assert.deepEqual(deltas.map((delta) => delta.seq), Array.from({ length: run.length + 1 }, (_, index) => index + 1));
    assert.equal(store.lastSeq, run.length + 1);
    for (const delta of deltas) assert.equal(invalidHostToPanelMessage(delta), undefined);
  });

  it('gives a webview that applied every delta the same state as a fresh snapshot', () => {
    const store = new PanelStateStore();
    const mirror = store.snapshot();
    store.onDelta((delta) => {
      assert.equal(delta.seq, mirror.seq + 1);
      applyPanelChange(mirror.state, delta.change);
      mirror.seq = delta.seq;
    });
    store.setGraph(taskGraph);
    for (const event of run) store.applyTrainingEvent(event);
    store.setBackend('wasm');
    store.selectTask('lib/c.ts');
    assert.deepEqual(mirror, store.snapshot());
    assert.equal(invalidHostToPanelMessage(store.snapshot()), undefined);
  });

  it('folds a training run into graph losses, curves, table and status', () => {
    const store = new PanelStateStore();
    store.setGraph(taskGraph);
    for (const event of run) store.applyTrainingEvent(event);
    const { state } = store.snapshot();
    assert.deepEqual(state.graph.nodes.map((node) => [node.path, node.tokens, node.lossBefore, node.lossAfter]), [
      ['src/a.ts', 120, 3.3, 2.4],
      ['src/b.ts', 80, undefined, undefined],
      ['lib/c.ts', 40, 4, 3.1],
    ]);
    assert.equal(state.graph.edges.length, 2);
    assert.deepEqual(state.curves.outerLoss, [{ learner: 'reptile', points: { x: [1, 2], y: [3.5, 3.2] } }]);
    assert.equal(state.selectedTask, 'src/b.ts');
    assert.deepEqual(state.curves.adaptation?.baseline, [3.4, 3.3, 3.2]);
    assert.deepEqual(state.curves.online?.points, { x: [5], y: [2.2] });
    assert.equal(state.curves.fewShot.length, 2);
    assert.deepEqual([state.training.phase, state.training.step, state.training.totalSteps], ['meta-training', 1, 3]);
    assert.deepEqual(state.training.pretrain, { epoch: 1, epochs: 2, loss: 4.1 });
  });

  it('shows a task curve that arrived before the task was selected', () => {
    const store = new PanelStateStore();
    for (const event of run) store.applyTrainingEvent(event);
    store.selectTask('lib/c.ts');
    const { state } = store.snapshot();
    assert.equal(state.selectedTask, 'lib/c.ts');
    assert.deepEqual(state.curves.adaptation, { task: 'lib/c.ts', curves: [{ learner: 'reptile', queryLoss: [4, 3.5, 3.1] }] });
    store.selectTask('src/a.ts');
    assert.equal(store.snapshot().state.curves.adaptation, undefined);
  });

  it('keeps measured losses when the graph is rebuilt', () => {
    const store = new PanelStateStore();
    for (const event of run) store.applyTrainingEvent(event);
    store.setGraph(taskGraph);
    const nodeA = store.snapshot().state.graph.nodes.find((node) => node.path === 'src/a.ts');
    assert.deepEqual([nodeA?.lossBefore, nodeA?.lossAfter], [3.3, 2.4]);
  });

  it('hands out snapshots and deltas the store does not share', () => {
    const store = new PanelStateStore();
    store.setGraph(taskGraph);
    const before = store.snapshot();
    before.state.graph.nodes.length = 0;
    let received: PanelDeltaMessage | undefined;
    store.onDelta((delta) => (received = delta));
    store.applyTrainingEvent(run[3]);
    if (received?.change.kind === 'training' && received.change.event.type === 'outer-step') received.change.event.metaLoss = 99;
    const after = store.snapshot();
    assert.equal(after.state.graph.nodes.length, 3);
    assert.deepEqual(after.state.curves.outerLoss[0].points.y, [3.5]);
  });

  it('stops calling a listener after it unsubscribes and skips a backend that did not change', () => {
    const store = new PanelStateStore();
    let calls = 0;
    const unsubscribe = store.onDelta(() => calls++);
    store.setBackend('wasm');
    store.setBackend('wasm');
    unsubscribe();
    store.setBackend('cpu');
    assert.equal(calls, 1);
    assert.equal(store.snapshot().state.training.backend, 'cpu');
  });
});

import * as assert from 'node:assert/strict';
import {
  DEFAULT_CONTROLS,
  MAX_CURVE_POINTS,
  PANEL_PROTOCOL_VERSION,
  applyPanelChange,
  emptyPanelState,
  invalidHostToPanelMessage,
  invalidPanelCommand,
  invalidPanelToHostMessage,
  invalidTrainingEvent,
} from '../../../src/protocol/panelProtocol';
import type { PanelGraph, PanelState } from '../../../src/protocol/panelProtocol';

const graph: PanelGraph = {
  nodes: [
    { path: 'a.ts', tokens: 10, community: 0 },
    { path: 'b.ts', tokens: 12, community: 1, lossBefore: 3, lossAfter: 2 },
  ],
  edges: [{ source: 'a.ts', target: 'b.ts', weight: 0.5 }],
};

function stateWith(overrides: Partial<PanelState> = {}): PanelState {
  return { ...emptyPanelState(), graph: structuredClone(graph), ...overrides };
}

const snapshot = (state: unknown) => ({ type: 'panel/snapshot', version: PANEL_PROTOCOL_VERSION, seq: 3, state });
const command = (body: unknown) => ({ type: 'panel/command', version: PANEL_PROTOCOL_VERSION, command: body });

describe('panel protocol', () => {
  it('says what is wrong with a BigInt, symbol or null-prototype field instead of throwing', () => {
    const bad: unknown[] = [10n, Symbol('x'), Object.create(null)];
    for (const value of bad) {
      assert.match(invalidPanelToHostMessage({ type: value, version: PANEL_PROTOCOL_VERSION }) ?? '', /unknown message type/);
      assert.match(invalidPanelToHostMessage({ type: 'panel/ready', version: value }) ?? '', /protocol version/);
      assert.match(invalidPanelCommand({ kind: 'setLearner', learner: value }) ?? '', /is not one of/);
      assert.match(invalidTrainingEvent({ type: 'training-state', phase: value }) ?? '', /unknown training phase/);
      assert.match(invalidHostToPanelMessage({ type: 'panel/delta', version: PANEL_PROTOCOL_VERSION, seq: 1, change: { kind: value } }) ?? '', /unknown change kind/);
    }
  });

  it('reads an array whose methods were replaced by its items, not by its methods', () => {
    const tasks = Object.setPrototypeOf(['a.ts'], null) as unknown[];
    assert.equal(invalidTrainingEvent({ type: 'outer-step', learner: 'reptile', step: 1, totalSteps: 2, metaLoss: 3, tasks }), undefined);
    const nodes = Object.setPrototypeOf([{ path: 'a.ts', tokens: 1, community: 0 }], { every: 1 }) as unknown[];
    const graph = { nodes, edges: Object.setPrototypeOf([], null) };
    assert.equal(invalidHostToPanelMessage({ type: 'panel/delta', version: PANEL_PROTOCOL_VERSION, seq: 1, change: { kind: 'graph', graph } }), undefined);
  });

  it('quotes a long bad value in at most a short line', () => {
    const problem = invalidPanelCommand({ kind: 'k'.repeat(100_000) }) ?? '';
    assert.match(problem, /^unknown command "k+"…$/);
    assert.ok(problem.length < 100, `${problem.length} characters`);
  });

  describe('host → webview validation', () => {
    it('accepts a snapshot, a delta of each kind and a notice', () => {
      assert.equal(invalidHostToPanelMessage(snapshot(stateWith())), undefined);
      const deltas = [
        { kind: 'training', event: { type: 'outer-step', learner: 'reptile', step: 1, totalSteps: 10, metaLoss: 2.5, tasks: ['a.ts'] } },
        { kind: 'graph', graph },
        { kind: 'controls', controls: DEFAULT_CONTROLS },
        { kind: 'selection', task: 'a.ts', adaptation: { task: 'a.ts', curves: [{ learner: 'fomaml', queryLoss: [3, 2] }], baseline: [3, 2.8] } },
        { kind: 'backend', backend: 'wasm' },
      ];
      for (const change of deltas) {
        assert.equal(invalidHostToPanelMessage({ type: 'panel/delta', version: PANEL_PROTOCOL_VERSION, seq: 4, change }), undefined, change.kind);
      }
      assert.equal(invalidHostToPanelMessage({ type: 'panel/notice', version: PANEL_PROTOCOL_VERSION, level: 'error', text: 'no' }), undefined);
    });

    it('says what is wrong with a malformed message', () => {
      assert.match(invalidHostToPanelMessage('hello') ?? '', /must be an object/);
      assert.match(invalidHostToPanelMessage({ ...snapshot(stateWith()), version: 1 }) ?? '', /protocol version 1 is not 2/);
      assert.match(invalidHostToPanelMessage({ ...snapshot(stateWith()), type: 'x' }) ?? '', /unknown message type "x"/);
      assert.match(invalidHostToPanelMessage({ ...snapshot(stateWith()), seq: 1.5 }) ?? '', /whole seq/);
      assert.match(invalidHostToPanelMessage(snapshot(stateWith({ graph: { nodes: [{ path: 'a.ts' }], edges: [] } as never }))) ?? '', /every node needs/);
      assert.match(
        invalidHostToPanelMessage(snapshot(stateWith({ graph: { nodes: graph.nodes, edges: [{ source: 'a.ts', target: 'zz.ts', weight: 1 }] } }))) ?? '',
        /names a missing node/,
      );
      assert.match(invalidHostToPanelMessage(snapshot(stateWith({ controls: { ...DEFAULT_CONTROLS, innerLr: 0 } }))) ?? '', /innerLr must be a number > 0/);
      assert.match(
        invalidHostToPanelMessage({ type: 'panel/delta', version: PANEL_PROTOCOL_VERSION, seq: 1, change: { kind: 'training', event: { type: 'outer-step', learner: 'maml' } } }) ?? '',
        /unknown learner "maml"/,
      );
      assert.match(
        invalidHostToPanelMessage({ type: 'panel/delta', version: PANEL_PROTOCOL_VERSION, seq: 1, change: { kind: 'training', event: { type: 'online-loss', task: 'a.ts', tokens: 3, loss: Number.NaN } } }) ?? '',
        /finite loss/,
      );
    });

    it('validates every training event type', () => {
      const events = [
        { type: 'training-state', phase: 'meta-training', learner: 'meta-sgd', step: 3, totalSteps: 100 },
        { type: 'pretrain-epoch', epoch: 1, epochs: 4, loss: 3.2 },
        { type: 'adaptation-curve', learner: 'reptile', task: 'a.ts', queryLoss: [3, 2.5, 2.2] },
        { type: 'task-losses', learner: 'reptile', k: 5, losses: [{ task: 'a.ts', before: 3, after: 2 }] },
        { type: 'online-loss', task: 'a.ts', tokens: 1, loss: 2 },
        { type: 'fewshot-table', rows: [{ learner: 'reptile', k: 5, entropy: 3.1, mrr: 0.4 }] },
      ];
      for (const event of events) assert.equal(invalidTrainingEvent(event), undefined, event.type);
      assert.match(invalidTrainingEvent({ type: 'training-state', phase: 'sleeping', learner: 'reptile', step: 0, totalSteps: 0 }) ?? '', /unknown training phase "sleeping"/);
      assert.match(invalidTrainingEvent({ type: 'nope' }) ?? '', /unknown training event type "nope"/);
    });
  });

  describe('webview → host validation', () => {
    it('accepts ready, resync and each well-formed command', () => {
      assert.equal(invalidPanelToHostMessage({ type: 'panel/ready', version: PANEL_PROTOCOL_VERSION }), undefined);
      assert.equal(invalidPanelToHostMessage({ type: 'panel/resync', version: PANEL_PROTOCOL_VERSION, lastSeq: 7 }), undefined);
      for (const body of [
        { kind: 'start' },
        { kind: 'pause' },
        { kind: 'setLearner', learner: 'meta-network' },
        { kind: 'setAlpha', value: 0 },
        { kind: 'setBeta', value: 2.5 },
        { kind: 'setInnerLr', value: 1e-3 },
        { kind: 'setInnerSteps', value: 100 },
        { kind: 'setSupport', support: 'neighbours' },
        { kind: 'selectTask', path: 'src/a.ts' },
        { kind: 'exportCsv', chart: 'outer-loss', csv: 'step,reptile\n1,2\n' },
        { kind: 'exportPng', chart: 'outer-loss', dataUrl: 'data:image/png;base64,iVBORw0KGgo=' },
      ]) {
        assert.equal(invalidPanelToHostMessage(command(body)), undefined, body.kind);
      }
    });

    it('rejects out-of-range control values with the rule they broke', () => {
      assert.match(invalidPanelCommand({ kind: 'setAlpha', value: -0.1 }) ?? '', /α must be a number ≥ 0/);
      assert.match(invalidPanelCommand({ kind: 'setBeta', value: Number.POSITIVE_INFINITY }) ?? '', /β must be a number ≥ 0/);
      assert.match(invalidPanelCommand({ kind: 'setInnerLr', value: 0 }) ?? '', /inner learning rate must be a number > 0/);
      assert.match(invalidPanelCommand({ kind: 'setInnerSteps', value: 2.5 }) ?? '', /from 0 to 100/);
      assert.match(invalidPanelCommand({ kind: 'setInnerSteps', value: 101 }) ?? '', /from 0 to 100/);
      assert.match(invalidPanelCommand({ kind: 'setInnerSteps', value: '5' }) ?? '', /from 0 to 100/);
      assert.match(invalidPanelCommand({ kind: 'setLearner', learner: 'maml' }) ?? '', /learner "maml" is not one of/);
      assert.match(invalidPanelCommand({ kind: 'setSupport', support: 'random' }) ?? '', /support "random"/);
      assert.match(invalidPanelCommand({ kind: 'exportPng', chart: 'x', dataUrl: 'javascript:alert(1)' }) ?? '', /PNG data URL/);
      assert.match(invalidPanelCommand({ kind: 'selectTask', path: '' }) ?? '', /needs a path/);
      assert.match(invalidPanelToHostMessage({ type: 'panel/resync', version: PANEL_PROTOCOL_VERSION }) ?? '', /last seq/);
      assert.match(invalidPanelToHostMessage({ type: 'panel/ready' }) ?? '', /protocol version/);
    });
  });

  describe('applyPanelChange', () => {
    it('draws one outer-loss line per learner and starts a learner over when its steps restart', () => {
      const state = stateWith();
      const step = (learner: 'reptile' | 'fomaml', at: number, metaLoss: number) =>
        applyPanelChange(state, { kind: 'training', event: { type: 'outer-step', learner, step: at, totalSteps: 10, metaLoss, tasks: [] } });
      step('reptile', 1, 3);
      step('reptile', 2, 2.5);
      step('fomaml', 1, 3.1);
      assert.deepEqual(state.curves.outerLoss.map((series) => [series.learner, series.points.y]), [['reptile', [3, 2.5]], ['fomaml', [3.1]]]);
      step('reptile', 1, 2.9);
      assert.deepEqual(state.curves.outerLoss[0].points, { x: [1], y: [2.9] });
    });

    it('halves an over-long curve but keeps its first and newest points', () => {
      const state = stateWith();
      for (let at = 1; at <= MAX_CURVE_POINTS + 1; at++) {
        applyPanelChange(state, { kind: 'training', event: { type: 'outer-step', learner: 'reptile', step: at, totalSteps: 0, metaLoss: 1 / at, tasks: [] } });
      }
      const { x } = state.curves.outerLoss[0].points;
      assert.ok(x.length <= MAX_CURVE_POINTS / 2 + 1, `${x.length} points`);
      assert.equal(x[0], 1);
      assert.equal(x[x.length - 1], MAX_CURVE_POINTS + 1);
    });

    it('colours nodes with task losses and accumulates online loss over typed tokens', () => {
      const state = stateWith();
      applyPanelChange(state, { kind: 'training', event: { type: 'task-losses', learner: 'reptile', k: 5, losses: [{ task: 'a.ts', before: 4, after: 1.5 }] } });
      assert.deepEqual(state.graph.nodes[0], { path: 'a.ts', tokens: 10, community: 0, lossBefore: 4, lossAfter: 1.5 });
      applyPanelChange(state, { kind: 'training', event: { type: 'online-loss', task: 'a.ts', tokens: 4, loss: 2 } });
      applyPanelChange(state, { kind: 'training', event: { type: 'online-loss', task: 'a.ts', tokens: 3, loss: 1.8 } });
      assert.deepEqual(state.curves.online, { task: 'a.ts', points: { x: [4, 7], y: [2, 1.8] } });
      applyPanelChange(state, { kind: 'training', event: { type: 'online-loss', task: 'b.ts', tokens: 2, loss: 3 } });
      assert.deepEqual(state.curves.online, { task: 'b.ts', points: { x: [2], y: [3] } });
    });

    it('shows adaptation curves of the selected task only, the first curve selecting its task', () => {
      const state = stateWith();
      const curve = (task: string, learner: 'reptile' | 'transfer', queryLoss: number[], baseline?: number[]) =>
        applyPanelChange(state, { kind: 'training', event: { type: 'adaptation-curve', learner, task, queryLoss, baseline } });
      curve('a.ts', 'reptile', [3, 2], [3, 2.9]);
      curve('b.ts', 'reptile', [5, 4]);
      curve('a.ts', 'transfer', [3.2, 3.0]);
      assert.equal(state.selectedTask, 'a.ts');
      assert.deepEqual(state.curves.adaptation, {
        task: 'a.ts',
        curves: [{ learner: 'reptile', queryLoss: [3, 2] }, { learner: 'transfer', queryLoss: [3.2, 3.0] }],
        baseline: [3, 2.9],
      });
    });
  });
});

import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D } from '@tensorflow/tfjs-core';
import { initBackend } from '../../../../src/core/backend/backend';
import { flattenParams, initLstmParams } from '../../../../src/core/neural/lstm';
import type { ParamMap } from '../../../../src/core/neural/lstm';
import { SeededRandom } from '../../../../src/core/neural/random';
import {
  adaptMetaNetwork,
  adaptMetaNetworkToSupport,
  createMetaNetworkLearner,
  filmLossAndGrads,
  generateAdapter,
  initMetaNetworkState,
  meanLossWithFilm,
  metaNetworkGradients,
  metaNetworkQueryCurve,
  metaNetworkStep,
  transitionsOf,
  transitionsOfTokens,
} from '../../../../src/core/meta/metaNetwork';
import type { MetaNetworkState } from '../../../../src/core/meta/metaNetwork';
import { metaTrain } from '../../../../src/core/meta/metaTrain';
import type { MetaTrainEvent } from '../../../../src/core/meta/metaTrain';
import { disposeMap, lossAndGrads, mapParams, meanLoss, readParams } from '../../../../src/core/meta/paramMaps';
import type { MetaTask } from '../../../../src/core/meta/tasks';
import { shiftTaskFamily } from './toyTasks';
import { assertMapsClose, maxDifference, shiftTasks, tinyParams } from './helpers';

/** Every entry redrawn from U(±0.6), so every gradient is well above float32 noise. */
function lively(map: ParamMap, random: SeededRandom): ParamMap {
  return mapParams(map, (_, value) => tf.tensor(random.uniformArray(value.size, 0.6), value.shape));
}

function livelyState(seed: number): MetaNetworkState {
  const random = new SeededRandom(seed);
  const theta = tinyParams(seed);
  const base = initMetaNetworkState(theta, { seed, taskSize: 3 });
  const state = { params: lively(base.params, random), network: lively(base.network, random) };
  [theta, base.params, base.network].forEach(disposeMap);
  return state;
}

function disposeState(state: MetaNetworkState): void {
  disposeMap(state.params);
  disposeMap(state.network);
}

/** L_meta: query loss with the adapter generated from the support set. */
function adaptedQueryLoss(state: MetaNetworkState, task: MetaTask): number {
  const adapter = generateAdapter(state.params['embedding'] as Tensor2D, state.network, transitionsOf(task.support));
  const value = meanLossWithFilm(state.params, adapter, task.query).loss;
  adapter.dispose();
  return value;
}

function dot(a: ParamMap, b: ParamMap): number {
  return tf.tidy(() => tf.addN(Object.keys(a).map((name) => tf.sum(tf.mul(a[name], b[name])))).dataSync()[0]);
}

describe('Meta-Network', () => {
  before(async () => {
    await initBackend({ force: 'wasm' });
  });

  it('the gradient of the post-adaptation loss matches central finite differences through FiLM, encoder and hyper-network', () => {
    const state = livelyState(31);
    const [task] = shiftTasks(41, 1);
    const gradients = metaNetworkGradients(state, task, { taskWeight: 0, metaWeight: 1 });
    const random = new SeededRandom(5);
    const signs = (map: ParamMap): ParamMap =>
      mapParams(map, (_, value) => tf.tensor(Array.from({ length: value.size }, () => (random.next() < 0.5 ? -1 : 1)), value.shape));
    const zeros = (map: ParamMap): ParamMap => mapParams(map, (_, value) => tf.zerosLike(value));
    const only = (map: ParamMap, name: string): ParamMap =>
      mapParams(map, (other, value) => (other === name ? tf.sign(value) : tf.zerosLike(value)));
    // Random signs everywhere, then one tensor at a time along its own gradient's signs.
    const directions: { params: ParamMap; network: ParamMap }[] = [
      { params: signs(state.params), network: signs(state.network) },
      { params: zeros(state.params), network: only(gradients.networkGrad, 'hyper.kernel') },
      { params: zeros(state.params), network: only(gradients.networkGrad, 'encoder.target') },
      { params: zeros(state.params), network: only(gradients.networkGrad, 'encoder.bias') },
      { params: only(gradients.paramsGrad, 'embedding'), network: zeros(state.network) },
      { params: only(gradients.paramsGrad, 'output.kernel'), network: zeros(state.network) },
      { params: only(gradients.paramsGrad, 'layer0.recurrent'), network: zeros(state.network) },
    ];
    const epsilon = 1e-2;
    for (const direction of directions) {
      const analytic = dot(gradients.paramsGrad, direction.params) + dot(gradients.networkGrad, direction.network);
      const shifted = (sign: number): number => {
        const moved = {
          params: mapParams(state.params, (name, value) => tf.add(value, tf.mul(direction.params[name], sign * epsilon))),
          network: mapParams(state.network, (name, value) => tf.add(value, tf.mul(direction.network[name], sign * epsilon))),
        };
        const value = adaptedQueryLoss(moved, task);
        disposeState(moved);
        return value;
      };
      const numeric = (shifted(1) - shifted(-1)) / (2 * epsilon);
      assert.ok(Math.abs(analytic) > 1e-3, `directional derivative ${analytic} too small to test`);
      assert.ok(
        Math.abs(analytic - numeric) <= 0.02 * Math.abs(numeric) + 2e-4,
        `analytic ${analytic} vs finite difference ${numeric}`,
      );
      disposeState(direction);
    }
    assert.ok(Math.abs(gradients.metaLoss - adaptedQueryLoss(state, task)) < 1e-5);
    disposeMap(gradients.paramsGrad);
    disposeMap(gradients.networkGrad);
    disposeState(state);
  });

  it('α = 1, β = 0 trains the base model on L_task only and leaves encoder and hyper-network untouched', () => {
    const state = livelyState(32);
    const tasks = shiftTasks(42, 2);
    const lr = 0.1;
    const result = metaNetworkStep(state, tasks, { innerSteps: 0, innerLr: 0, outerLr: lr }, { taskWeight: 1, metaWeight: 0 });
    const before = readParams(state.network);
    const after = readParams(result.state.network);
    for (const name of Object.keys(before)) assert.deepEqual(after[name], before[name], `${name} unchanged`);
    // Expected: θ − lr · mean over tasks of ∇L_task, the base model's loss on support + query.
    const perTask = tasks.map((task) => lossAndGrads(state.params, [...task.support, ...task.query]));
    const expected = mapParams(state.params, (name, value) =>
      tf.sub(value, tf.mul(tf.addN(perTask.map((measured) => measured.grads[name])), lr / tasks.length)),
    );
    assertMapsClose(result.state.params, expected, 1e-5);
    const expectedTaskLoss = perTask.reduce((sum, measured) => sum + measured.loss, 0) / tasks.length;
    assert.ok(Math.abs(result.taskLoss - expectedTaskLoss) < 1e-5);
    perTask.forEach((measured) => disposeMap(measured.grads));
    [expected].forEach(disposeMap);
    disposeState(result.state);
    disposeState(state);
  });

  it('α = 0, β = 1 follows the post-adaptation loss only, and mixed weights combine the two gradients linearly', () => {
    const state = livelyState(33);
    const [task] = shiftTasks(43, 1);
    const taskOnly = metaNetworkGradients(state, task, { taskWeight: 1, metaWeight: 0 });
    const metaOnly = metaNetworkGradients(state, task, { taskWeight: 0, metaWeight: 1 });
    const mixed = metaNetworkGradients(state, task, { taskWeight: 0.3, metaWeight: 0.7 });
    // The encoder and hyper-network only ever see L_meta.
    assert.equal(Math.max(...Object.values(readParams(taskOnly.networkGrad)).flatMap((values) => Array.from(values, Math.abs))), 0);
    assert.ok(Math.max(...Object.values(readParams(metaOnly.networkGrad)).flatMap((values) => Array.from(values, Math.abs))) > 1e-3);
    // L_meta differs from L_task, so their θ-gradients differ too.
    assert.ok(maxDifference(taskOnly.paramsGrad, metaOnly.paramsGrad) > 1e-3);
    const combine = (a: ParamMap, b: ParamMap): ParamMap => mapParams(a, (name, value) => tf.add(tf.mul(value, 0.3), tf.mul(b[name], 0.7)));
    const expectedParams = combine(taskOnly.paramsGrad, metaOnly.paramsGrad);
    const expectedNetwork = combine(taskOnly.networkGrad, metaOnly.networkGrad);
    assertMapsClose(mixed.paramsGrad, expectedParams, 1e-5);
    assertMapsClose(mixed.networkGrad, expectedNetwork, 1e-5);
    assert.ok(Math.abs(metaOnly.metaLoss - adaptedQueryLoss(state, task)) < 1e-5);
    assert.ok(Math.abs(taskOnly.taskLoss - meanLoss(state.params, [...task.support, ...task.query]).loss) < 1e-5);
    // One outer step with α = 0 moves θ and the network by lr times the L_meta gradient.
    const lr = 0.05;
    const stepped = metaNetworkStep(state, [task], { innerSteps: 0, innerLr: 0, outerLr: lr }, { taskWeight: 0, metaWeight: 1 });
    const expectedTheta = mapParams(state.params, (name, value) => tf.sub(value, tf.mul(metaOnly.paramsGrad[name], lr)));
    const expectedNet = mapParams(state.network, (name, value) => tf.sub(value, tf.mul(metaOnly.networkGrad[name], lr)));
    assertMapsClose(stepped.state.params, expectedTheta, 1e-6);
    assertMapsClose(stepped.state.network, expectedNet, 1e-6);
    for (const gradients of [taskOnly, metaOnly, mixed]) {
      disposeMap(gradients.paramsGrad);
      disposeMap(gradients.networkGrad);
    }
    [expectedParams, expectedNetwork, expectedTheta, expectedNet].forEach(disposeMap);
    disposeState(stepped.state);
    disposeState(state);
  });

  it('on the shift family, the generated adapter beats the same base model without it on unseen tasks', function () {
    this.timeout(120000);
    // Short lanes (8 x 2) leave half of the query predictions without context,
    // so only the support set can tell the shift there.
    const family = (seed: number, tasks: number): MetaTask[] =>
      shiftTaskFamily({ vocabSize: 8, shifts: [1, 2, 3], tasks, length: 25, supportTokens: 9, batchSize: 8, timeSteps: 2, seed });
    const theta = flattenParams(initLstmParams({ vocabSize: 8, embeddingSize: 4, hiddenSize: 8, layers: 1 }, 3));
    const initial = initMetaNetworkState(theta, { seed: 4, taskSize: 8, hyperScale: 0.1 });
    const learner = createMetaNetworkLearner({ taskWeight: 0.2, metaWeight: 1, clipNorm: 5 });
    const events: MetaTrainEvent[] = [];
    const options = { outerSteps: 200, metaBatch: 4, innerSteps: 0, innerLr: 0, outerLr: 1, seed: 5 };
    const trained = metaTrain(learner, initial, family(1, 24), options, (event) => events.push(event));
    assert.equal(events.filter((event) => event.type === 'outer-step').length, 200);
    const unseen = family(2, 12);
    let adapted = 0;
    let base = 0;
    let untrained = 0;
    for (const task of unseen) {
      adapted += adaptedQueryLoss(trained.state, task) / unseen.length;
      base += meanLoss(trained.state.params, task.query).loss / unseen.length;
      untrained += adaptedQueryLoss(initial, task) / unseen.length;
    }
    const message = `query loss: adapted ${adapted}, base without adapter ${base}, before training ${untrained}`;
    assert.ok(adapted < base - 0.3, message);
    assert.ok(adapted < untrained - 1, message);
    disposeMap(theta);
    learner.disposeState(initial);
    learner.disposeState(trained.state);
  });

  it('adaptMetaNetwork: k = 0 is the generated adapter; k steps on the adapter lower the support loss and leave θ alone', () => {
    const state = livelyState(34);
    const tokens = [1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4, 5, 6];
    const zeroStep = adaptMetaNetwork(state, tokens);
    const direct = generateAdapter(state.params['embedding'] as Tensor2D, state.network, transitionsOfTokens(tokens));
    assert.deepEqual(Array.from(zeroStep.adapter.dataSync()), Array.from(direct.dataSync()));
    const [task] = shiftTasks(44, 1);
    assert.ok(Math.abs(zeroStep.loss(task.query).loss - meanLossWithFilm(state.params, direct, task.query).loss) < 1e-6);
    const thetaBefore = readParams(state.params);
    const stepped = adaptMetaNetwork(state, tokens, { steps: 4, lr: 0.5, batchSize: 2, timeSteps: 3 });
    assert.equal(stepped.supportLosses.length, 4);
    for (let i = 1; i < 4; i++) assert.ok(stepped.supportLosses[i] < stepped.supportLosses[i - 1], `${stepped.supportLosses}`);
    const thetaAfter = readParams(state.params);
    for (const name of Object.keys(thetaBefore)) assert.deepEqual(thetaAfter[name], thetaBefore[name]);
    const batch = task.query[0][0];
    const out = stepped.forward(batch);
    assert.deepEqual(out.logits.shape, [batch.batchSize, batch.timeSteps, 8]);
    tf.dispose([out.logits, ...out.state.h, ...out.state.c, direct]);
    zeroStep.dispose();
    stepped.dispose();
    // The loss-vs-k curve on a task: k = 0 is L_meta, k = 3 the task-support adaptation's query loss.
    const curve = metaNetworkQueryCurve(state, task, { steps: 3, lr: 0.5 });
    assert.equal(curve.length, 4);
    assert.ok(Math.abs(curve[0] - adaptedQueryLoss(state, task)) < 1e-6);
    const onSupport = adaptMetaNetworkToSupport(state, task.support, { steps: 3, lr: 0.5 });
    assert.ok(Math.abs(curve[3] - onSupport.loss(task.query).loss) < 1e-6);
    onSupport.dispose();
    disposeState(state);
  });

  it('leaks no tensors across outer steps, adaptation and forward', () => {
    const state = livelyState(35);
    const tasks = shiftTasks(45, 3, 25);
    const learner = createMetaNetworkLearner({ taskWeight: 0.5, metaWeight: 1, clipNorm: 1 });
    const identityAdapter = tf.zeros([1, 18]) as Tensor2D;
    const before = tf.memory().numTensors;
    const trained = metaTrain(learner, state, tasks, { outerSteps: 2, metaBatch: 2, innerSteps: 0, innerLr: 0, outerLr: 0.1, seed: 1 });
    const adapted = adaptMetaNetwork(trained.state, [1, 3, 5, 7, 2, 4, 6], { steps: 2, lr: 0.1 });
    const out = adapted.forward(tasks[0].query[0][0]);
    tf.dispose([out.logits, ...out.state.h, ...out.state.c]);
    adapted.loss(tasks[0].query);
    adapted.dispose();
    const gradients = metaNetworkGradients(trained.state, tasks[1], { taskWeight: 0, metaWeight: 1 });
    disposeMap(gradients.paramsGrad);
    disposeMap(gradients.networkGrad);
    const measured = filmLossAndGrads(trained.state.params, identityAdapter, tasks[2].query, true);
    measured.adapterGrad.dispose();
    learner.disposeState(trained.state);
    assert.equal(tf.memory().numTensors, before);
    identityAdapter.dispose();
    disposeState(state);
  });

  it('without support tokens, the encoder and hyper-network kernel get no gradient and only the hyper-network bias is trained', () => {
    const state = livelyState(36);
    const [task] = shiftTasks(47, 1);
    const noSupport: MetaTask = { name: 'no-support', support: [], query: task.query };
    const before = tf.memory().numTensors;
    const gradients = metaNetworkGradients(state, noSupport, { taskWeight: 0, metaWeight: 1 });
    const network = readParams(gradients.networkGrad);
    for (const name of ['encoder.input', 'encoder.target', 'encoder.bias', 'hyper.kernel']) {
      assert.ok(network[name].every((value) => value === 0), `${name} gets no gradient`);
    }
    assert.ok(network['hyper.bias'].some((value) => value !== 0), 'hyper.bias is trained');
    disposeMap(gradients.paramsGrad);
    disposeMap(gradients.networkGrad);
    assert.equal(tf.memory().numTensors, before);
    disposeState(state);
  });

  it('is reproducible: the same seeds give the same state', () => {
    const tasks = shiftTasks(46, 6, 25);
    const run = (): MetaNetworkState => {
      const theta = tinyParams(7);
      const initial = initMetaNetworkState(theta, { seed: 8, hyperScale: 0.1 });
      const learner = createMetaNetworkLearner({ taskWeight: 0.5, metaWeight: 1 });
      const result = metaTrain(learner, initial, tasks, { outerSteps: 3, metaBatch: 2, innerSteps: 0, innerLr: 0, outerLr: 0.2, seed: 9 });
      disposeMap(theta);
      learner.disposeState(initial);
      return result.state;
    };
    const [first, second] = [run(), run()];
    assert.equal(maxDifference(first.params, second.params), 0);
    assert.equal(maxDifference(first.network, second.network), 0);
    disposeState(first);
    disposeState(second);
  });
});

import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../../src/core/backend/backend';
import type { ParamMap } from '../../../../src/core/neural/lstm';
import { fomamlLearner } from '../../../../src/core/meta/fomaml';
import type { MetaLearner } from '../../../../src/core/meta/learner';
import { createMetaSgdLearner, initMetaSgdState } from '../../../../src/core/meta/metaSgd';
import type { MetaSgdState } from '../../../../src/core/meta/metaSgd';
import { metaTrain } from '../../../../src/core/meta/metaTrain';
import type { MetaTrainEvent, MetaTrainOptions } from '../../../../src/core/meta/metaTrain';
import { disposeMap, readParams } from '../../../../src/core/meta/paramMaps';
import { reptileLearner } from '../../../../src/core/meta/reptile';
import { transferLearner } from '../../../../src/core/meta/transfer';
import { shiftTasks, tinyParams } from './helpers';

const options: MetaTrainOptions = { outerSteps: 3, metaBatch: 2, innerSteps: 2, innerLr: 0.5, outerLr: 0.3, seed: 42 };

type AnyLearner = { learner: MetaLearner<unknown>; initial: (theta: ParamMap) => unknown };

const metaSgd = createMetaSgdLearner({ lrOuterLr: 10 });
const learners: AnyLearner[] = [
  { learner: reptileLearner as MetaLearner<unknown>, initial: (theta) => theta },
  { learner: fomamlLearner as MetaLearner<unknown>, initial: (theta) => theta },
  { learner: transferLearner as MetaLearner<unknown>, initial: (theta) => theta },
  { learner: metaSgd as MetaLearner<unknown>, initial: (theta) => initMetaSgdState(theta, 0.5) },
];

/** Every tensor value of a learner's state (θ, and α for Meta-SGD). */
function stateValues(learner: MetaLearner<unknown>, state: unknown): Record<string, Float32Array> {
  const values = readParams(learner.paramsOf(state));
  if (learner === (metaSgd as MetaLearner<unknown>)) {
    const logLrs = readParams((state as MetaSgdState).logLrs);
    for (const [name, value] of Object.entries(logLrs)) values[`logLr:${name}`] = value;
  }
  return values;
}

describe('meta-training outer loop', () => {
  const tasks = shiftTasks(51, 6);

  before(async () => {
    await initBackend({ force: 'wasm' });
  });

  for (const { learner, initial } of learners) {
    it(`${learner.name}: the same seed gives identical parameters after 3 outer steps, another seed other tasks`, () => {
      const theta = tinyParams(1);
      const start = initial(theta);
      const run = (seed: number): { values: Record<string, Float32Array>; batches: string[][] } => {
        const batches: string[][] = [];
        const result = metaTrain(learner, start, tasks, { ...options, seed }, (event) => {
          if (event.type === 'outer-step') batches.push(event.taskNames);
        });
        const values = stateValues(learner, result.state);
        learner.disposeState(result.state);
        return { values, batches };
      };
      const first = run(42);
      const second = run(42);
      assert.deepEqual(second.values, first.values);
      assert.deepEqual(second.batches, first.batches);
      assert.notDeepEqual(first.values, stateValues(learner, start), 'training moved the parameters');
      assert.notDeepEqual(run(43).batches, first.batches);
      if (start !== theta) learner.disposeState(start);
      disposeMap(theta);
    });

    it(`${learner.name}: leaks no tensors and leaves the initial state alone`, () => {
      const theta = tinyParams(2);
      const start = initial(theta);
      const values = stateValues(learner, start);
      const before = tf.memory().numTensors;
      const result = metaTrain(learner, start, tasks, { ...options, outerSteps: 1 });
      learner.disposeState(result.state);
      assert.equal(tf.memory().numTensors, before);
      assert.deepEqual(stateValues(learner, start), values);
      if (start !== theta) learner.disposeState(start);
      disposeMap(theta);
    });
  }

  it('reports every outer step and the end to the sink', () => {
    const theta = tinyParams(3);
    const events: MetaTrainEvent[] = [];
    const sink = (event: MetaTrainEvent): number => events.push(event);
    const result = metaTrain(reptileLearner, theta, tasks, { ...options, metaBatch: 10 }, sink);
    assert.deepEqual(
      events.map((event) =>
        event.type === 'outer-step'
          ? [event.type, event.step, event.taskNames.length]
          : [event.type, event.steps, event.cancelled],
      ),
      [['outer-step', 1, 6], ['outer-step', 2, 6], ['outer-step', 3, 6], ['done', 3, false]],
    );
    const reported = events.flatMap((event) => (event.type === 'outer-step' ? [event.metaLoss] : []));
    assert.deepEqual(reported, result.metaLosses);
    assert.ok(reported.every((loss) => Number.isFinite(loss) && loss > 0));
    [theta, result.state].forEach(disposeMap);
  });

  it('stops between outer steps when its signal is aborted, keeping the progress made', () => {
    const theta = tinyParams(4);
    const controller = new AbortController();
    const events: MetaTrainEvent[] = [];
    const stopAfterTwo = (event: MetaTrainEvent): void => {
      events.push(event);
      if (event.type === 'outer-step' && event.step === 2) controller.abort();
    };
    const longRun = { ...options, outerSteps: 10, signal: controller.signal };
    const result = metaTrain(reptileLearner, theta, tasks, longRun, stopAfterTwo);
    assert.equal(result.steps, 2);
    assert.equal(result.cancelled, true);
    assert.deepEqual(events[events.length - 1], { type: 'done', steps: 2, cancelled: true });
    assert.notDeepEqual(readParams(result.state), readParams(theta));
    [theta, result.state].forEach(disposeMap);
  });

  it('refuses to train without tasks, saying what to do', () => {
    const theta = tinyParams(5);
    assert.throws(() => metaTrain(reptileLearner, theta, [], options), /no training tasks/);
    disposeMap(theta);
  });
});

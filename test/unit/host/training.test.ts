import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TRAINING_SETTING_RANGES } from '../../../src/core/experiment/settingRanges';
import { DEFAULT_TRAIN_SETTINGS } from '../../../src/core/experiment/train';
import type { EngineRequest, TrainingStatus } from '../../../src/protocol/engineProtocol';
import type { TrainingEvent } from '../../../src/protocol/trainingEvents';
import {
  DEFAULT_TRAINING_SETTINGS,
  TRAINING_SETTING_KEYS,
  readTrainingSettings,
} from '../../../src/host/settings';
import type { TrainingSettings } from '../../../src/host/settings';
import {
  TrainingController,
  describeTraining,
  idleTraining,
  reduceTraining,
  panelControlsOf,
  trainingProgressPercent,
} from '../../../src/host/training';
import type { TrainingRunSettings, TrainingView } from '../../../src/host/training';

const state = (phase: Extract<TrainingEvent, { type: 'training-state' }>['phase'], step = 0, totalSteps = 0, learner: 'meta-sgd' | 'transfer' = 'meta-sgd', message?: string): TrainingEvent => ({
  type: 'training-state',
  phase,
  learner,
  step,
  totalSteps,
  ...(message === undefined ? {} : { message }),
});
const outerStep = (step: number, totalSteps: number, metaLoss: number): TrainingEvent => ({ type: 'outer-step', learner: 'meta-sgd', step, totalSteps, metaLoss, tasks: ['src/a.ts'] });

/** A run as the worker reports it: pre-training (as 'transfer'), three outer steps, the gate, done. */
const RUN: TrainingEvent[] = [
  state('preparing'),
  state('pretraining', 0, 8, 'transfer'),
  state('pretraining', 4, 8, 'transfer'),
  { type: 'pretrain-epoch', epoch: 1, epochs: 1, loss: 5.5 },
  outerStep(1, 3, 4.8),
  state('meta-training', 1, 3),
  outerStep(2, 3, 4.6),
  state('meta-training', 2, 3),
  outerStep(3, 3, 4.4),
  state('meta-training', 3, 3),
  state('fitting-gate'),
  state('done', 3, 3, 'meta-sgd', 'model saved (4 files, 2.1 s, wasm)'),
];

function fold(events: TrainingEvent[], from: TrainingView = idleTraining('meta-sgd')): TrainingView {
  return events.reduce(reduceTraining, from);
}

describe('training status (reducer)', () => {
  it('follows a run to the end with the step, the last meta-loss and the run learner', () => {
    const meta = fold(RUN.slice(0, 8));
    assert.deepEqual(
      { phase: meta.phase, learner: meta.learner, step: meta.step, totalSteps: meta.totalSteps, lastLoss: meta.lastLoss },
      { phase: 'meta-training', learner: 'meta-sgd', step: 2, totalSteps: 3, lastLoss: 4.6 },
    );
    const done = fold(RUN);
    assert.equal(done.phase, 'done');
    assert.equal(done.lastLoss, 4.4);
    assert.equal(describeTraining(done), 'done (meta-sgd, final meta-loss 4.400): model saved (4 files, 2.1 s, wasm)');
  });

  it('keeps the learner through pre-training, which the worker reports as transfer', () => {
    const view = fold(RUN.slice(0, 3));
    assert.equal(view.phase, 'pretraining');
    assert.equal(view.learner, 'meta-sgd');
    assert.equal(describeTraining(view), 'pre-training, step 4/8');
  });

  it('stays paused at its step when the step under way reports after the pause', () => {
    const running = fold(RUN.slice(0, 6));
    // The worker's pause event has no steps; the outer step in flight then finishes and reports.
    const paused = fold([state('paused'), outerStep(2, 3, 4.6), state('meta-training', 2, 3)], running);
    assert.equal(paused.phase, 'paused');
    assert.equal(paused.resumePhase, 'meta-training');
    assert.equal(paused.lastLoss, 4.6);
    assert.equal(describeTraining(paused), 'paused at meta-training step 2/3');
  });

  it('forgets the last run losses when a new run starts', () => {
    const again = fold([state('preparing')], fold(RUN));
    assert.equal(again.lastLoss, undefined);
    assert.equal(again.pretrainLoss, undefined);
    assert.equal(again.message, undefined);
  });

  it('says why it failed in one sentence', () => {
    const failed = fold([state('error', 0, 0, 'meta-sgd', 'Index at least two source files before training: every file is a task.')]);
    assert.equal(describeTraining(failed), 'failed: Index at least two source files before training: every file is a task');
  });

  it('moves the progress bar forward only, from 0 to 100', () => {
    let view = idleTraining('meta-sgd');
    const percents: number[] = [];
    for (const event of RUN) {
      view = reduceTraining(view, event);
      const percent = trainingProgressPercent(view);
      if (percent !== undefined) percents.push(percent);
    }
    assert.equal(percents[0], 0);
    assert.equal(percents[percents.length - 1], 100);
    for (let i = 1; i < percents.length; i++) assert.ok(percents[i] >= percents[i - 1], `progress went back: ${percents.join(', ')}`);
  });
});

describe('training settings', () => {
  it('default to what the engine trains with', () => {
    for (const key of Object.keys(TRAINING_SETTING_RANGES) as (keyof typeof TRAINING_SETTING_RANGES)[]) {
      assert.equal(DEFAULT_TRAINING_SETTINGS[key], DEFAULT_TRAIN_SETTINGS[key], key);
    }
    assert.deepEqual(readTrainingSettings(() => undefined), DEFAULT_TRAINING_SETTINGS);
  });

  it('declare the same defaults and ranges in package.json', () => {
    const manifest = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8'));
    const properties = manifest.contributes.configuration.properties;
    for (const [field, key] of Object.entries(TRAINING_SETTING_KEYS)) {
      const declared = properties[`metacomplete.${key}`];
      assert.ok(declared !== undefined, `package.json declares no metacomplete.${key}`);
      assert.equal(declared.default, DEFAULT_TRAINING_SETTINGS[field as keyof TrainingSettings], key);
      assert.ok(typeof declared.description === 'string' && declared.description.length > 0, `${key} has no description`);
      const range = TRAINING_SETTING_RANGES[field as keyof typeof TRAINING_SETTING_RANGES];
      if (range !== undefined) assert.deepEqual([declared.minimum, declared.maximum], [range.min, range.max], key);
    }
  });

  it('declare the support source in package.json with the engine default', () => {
    const manifest = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8'));
    const declared = manifest.contributes.configuration.properties['metacomplete.training.support'];
    assert.ok(declared !== undefined, 'package.json declares no metacomplete.training.support');
    assert.equal(declared.default, DEFAULT_TRAIN_SETTINGS.support);
    assert.deepEqual(declared.enum, ['prefix', 'neighbours']);
    assert.ok(typeof declared.description === 'string' && declared.description.length > 0);
  });

  it('clamp, round or fall back on hand-edited values', () => {
    const values: Record<string, unknown> = {
      'training.learner': 'reptile',
      'training.outerSteps': 2.6,
      'training.innerLr': -1,
      'training.vocabSize': 'many',
      'training.hiddenSize': 1e9,
    };
    const settings = readTrainingSettings((key) => values[key]);
    assert.equal(settings.learner, 'reptile');
    assert.equal(settings.outerSteps, 3);
    assert.equal(settings.innerLr, TRAINING_SETTING_RANGES.innerLr.min);
    assert.equal(settings.vocabSize, DEFAULT_TRAINING_SETTINGS.vocabSize);
    assert.equal(settings.hiddenSize, TRAINING_SETTING_RANGES.hiddenSize.max);
    assert.equal(readTrainingSettings((key) => (key === 'training.learner' ? 'maml' : undefined)).learner, 'meta-sgd');
  });
});

/** A worker that answers training requests as TrainingService does, and records them. */
class FakeEngine {
  readonly requests: EngineRequest[] = [];
  state: TrainingStatus['state'] = 'idle';
  startError: string | undefined;

  async request(request: EngineRequest): Promise<never> {
    this.requests.push(request);
    const answer = (): TrainingStatus => ({ state: this.state, learner: 'meta-sgd' });
    switch (request.type) {
      case 'training/start':
        if (this.startError !== undefined) throw new Error(this.startError);
        this.state = 'running';
        return answer() as never;
      case 'training/resume':
        if (this.state === 'paused') this.state = 'running';
        return answer() as never;
      case 'training/pause':
        if (this.state === 'running') this.state = 'paused';
        return answer() as never;
      case 'training/cancel':
        if (this.state !== 'idle') this.state = 'cancelling';
        return answer() as never;
      default:
        throw new Error(`unexpected request ${request.type}`);
    }
  }
}

function makeController(options: { modelPath?: string; settings?: Partial<TrainingRunSettings> } = {}) {
  const engine = new FakeEngine();
  const lines: string[] = [];
  const log = { info: (line: string) => lines.push(`info ${line}`), warn: (line: string) => lines.push(`warn ${line}`), error: (line: string) => lines.push(`error ${line}`) };
  const modelPath = 'modelPath' in options ? options.modelPath : '/storage/model.mcmodel';
  const controller = new TrainingController(engine, {
    settings: () => ({ ...DEFAULT_TRAINING_SETTINGS, ...options.settings }),
    modelPath: () => modelPath,
    log,
  });
  return { engine, controller, lines };
}

describe('TrainingController', () => {
  it('starts the learner from the settings with their sizes and rates, writing the model to workspace storage', async () => {
    const { engine, controller } = makeController({ settings: { learner: 'reptile', outerSteps: 3, hiddenSize: 16 } });
    assert.equal(await controller.start(), 'started');
    const start = engine.requests.find((request) => request.type === 'training/start');
    assert.ok(start !== undefined && start.type === 'training/start');
    assert.equal(start.learner, 'reptile');
    assert.equal(start.modelPath, '/storage/model.mcmodel');
    assert.equal(start.overrides.outerSteps, 3);
    assert.equal(start.overrides.hiddenSize, 16);
    assert.equal(start.overrides.innerLr, DEFAULT_TRAINING_SETTINGS.innerLr);
    assert.equal(controller.status.phase, 'preparing');
  });

  it('resumes a paused run instead of starting another', async () => {
    const { engine, controller } = makeController();
    await controller.start();
    for (const event of RUN.slice(1, 6)) controller.handleEvent(event);
    await controller.pause();
    controller.handleEvent(state('paused'));
    assert.equal(controller.status.phase, 'paused');
    const seen: TrainingEvent[] = [];
    controller.onEvent((event) => seen.push(event));
    assert.equal(await controller.start(), 'resumed');
    assert.equal(engine.requests.filter((request) => request.type === 'training/start').length, 1);
    assert.equal(controller.status.phase, 'meta-training');
    // The panel hears of the resume, which the worker does not announce.
    assert.deepEqual(seen.map((event) => event.type === 'training-state' && event.phase), ['meta-training']);
  });

  it('says so when asked to pause with nothing running, and when there is no workspace storage', async () => {
    await assert.rejects(makeController().controller.pause(), /No training is running/);
    await assert.rejects(makeController({ modelPath: undefined }).controller.start(), /open a folder/);
  });

  it("passes the worker's refusal on", async () => {
    const { engine, controller } = makeController();
    engine.startError = 'Index at least two source files before training: every file is a task.';
    await assert.rejects(controller.start(), /Index at least two source files/);
    assert.equal(controller.status.phase, 'idle');
  });

  it('resolves whenStopped when the run ends, and logs each phase once with every outer step', async () => {
    const { controller, lines } = makeController();
    await controller.start();
    const stopped = controller.whenStopped();
    for (const event of RUN) controller.handleEvent(event);
    const view = await stopped;
    assert.equal(view.phase, 'done');
    const phaseLines = lines.filter((line) => line.startsWith('info Training: ') && !/outer step|epoch/.test(line));
    assert.deepEqual(phaseLines.map((line) => line.slice('info Training: '.length).split(/[,(.]/)[0].trim()), [
      'preparing tasks from the indexed files',
      'pre-training',
      'meta-training',
      'fitting the neural / n-gram gate',
      'done',
    ]);
    assert.ok(lines.includes('info Training: meta-sgd outer step 3/3, meta-loss 4.400 nats/token.'), lines.join('\n'));
  });

  it('drops a malformed event with a warning', () => {
    const { controller, lines } = makeController();
    controller.handleEvent({ type: 'training-state', phase: 'exploding', learner: 'meta-sgd', step: 0, totalSteps: 0 } as unknown as TrainingEvent);
    assert.equal(controller.status.phase, 'idle');
    assert.ok(lines.some((line) => line.startsWith('warn Ignored a malformed training event')), lines.join('\n'));
  });

  it("applies the panel's controls to the settings, the support source included, and starts with them", async () => {
    const { engine, controller } = makeController();
    const saved: Partial<TrainingRunSettings>[] = [];
    const handler = controller.panelHandler(async (changes) => {
      saved.push(changes);
    });
    const controls = { learner: 'fomaml' as const, alpha: 0.5, beta: 2, innerLr: 0.1, innerSteps: 3, support: 'neighbours' as const };
    await handler.applyControls(controls);
    assert.deepEqual(saved, [{ learner: 'fomaml', alpha: 0.5, beta: 2, innerLr: 0.1, innerSteps: 3, support: 'neighbours' }]);
    await handler.start(controls);
    const start = engine.requests.find((request) => request.type === 'training/start');
    assert.ok(start !== undefined && start.type === 'training/start');
    assert.equal(start.learner, 'fomaml');
    assert.equal(start.overrides.innerSteps, 3);
    assert.equal(start.support, 'neighbours');
  });

  it('starts with the support source of the settings, prefix when they name none', async () => {
    const plain = makeController();
    await plain.controller.start();
    const first = plain.engine.requests.find((request) => request.type === 'training/start');
    assert.ok(first !== undefined && first.type === 'training/start');
    assert.equal(first.support, 'prefix');
    const { engine, controller } = makeController({ settings: { support: 'neighbours' } });
    await controller.start();
    const start = engine.requests.find((request) => request.type === 'training/start');
    assert.ok(start !== undefined && start.type === 'training/start');
    assert.equal(start.support, 'neighbours');
    assert.equal(panelControlsOf({ ...DEFAULT_TRAINING_SETTINGS, support: 'neighbours' }).support, 'neighbours');
  });
});

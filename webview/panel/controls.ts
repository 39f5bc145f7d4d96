import { invalidPanelCommand } from '../../src/protocol/panelProtocol';
import type { PanelCommand, PanelControls, PanelTrainingState } from '../../src/protocol/panelProtocol';
import { LEARNER_NAMES } from '../../src/protocol/trainingEvents';
import type { LearnerName, SupportKind, TrainingPhase } from '../../src/protocol/trainingEvents';
import { createButton, createDropdown, createTextField } from '../ui/toolkit';
import type { TextControl } from '../ui/toolkit';

export const LEARNER_LABELS: Record<LearnerName, string> = {
  transfer: 'Transfer (baseline)',
  reptile: 'Reptile',
  fomaml: 'FOMAML',
  'meta-sgd': 'Meta-SGD',
  'meta-network': 'Meta-Network',
};

const SUPPORT_LABELS: Record<SupportKind, string> = {
  prefix: 'File prefix',
  neighbours: 'Graph neighbours',
};

const RUNNING: readonly TrainingPhase[] = ['preparing', 'pretraining', 'meta-training', 'fitting-gate'];

const PHASE_LABELS: Record<TrainingPhase, string> = {
  idle: 'Idle',
  preparing: 'Preparing tasks',
  pretraining: 'Pre-training',
  'meta-training': 'Meta-training',
  'fitting-gate': 'Fitting the gate',
  paused: 'Paused',
  done: 'Done',
  cancelled: 'Cancelled',
  error: 'Error',
};

type NumericControl = 'alpha' | 'beta' | 'innerLr' | 'innerSteps';

/**
 * Start, pause and the training settings. A change is validated here with
 * the protocol's rules, shown as a problem under the field when it breaks
 * one, and otherwise sent as a command; the fields then show what the host
 * confirms in the next snapshot or delta.
 */
export class ControlsView {
  readonly element: HTMLElement;
  private readonly start = createButton('start', 'Start', 'primary', () => this.send({ kind: 'start' }));
  private readonly pause = createButton('pause', 'Pause', 'secondary', () => this.send({ kind: 'pause' }));
  private readonly learner = createDropdown<LearnerName>(
    'learner',
    'Learner',
    LEARNER_NAMES.map((name) => ({ value: name, label: LEARNER_LABELS[name] })),
    (learner) => this.send({ kind: 'setLearner', learner }),
  );
  private readonly support = createDropdown<SupportKind>(
    'support',
    'Support set',
    (['prefix', 'neighbours'] as const).map((kind) => ({ value: kind, label: SUPPORT_LABELS[kind] })),
    (support) => this.send({ kind: 'setSupport', support }),
  );
  private readonly numeric: Record<NumericControl, TextControl>;
  private readonly status: HTMLElement;
  private readonly backend: HTMLElement;

  constructor(private readonly post: (command: PanelCommand) => void) {
    this.numeric = {
      alpha: this.numberField('alpha', 'α (task loss weight)', (value) => ({ kind: 'setAlpha', value })),
      beta: this.numberField('beta', 'β (meta loss weight)', (value) => ({ kind: 'setBeta', value })),
      innerLr: this.numberField('inner-lr', 'Inner learning rate', (value) => ({ kind: 'setInnerLr', value })),
      innerSteps: this.numberField('inner-steps', 'Inner steps', (value) => ({ kind: 'setInnerSteps', value })),
    };
    this.element = document.createElement('section');
    this.element.className = 'controls';
    const buttons = document.createElement('div');
    buttons.className = 'buttons';
    buttons.append(this.start.element, this.pause.element);
    this.status = document.createElement('p');
    this.status.className = 'status';
    this.status.id = 'training-status';
    this.status.setAttribute('aria-live', 'polite');
    this.backend = document.createElement('p');
    this.backend.className = 'backend';
    this.backend.id = 'backend';
    this.element.append(
      buttons,
      this.learner.element,
      this.numeric.alpha.element,
      this.numeric.beta.element,
      this.numeric.innerLr.element,
      this.numeric.innerSteps.element,
      this.support.element,
      this.backend,
      this.status,
    );
  }

  /** Shows the confirmed settings and the training state; clears problems. */
  render(controls: PanelControls, training: PanelTrainingState): void {
    this.learner.setValue(controls.learner);
    this.support.setValue(controls.support);
    for (const name of Object.keys(this.numeric) as NumericControl[]) {
      this.numeric[name].setValue(String(controls[name]));
      this.numeric[name].setProblem(undefined);
    }
    this.renderTraining(training);
  }

  renderTraining(training: PanelTrainingState): void {
    const running = RUNNING.includes(training.phase);
    this.start.setDisabled(running);
    this.pause.setDisabled(!running);
    this.element.dataset.phase = training.phase;
    const steps = training.totalSteps > 0 ? ` — step ${training.step} / ${training.totalSteps}` : '';
    const pretrain =
      training.pretrain === undefined ? '' : ` — pre-training epoch ${training.pretrain.epoch} / ${training.pretrain.epochs}, loss ${training.pretrain.loss.toFixed(3)}`;
    const message = training.message === undefined ? '' : ` — ${training.message}`;
    this.status.textContent = `${PHASE_LABELS[training.phase]} (${LEARNER_LABELS[training.learner]})${steps}${pretrain}${message}`;
    this.backend.textContent = `Backend: ${training.backend === '' ? 'not reported yet' : training.backend}`;
  }

  private send(command: PanelCommand): void {
    const problem = invalidPanelCommand(command);
    if (problem !== undefined) return;
    this.post(command);
  }

  private numberField(id: string, label: string, command: (value: number) => PanelCommand): TextControl {
    const field: TextControl = createTextField(id, label, {
      size: 8,
      onCommit: (text) => {
        const value = text.trim() === '' ? Number.NaN : Number(text);
        const candidate = command(value);
        const problem = invalidPanelCommand(candidate);
        field.setProblem(problem === undefined ? undefined : `${label}: ${problem.replace(/^.*? must/, 'must')}.`);
        if (problem === undefined) this.post(candidate);
      },
    });
    return field;
  }
}

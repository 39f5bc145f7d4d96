import { SeededRandom } from '../../../../src/core/neural/random';
import { makeTask } from '../../../../src/core/meta/tasks';
import type { MetaTask } from '../../../../src/core/meta/tasks';

/**
 * A synthetic task family for sanity checks of the meta-learners: in task τ
 * the next class follows the current one by a task-specific shift,
 * next = 1 + ((current − 1 + shift_τ) mod (vocab − 1)), over classes
 * 1..vocab−1 (class 0 is `<unk>` and never appears). A model cannot know the
 * shift before seeing the support set, so learning how to adapt pays off.
 */
export interface ShiftFamilyOptions {
  /** Model classes, `<unk>` included (≥ 3). */
  vocabSize: number;
  /** Shifts the tasks draw from (each in 1..vocab−2). */
  shifts: readonly number[];
  tasks: number;
  /** Tokens per task file. */
  length: number;
  /** Leading tokens of each file that form its support set. */
  supportTokens: number;
  batchSize: number;
  timeSteps: number;
  seed: number;
}

export function shiftTaskFamily(options: ShiftFamilyOptions): MetaTask[] {
  const { vocabSize, shifts } = options;
  const classes = vocabSize - 1;
  if (classes < 2) throw new RangeError(`A shift family needs a vocabulary of at least 3, got ${vocabSize}.`);
  const random = new SeededRandom(options.seed);
  return Array.from({ length: options.tasks }, (_, index) => {
    const shift = shifts[random.nextInt(shifts.length)];
    let current = random.nextInt(classes);
    const ids: number[] = [];
    for (let i = 0; i < options.length; i++) {
      ids.push(1 + current);
      current = (current + shift) % classes;
    }
    return makeTask(`shift${shift}-${index}`, ids, {
      batchSize: options.batchSize,
      timeSteps: options.timeSteps,
      support: { kind: 'prefixTokens', tokens: options.supportTokens },
    });
  });
}

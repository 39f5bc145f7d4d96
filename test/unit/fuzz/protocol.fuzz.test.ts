// Fuzzes every validator of both protocols with hostile values: the engine's
// parsers must return a value or throw ProtocolError, the panel's must return
// a problem (a short line) or undefined, never throw; each within a fraction
// of a second. Inputs are valid messages with one part replaced by a random
// value, and random values with message shapes.
import * as assert from 'node:assert/strict';
import {
  ENGINE_PROTOCOL_VERSION,
  ProtocolError,
  parseEventEnvelope,
  parseRequestEnvelope,
  parseResponseEnvelope,
} from '../../../src/protocol/engineProtocol';
import {
  PANEL_PROTOCOL_VERSION,
  emptyPanelState,
  invalidHostToPanelMessage,
  invalidInnerLr,
  invalidInnerSteps,
  invalidPanelCommand,
  invalidPanelToHostMessage,
  invalidTrainingEvent,
  invalidWeight,
} from '../../../src/protocol/panelProtocol';
import { FuzzRandom, fuzzRuns } from './fuzzRuns';

/** Longer than any message should be once a bad value is quoted in it. */
const MAX_MESSAGE_CHARS = 400;
/** Per input: generous, since the machine is shared; a validator that is not linear blows through it at once. */
const MAX_MILLISECONDS = 1_000;

const bytes = new Uint8Array([104, 105]);
const state = emptyPanelState();
state.graph = { nodes: [{ path: 'a.ts', tokens: 3, community: 0 }, { path: 'b.ts', tokens: 4, community: 1, lossBefore: 2, lossAfter: 1 }], edges: [{ source: 'a.ts', target: 'b.ts', weight: 0.5 }] };
state.curves.outerLoss = [{ learner: 'reptile', points: { x: [1, 2], y: [3, 2.5] } }];
state.curves.adaptation = { task: 'a.ts', curves: [{ learner: 'reptile', queryLoss: [3, 2] }], baseline: [3, 2.8] };
state.curves.online = { task: 'a.ts', points: { x: [1], y: [2] } };
state.curves.fewShot = [{ learner: 'reptile', k: 5, entropy: 3.5, mrr: 0.4 } as never];

const TRAINING_EVENTS: unknown[] = [
  { type: 'training-state', phase: 'meta-training', learner: 'reptile', step: 1, totalSteps: 3, message: 'ok' },
  { type: 'pretrain-epoch', epoch: 1, epochs: 2, loss: 5.5 },
  { type: 'outer-step', learner: 'fomaml', step: 1, totalSteps: 3, metaLoss: 4.2, tasks: ['a.ts'] },
  { type: 'adaptation-curve', learner: 'meta-sgd', task: 'a.ts', queryLoss: [3, 2], baseline: [3, 2.9] },
  { type: 'task-losses', learner: 'reptile', k: 5, losses: [{ task: 'a.ts', before: 3, after: 2 }] },
  { type: 'online-loss', task: 'a.ts', tokens: 4, loss: 3.1 },
  { type: 'fewshot-table', rows: [{ learner: 'reptile', k: 5, entropy: 3.5, mrr: 0.4 }] },
];
const REQUESTS: unknown[] = [
  { type: 'files/update', files: [{ path: 'a.ts', bytes, stamp: '1:2' }, { path: 'b.ts', bytes }] },
  { type: 'files/remove', paths: ['a.ts'] },
  { type: 'completion/complete', path: 'a.ts', textBefore: 'con', k: 5 },
  { type: 'completion/continue', path: 'a.ts', textBefore: 'x.', textAfter: ')', maxTokens: 8, beamWidth: 3, minProbability: 0.01 },
  { type: 'taskGraph/snapshot' },
  { type: 'engine/stats' },
  { type: 'engine/save', path: '/s/index.mcstate' },
  { type: 'engine/restore', path: 'C:\\s\\index.mcstate' },
  { type: 'model/load', path: '/s/model.mcmodel' },
  { type: 'model/adapt', path: 'a.ts', text: 'const a = 1;' },
  { type: 'training/start', learner: 'reptile', modelPath: '/s/m.mcmodel', overrides: { outerSteps: 10, innerLr: 0.1 }, support: 'neighbours' },
  { type: 'training/pause' },
  { type: 'training/cancel' },
];
const COMMANDS: unknown[] = [
  { kind: 'start' },
  { kind: 'setLearner', learner: 'meta-sgd' },
  { kind: 'setAlpha', value: 0.5 },
  { kind: 'setInnerSteps', value: 5 },
  { kind: 'setSupport', support: 'prefix' },
  { kind: 'selectTask', path: 'a.ts' },
  { kind: 'exportCsv', chart: 'outer', csv: 'x,y\n1,2' },
  { kind: 'exportPng', chart: 'outer', dataUrl: 'data:image/png;base64,iVBORw0KGgo=' },
];

/** Valid messages for each validator; the fuzzer breaks them. */
const SEEDS = {
  request: REQUESTS.map((request, id) => ({ version: ENGINE_PROTOCOL_VERSION, id, request })),
  event: TRAINING_EVENTS.map((event) => ({ version: ENGINE_PROTOCOL_VERSION, event })),
  response: [
    { version: ENGINE_PROTOCOL_VERSION, id: 1, ok: true, result: { files: 3 } },
    { version: ENGINE_PROTOCOL_VERSION, id: 2, ok: false, error: 'no model' },
  ],
  hostToPanel: [
    { type: 'panel/snapshot', version: PANEL_PROTOCOL_VERSION, seq: 4, state },
    ...TRAINING_EVENTS.map((event) => ({ type: 'panel/delta', version: PANEL_PROTOCOL_VERSION, seq: 5, change: { kind: 'training', event } })),
    { type: 'panel/delta', version: PANEL_PROTOCOL_VERSION, seq: 5, change: { kind: 'graph', graph: state.graph } },
    { type: 'panel/delta', version: PANEL_PROTOCOL_VERSION, seq: 5, change: { kind: 'controls', controls: state.controls } },
    { type: 'panel/delta', version: PANEL_PROTOCOL_VERSION, seq: 5, change: { kind: 'selection', task: 'a.ts', adaptation: state.curves.adaptation } },
    { type: 'panel/delta', version: PANEL_PROTOCOL_VERSION, seq: 5, change: { kind: 'backend', backend: 'wasm' } },
    { type: 'panel/notice', version: PANEL_PROTOCOL_VERSION, level: 'info', text: 'saved' },
  ],
  panelToHost: [
    { type: 'panel/ready', version: PANEL_PROTOCOL_VERSION },
    { type: 'panel/resync', version: PANEL_PROTOCOL_VERSION, lastSeq: 3 },
    ...COMMANDS.map((command) => ({ type: 'panel/command', version: PANEL_PROTOCOL_VERSION, command })),
  ],
  command: COMMANDS,
  trainingEvent: TRAINING_EVENTS,
  weight: [0, 0.5, 3],
  innerLr: [0.1, 2],
  innerSteps: [0, 5, 100],
};

const FIELD_NAMES = [
  'type', 'version', 'id', 'request', 'event', 'ok', 'result', 'error', 'kind', 'command', 'change', 'state', 'seq', 'lastSeq',
  'files', 'paths', 'path', 'bytes', 'stamp', 'k', 'learner', 'phase', 'step', 'totalSteps', 'overrides', 'support', 'graph',
  'nodes', 'edges', 'value', 'task', 'tasks', 'losses', 'rows', 'x', 'y', 'queryLoss', 'baseline', 'controls', 'curves',
];
const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'toJSON', 'hasOwnProperty', 'length', 'then'];
const TYPE_NAMES = [
  ...[...REQUESTS, ...TRAINING_EVENTS].map((message) => (message as { type: string }).type),
  ...[...SEEDS.hostToPanel, ...SEEDS.panelToHost].map((message) => message.type),
  ...COMMANDS.map((command) => (command as { kind: string }).kind),
  'training', 'graph', 'controls', 'selection', 'backend', 'reptile', 'meta-sgd', 'prefix', 'neighbours', 'idle', 'done',
];

class ValueFuzzer {
  constructor(private readonly random: FuzzRandom) {}

  value(depth: number): unknown {
    const random = this.random;
    const roll = random.nextInt(depth <= 0 ? 9 : 13);
    switch (roll) {
      case 0:
        return random.pick([NaN, Infinity, -Infinity, -0, 0, 1, -1, 0.5, 2 ** 53, -(2 ** 53) - 2, 1e308, 5e-324, ENGINE_PROTOCOL_VERSION, PANEL_PROTOCOL_VERSION, 101, 65]);
      case 1:
        return (random.next() - 0.5) * 10 ** random.nextInt(12);
      case 2:
        return random.pick([0n, -1n, 2n, 10n ** 40n, -(2n ** 64n)]);
      case 3:
        return random.pick([Symbol('x'), Symbol.iterator, Symbol.for('type')]);
      case 4:
        return random.pick([() => 1, function named() {}, class {}, Math.max]);
      case 5:
        return random.pick([null, undefined, true, false]);
      case 6:
        return this.string();
      case 7:
        return random.pick(TYPE_NAMES);
      case 8:
        return random.pick([new Uint8Array(random.nextInt(4)), new Float32Array(2), new Date(0), /x/, new Map(), new Set([1]), new Error('e')]);
      case 9:
      case 10:
        return this.object(depth - 1);
      case 11:
        return Array.from({ length: random.nextInt(6) }, () => this.value(depth - 1));
      default:
        return this.wrapDeep(this.value(0), 1 + random.nextInt(5000));
    }
  }

  string(): string {
    const random = this.random;
    switch (random.nextInt(5)) {
      case 0:
        return '';
      case 1:
        return random.pick(['/abs/path', 'C:\\x', 'relative', 'data:image/png;base64,AAAA', '\u0000', '\ud800', '𝔘', '"', '\\', 'a'.repeat(100_000)]);
      case 2:
        return String.fromCharCode(...Array.from({ length: random.nextInt(20) }, () => random.nextInt(0x10000)));
      default:
        return random.pick(FIELD_NAMES) + random.pick(['', '/', 'x', ' ']);
    }
  }

  object(depth: number): Record<string, unknown> {
    const random = this.random;
    const object: Record<string, unknown> = random.chance(0.1) ? Object.create(null) : {};
    if (random.chance(0.5)) object.type = random.pick(TYPE_NAMES);
    const count = random.nextInt(6);
    for (let i = 0; i < count; i++) this.put(object, this.key(), this.value(depth));
    if (random.chance(0.05)) object.self = object;
    return object;
  }

  key(): string {
    const random = this.random;
    const roll = random.next();
    return roll < 0.6 ? random.pick(FIELD_NAMES) : roll < 0.85 ? random.pick(HOSTILE_KEYS) : this.string().slice(0, 20);
  }

  /** Sets a field as assignment would (for `__proto__`: the prototype) or as JSON.parse does (an own property). */
  put(target: Record<string, unknown>, key: string, value: unknown): void {
    // Some changes cannot be made (a cyclic prototype, an array's length set to a BigInt): the input stays as it was.
    try {
      if (this.random.chance(0.5)) target[key] = value;
      else Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
    } catch {
      // Not a failure of the validator: the fuzzer made an impossible change.
    }
  }

  wrapDeep(inner: unknown, depth: number): unknown {
    let value = inner;
    const key = this.random.pick(FIELD_NAMES);
    const asArray = this.random.chance(0.5);
    for (let i = 0; i < depth; i++) value = asArray ? [value] : { [key]: value, type: 'x' };
    return value;
  }

  /** A copy of `seed` with one part (perhaps the whole) replaced, removed, or given hostile company. */
  mutate(seed: unknown, steps: number): unknown {
    let value = this.copy(seed);
    for (let step = 0; step < steps; step++) value = this.mutateOnce(value);
    return value;
  }

  private mutateOnce(root: unknown): unknown {
    const random = this.random;
    const holders: Record<string, unknown>[] = [];
    const collect = (value: unknown, depth: number): void => {
      if (typeof value !== 'object' || value === null || depth > 8 || ArrayBuffer.isView(value)) return;
      holders.push(value as Record<string, unknown>);
      for (const child of Object.values(value)) collect(child, depth + 1);
    };
    collect(root, 0);
    if (holders.length === 0 || random.chance(0.05)) return this.value(3);
    const holder = random.pick(holders);
    const keys = Object.keys(holder);
    const key = keys.length > 0 && random.chance(0.8) ? random.pick(keys) : this.key();
    const roll = random.next();
    if (roll < 0.15) Reflect.deleteProperty(holder, key);
    else if (roll < 0.2) this.put(holder, key, root); // a cycle back to the top
    else this.put(holder, key, this.value(2));
    return root;
  }

  private copy(value: unknown): unknown {
    if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return value;
    if (Array.isArray(value)) return value.map((item) => this.copy(item));
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.copy(item)]));
  }
}

interface Target {
  name: string;
  seeds: readonly unknown[];
  /** Runs the validator; returns the error message it produced, if any. */
  run(input: unknown): string | undefined;
}

/** An engine parser: a value, or a ProtocolError (whose message is returned). */
function throwing(name: string, seeds: readonly unknown[], parse: (input: unknown) => unknown): Target {
  return {
    name,
    seeds,
    run(input) {
      try {
        parse(input);
        return undefined;
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw new Error(`${name} threw ${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`);
        return error.message;
      }
    },
  };
}

/** A panel validator: a problem or undefined, never an exception. */
function answering(name: string, seeds: readonly unknown[], validate: (input: unknown) => string | undefined): Target {
  return {
    name,
    seeds,
    run(input) {
      const problem = validate(input);
      if (problem !== undefined && typeof problem !== 'string') throw new Error(`${name} returned ${typeof problem}`);
      return problem;
    },
  };
}

const TARGETS: Target[] = [
  throwing('parseRequestEnvelope', SEEDS.request, parseRequestEnvelope),
  throwing('parseEventEnvelope', SEEDS.event, parseEventEnvelope),
  throwing('parseResponseEnvelope', SEEDS.response, parseResponseEnvelope),
  answering('invalidHostToPanelMessage', SEEDS.hostToPanel, invalidHostToPanelMessage),
  answering('invalidPanelToHostMessage', SEEDS.panelToHost, invalidPanelToHostMessage),
  answering('invalidPanelCommand', SEEDS.command, invalidPanelCommand),
  answering('invalidTrainingEvent', SEEDS.trainingEvent, invalidTrainingEvent),
  answering('invalidWeight', SEEDS.weight, invalidWeight),
  answering('invalidInnerLr', SEEDS.innerLr, invalidInnerLr),
  answering('invalidInnerSteps', SEEDS.innerSteps, invalidInnerSteps),
];

describe('protocol validators (fuzz)', () => {
  for (const target of TARGETS) {
    it(`${target.name}: returns or says what is wrong in a short line, on any value, quickly`, () => {
      const random = new FuzzRandom(`protocol:${target.name}`);
      const fuzzer = new ValueFuzzer(random);
      const runs = fuzzRuns(3000);
      let rejected = 0;
      let slowest = 0;
      for (let run = 0; run < runs; run++) {
        const input = random.chance(0.8) ? fuzzer.mutate(random.pick(target.seeds), 1 + random.nextInt(3)) : fuzzer.value(4);
        const started = performance.now();
        let problem: string | undefined;
        try {
          problem = target.run(input);
        } catch (error) {
          assert.fail(`input ${run} (seed ${random.target}): ${(error as Error).message}`);
        }
        const elapsed = performance.now() - started;
        slowest = Math.max(slowest, elapsed);
        if (problem !== undefined) {
          rejected++;
          assert.ok(problem.length <= MAX_MESSAGE_CHARS, `input ${run}: a ${problem.length}-character message: ${problem.slice(0, 200)}…`);
        }
        assert.ok(elapsed < MAX_MILLISECONDS, `input ${run} took ${Math.round(elapsed)} ms`);
      }
      // The seeds are valid, so a fuzzer that only ever produced garbage (or never) would show here.
      assert.ok(rejected > runs * 0.2 && rejected < runs, `${rejected} of ${runs} rejected`);
      for (const seed of target.seeds) assert.equal(target.run(seed), undefined, `the seed ${JSON.stringify(seed)?.slice(0, 80)} is valid`);
      console.log(`      ${target.name}: ${runs} inputs, ${rejected} rejected, slowest ${slowest.toFixed(1)} ms`);
    });
  }
});

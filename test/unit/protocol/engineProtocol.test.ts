import * as assert from 'node:assert/strict';
import { ENGINE_PROTOCOL_VERSION, ProtocolError, parseEventEnvelope, parseRequestEnvelope, parseResponseEnvelope } from '../../../src/protocol/engineProtocol';

const envelope = (request: unknown) => ({ version: ENGINE_PROTOCOL_VERSION, id: 3, request });

describe('engine protocol', () => {
  it('refuses a BigInt, symbol or null-prototype field with its own error, not a TypeError', () => {
    const cases: unknown[] = [
      envelope({ type: 10n }),
      envelope({ type: Symbol('x') }),
      { version: 10n, id: 1, request: {} },
      { version: Object.create(null), id: 1, request: {} },
      envelope({ type: 'training/start', learner: 'reptile', modelPath: '/m', overrides: {}, support: 10n }),
    ];
    for (const message of cases) assert.throws(() => parseRequestEnvelope(message), ProtocolError);
    assert.throws(() => parseResponseEnvelope({ version: Object.create(null), id: 1, ok: true }), ProtocolError);
    assert.throws(() => parseEventEnvelope({ version: 10n, event: {} }), ProtocolError);
  });

  it('reads an array whose methods were replaced by its items, not by its methods', () => {
    const bytes = new Uint8Array([65]);
    const files = Object.setPrototypeOf([{ path: 'a.ts', bytes }], null) as unknown[];
    assert.deepEqual(parseRequestEnvelope(envelope({ type: 'files/update', files })).request, { type: 'files/update', files: [{ path: 'a.ts', bytes }] });
    const paths = Object.assign(['a.ts'], { map: 'not a function' });
    assert.deepEqual(parseRequestEnvelope(envelope({ type: 'files/remove', paths })).request, { type: 'files/remove', paths: ['a.ts'] });
  });

  it('quotes a bad value in at most a short line', () => {
    assert.throws(() => parseRequestEnvelope(envelope({ type: 'x'.repeat(100_000) })), (error: Error) => {
      assert.ok(error instanceof ProtocolError);
      assert.ok(error.message.length < 120, `${error.message.length} characters`);
      return /unknown request type "x+"…/.test(error.message);
    });
    assert.throws(() => parseRequestEnvelope({ version: 10n ** 200n, id: 1, request: {} }), (error: Error) => error.message.length < 120);
  });

  it('accepts the persistence requests with absolute paths on every platform', () => {
    for (const type of ['engine/save', 'engine/restore', 'model/load']) {
      for (const path of ['/home/u/.vscode/ws/index.mcstate', 'C:\\Users\\u\\model.mcmodel', 'd:/storage/x', '\\\\server\\share\\x']) {
        assert.deepEqual(parseRequestEnvelope(envelope({ type, path, extra: 1 })).request, { type, path });
      }
    }
  });

  it('rejects persistence requests without an absolute path', () => {
    for (const path of [undefined, 3, '', 'storage/index', './x', 'C:relative']) {
      assert.throws(() => parseRequestEnvelope(envelope({ type: 'engine/save', path })), ProtocolError);
    }
  });

  it('keeps a file stamp when given and refuses one that is not a string', () => {
    const bytes = new Uint8Array([65]);
    const parsed = parseRequestEnvelope(envelope({ type: 'files/update', files: [{ path: 'a.ts', bytes, stamp: '1:2' }, { path: 'b.ts', bytes }] }));
    assert.deepEqual(parsed.request, { type: 'files/update', files: [{ path: 'a.ts', bytes, stamp: '1:2' }, { path: 'b.ts', bytes }] });
    assert.throws(
      () => parseRequestEnvelope(envelope({ type: 'files/update', files: [{ path: 'a.ts', bytes, stamp: 12 }] })),
      /file 0 stamp must be a string/,
    );
  });

  it('takes an optional support source with training/start and refuses any other value', () => {
    const start = { type: 'training/start', learner: 'reptile', modelPath: '/storage/model.mcmodel', overrides: { outerSteps: 3 } };
    assert.deepEqual(parseRequestEnvelope(envelope(start)).request, start);
    for (const support of ['prefix', 'neighbours']) {
      assert.deepEqual(parseRequestEnvelope(envelope({ ...start, support })).request, { ...start, support });
    }
    for (const support of ['siblings', 1, null, '']) {
      assert.throws(() => parseRequestEnvelope(envelope({ ...start, support })), /training\/start: support must be "prefix" or "neighbours"/);
    }
  });

  it('takes a ghost-text request with its limits and refuses limits out of range', () => {
    const request = { type: 'completion/continue', path: 'a.ts', textBefore: 'x = ', textAfter: ')', maxTokens: 16, beamWidth: 4, minProbability: 0.08 };
    assert.deepEqual(parseRequestEnvelope(envelope({ ...request, extra: true })).request, request);
    for (const bad of [{ maxTokens: 0 }, { maxTokens: 65 }, { beamWidth: 1.5 }, { beamWidth: 17 }, { minProbability: 1 }, { minProbability: -0.1 }, { minProbability: 'x' }, { textAfter: 3 }]) {
      assert.throws(() => parseRequestEnvelope(envelope({ ...request, ...bad })), ProtocolError);
    }
  });

  it('refuses version 1 messages now that the protocol is at version 2', () => {
    assert.equal(ENGINE_PROTOCOL_VERSION, 2);
    assert.throws(() => parseRequestEnvelope({ version: 1, id: 1, request: { type: 'engine/stats' } }), /protocol version 1 is not 2/);
  });
});

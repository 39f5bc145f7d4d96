import * as assert from 'node:assert/strict';
import { ENGINE_PROTOCOL_VERSION, ProtocolError, parseRequestEnvelope } from '../../../src/protocol/engineProtocol';

const envelope = (request: unknown) => ({ version: ENGINE_PROTOCOL_VERSION, id: 3, request });

describe('engine protocol', () => {
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

  it('refuses version 1 messages now that the protocol is at version 2', () => {
    assert.equal(ENGINE_PROTOCOL_VERSION, 2);
    assert.throws(() => parseRequestEnvelope({ version: 1, id: 1, request: { type: 'engine/stats' } }), /protocol version 1 is not 2/);
  });
});

import * as assert from 'node:assert/strict';
import { PANEL_PROTOCOL_VERSION, invalidHostToPanelMessage, invalidPanelToHostMessage } from '../../../src/protocol/panelProtocol';

const snapshot = (graph: unknown) => ({ type: 'panel/snapshot', version: PANEL_PROTOCOL_VERSION, seq: 3, graph });
const graph = {
  version: 1,
  nodes: [
    { id: 'a.ts', size: 10, community: 0, directory: '' },
    { id: 'b.ts', size: 12, community: 0, directory: '' },
  ],
  edges: [{ source: 'a.ts', target: 'b.ts', weight: 0.5 }],
};

describe('panel protocol', () => {
  it('accepts a well-formed snapshot and ready message', () => {
    assert.equal(invalidHostToPanelMessage(snapshot(graph)), undefined);
    assert.equal(invalidPanelToHostMessage({ type: 'panel/ready', version: PANEL_PROTOCOL_VERSION }), undefined);
  });

  it('says what is wrong with a malformed message', () => {
    assert.match(invalidHostToPanelMessage('hello') ?? '', /must be an object/);
    assert.match(invalidHostToPanelMessage({ ...snapshot(graph), version: 99 }) ?? '', /protocol version 99/);
    assert.match(invalidHostToPanelMessage({ ...snapshot(graph), type: 'x' }) ?? '', /unknown message type "x"/);
    assert.match(invalidHostToPanelMessage({ ...snapshot(graph), seq: 1.5 }) ?? '', /integer seq/);
    assert.match(invalidHostToPanelMessage(snapshot({ ...graph, nodes: [{ id: 'a.ts' }] })) ?? '', /every node needs/);
    assert.match(
      invalidHostToPanelMessage(snapshot({ ...graph, edges: [{ source: 'a.ts', target: 'zz.ts', weight: 1 }] })) ?? '',
      /names a missing node/,
    );
    assert.match(invalidPanelToHostMessage({ type: 'panel/ready' }) ?? '', /protocol version/);
  });
});

// A stand-in for the engine worker with the failures a real one can have, for
// the tests of the host's side (EngineClient, EngineHost). Started as a worker
// thread from its compiled path; answers in order, one request at a time:
// - engine/stats: at once, an empty engine;
// - files/update: after 1,200 ms of busy work (a large batch);
// - completion/complete and model/load: never, its loop stuck (a model whose
//   settings make the engine loop forever).
import { parentPort } from 'node:worker_threads';
import { ENGINE_PROTOCOL_VERSION } from '../../../src/protocol/engineProtocol';

function busy(milliseconds: number): void {
  const until = Date.now() + milliseconds;
  while (Date.now() < until) {
    // Holding the thread, as a long synchronous request does.
  }
}

parentPort?.on('message', (message: { id: number; request: { type: string } }) => {
  const answer = (result: unknown) => parentPort?.postMessage({ version: ENGINE_PROTOCOL_VERSION, id: message.id, ok: true, result });
  switch (message.request.type) {
    case 'engine/stats':
      answer({ files: 0 });
      return;
    case 'files/update':
      busy(1200);
      answer([]);
      return;
    case 'completion/complete':
    case 'model/load':
      for (;;) busy(1000);
    default:
      parentPort?.postMessage({ version: ENGINE_PROTOCOL_VERSION, id: message.id, ok: false, error: `the fake worker does not do ${message.request.type}` });
  }
});

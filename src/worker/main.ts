import { parentPort } from 'node:worker_threads';
import { CompletionEngine } from '../core/engine/completionEngine';
import { ENGINE_PROTOCOL_VERSION, ProtocolError, parseRequestEnvelope } from '../protocol/engineProtocol';
import type { EngineRequest, EngineResults, ResponseEnvelope } from '../protocol/engineProtocol';

/** The engine lives here, off the extension host's thread; the host talks to it only through the protocol. */
const engine = new CompletionEngine();

function handle(request: EngineRequest): EngineResults[EngineRequest['type']] {
  switch (request.type) {
    case 'files/update':
      return request.files.map((file) => engine.updateFile(file.path, file.bytes));
    case 'files/remove':
      return { removed: request.paths.filter((path) => engine.removeFile(path)).length };
    case 'completion/complete':
      return engine.complete(request.path, request.textBefore, request.k);
    case 'taskGraph/snapshot':
      return engine.snapshot();
    case 'engine/stats':
      return engine.stats();
  }
}

function idOf(message: unknown): number {
  const id = typeof message === 'object' && message !== null ? (message as { id?: unknown }).id : undefined;
  return Number.isInteger(id) ? (id as number) : -1;
}

if (parentPort === null) {
  process.stderr.write('metacomplete worker: start this file as a worker thread, not as a program.\n');
  process.exitCode = 2;
} else {
  const port = parentPort;
  port.on('message', (message: unknown) => {
    let response: ResponseEnvelope;
    try {
      const envelope = parseRequestEnvelope(message);
      response = { version: ENGINE_PROTOCOL_VERSION, id: envelope.id, ok: true, result: handle(envelope.request) };
    } catch (error) {
      // A bad message or a failing request is answered with an error; the worker keeps serving.
      const text = error instanceof Error ? error.message : String(error);
      response = {
        version: ENGINE_PROTOCOL_VERSION,
        id: idOf(message),
        ok: false,
        error: error instanceof ProtocolError ? `malformed request: ${text}` : text,
      };
    }
    port.postMessage(response);
  });
}

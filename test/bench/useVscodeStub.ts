// Maps `require('vscode')` to the stub (vscodeStub.ts) for code that runs host
// modules outside VS Code. Import it before any module under src/host/.
import Module from 'node:module';

type ResolveFilename = (request: string, ...rest: unknown[]) => string;
const moduleInternals = Module as unknown as { _resolveFilename: ResolveFilename };
const resolveFilename = moduleInternals._resolveFilename;
moduleInternals._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]): string {
  return request === 'vscode' ? require.resolve('./vscodeStub') : resolveFilename.call(this, request, ...rest);
};

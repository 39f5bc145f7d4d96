// Maps `require('vscode')` to the stub (vscodeStub.ts) for the whole process.
// Import this module before any module that imports 'vscode': the host bench
// and the unit tests that run host code outside VS Code.
import Module from 'node:module';

type ResolveFilename = (request: string, ...rest: unknown[]) => string;
const moduleInternals = Module as unknown as { _resolveFilename: ResolveFilename };
const resolveFilename = moduleInternals._resolveFilename;
moduleInternals._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]): string {
  return request === 'vscode' ? require.resolve('./vscodeStub') : resolveFilename.call(this, request, ...rest);
};

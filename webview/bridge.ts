import type { PanelToHostMessage } from '../src/protocol/panelProtocol';

/** What the page needs from its host; a test harness can provide it without VS Code. */
export interface HostBridge {
  postMessage(message: PanelToHostMessage): void;
  getState(): unknown;
  setState(state: unknown): void;
}

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare global {
  // Provided by VS Code inside a webview; absent in a plain browser.
  // eslint-disable-next-line no-var
  var acquireVsCodeApi: (() => VsCodeApi) | undefined;
  // Set by a test harness before the bundle loads.
  // eslint-disable-next-line no-var
  var metacompleteHostBridge: HostBridge | undefined;
}

/** The one place that reaches `acquireVsCodeApi` (it may be called only once per page). */
export function connectToHost(): HostBridge {
  if (globalThis.metacompleteHostBridge !== undefined) return globalThis.metacompleteHostBridge;
  if (typeof globalThis.acquireVsCodeApi !== 'function') {
    throw new Error('This page runs inside VS Code or a test harness that provides metacompleteHostBridge.');
  }
  const api = globalThis.acquireVsCodeApi();
  return {
    postMessage: (message) => api.postMessage(message),
    getState: () => api.getState(),
    setState: (state) => api.setState(state),
  };
}

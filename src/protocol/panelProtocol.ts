import type { TaskGraphSnapshot } from '../core/graph/taskGraph';

/** Bumped whenever a panel message changes shape; both ends check it. */
export const PANEL_PROTOCOL_VERSION = 1;

/** host → webview: the whole state, sent on open, reveal and reload, and after a gap in deltas. */
export interface PanelSnapshotMessage {
  type: 'panel/snapshot';
  version: number;
  /** Sequence number of the last change this snapshot includes. */
  seq: number;
  graph: TaskGraphSnapshot;
}

/** webview → host: the page has loaded and wants a snapshot. */
export interface PanelReadyMessage {
  type: 'panel/ready';
  version: number;
}

export type HostToPanelMessage = PanelSnapshotMessage;
export type PanelToHostMessage = PanelReadyMessage;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** Why `message` is not a valid host → webview message, or undefined when it is. */
export function invalidHostToPanelMessage(message: unknown): string | undefined {
  if (!isRecord(message)) return 'a message must be an object';
  if (message.version !== PANEL_PROTOCOL_VERSION) return `protocol version ${String(message.version)} is not ${PANEL_PROTOCOL_VERSION}`;
  if (message.type !== 'panel/snapshot') return `unknown message type ${JSON.stringify(message.type)}`;
  if (!Number.isInteger(message.seq)) return 'panel/snapshot needs an integer seq';
  const graph = message.graph;
  if (!isRecord(graph) || graph.version !== 1 || !Array.isArray(graph.nodes) || !Array.isArray(graph.edges)) {
    return 'panel/snapshot needs a task graph snapshot (version 1, nodes, edges)';
  }
  const ids = new Set<string>();
  for (const node of graph.nodes) {
    if (!isRecord(node) || typeof node.id !== 'string' || !isFiniteNumber(node.size) || !Number.isInteger(node.community) || typeof node.directory !== 'string') {
      return 'every node needs id, size, community and directory';
    }
    ids.add(node.id);
  }
  for (const edge of graph.edges) {
    if (!isRecord(edge) || typeof edge.source !== 'string' || typeof edge.target !== 'string' || !isFiniteNumber(edge.weight)) {
      return 'every edge needs source, target and weight';
    }
    if (!ids.has(edge.source) || !ids.has(edge.target)) return `edge ${edge.source} → ${edge.target} names a missing node`;
  }
  return undefined;
}

/** Why `message` is not a valid webview → host message, or undefined when it is. */
export function invalidPanelToHostMessage(message: unknown): string | undefined {
  if (!isRecord(message)) return 'a message must be an object';
  if (message.version !== PANEL_PROTOCOL_VERSION) return `protocol version ${String(message.version)} is not ${PANEL_PROTOCOL_VERSION}`;
  if (message.type !== 'panel/ready') return `unknown message type ${JSON.stringify(message.type)}`;
  return undefined;
}

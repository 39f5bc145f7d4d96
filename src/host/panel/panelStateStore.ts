import type { TaskGraphSnapshot } from '../../core/graph/taskGraph';
import {
  DEFAULT_CONTROLS,
  PANEL_PROTOCOL_VERSION,
  applyPanelChange,
  clonePanelState,
  emptyPanelState,
  mergeAdaptationCurve,
} from '../../protocol/panelProtocol';
import type {
  PanelChange,
  PanelControls,
  PanelDeltaMessage,
  PanelGraph,
  PanelSnapshotMessage,
  PanelState,
  TaskAdaptation,
} from '../../protocol/panelProtocol';
import type { TrainingEvent } from '../../protocol/trainingEvents';

/** A task's query loss before adaptation (k = 0) and, when the engine adapted to it, after. */
export interface MeasuredLoss {
  before: number;
  after?: number;
}

/** The panel's view of the task graph: paths, token counts, communities and the losses measured so far. */
export function panelGraphFromSnapshot(
  snapshot: TaskGraphSnapshot,
  losses: ReadonlyMap<string, MeasuredLoss> = new Map(),
): PanelGraph {
  return {
    nodes: snapshot.nodes.map((node) => {
      const loss = losses.get(node.id);
      if (loss === undefined) return { path: node.id, tokens: node.size, community: node.community };
      return loss.after === undefined
        ? { path: node.id, tokens: node.size, community: node.community, lossBefore: loss.before }
        : { path: node.id, tokens: node.size, community: node.community, lossBefore: loss.before, lossAfter: loss.after };
    }),
    edges: snapshot.edges.map((edge) => ({ source: edge.source, target: edge.target, weight: edge.weight })),
  };
}

export type PanelDeltaListener = (delta: PanelDeltaMessage) => void;

/**
 * Everything the training panel shows, folded from training events and
 * graph snapshots. Each change gets the next seq and is handed to listeners
 * as a delta; `snapshot()` is the state at the latest seq. Pure: no vscode,
 * so it lives as long as the extension while panels come and go.
 */
export class PanelStateStore {
  private readonly state: PanelState;
  private seq = 0;
  private readonly listeners = new Set<PanelDeltaListener>();
  /** Every task's adaptation curves, not only the selected one's: a click shows them at once. */
  private readonly adaptationByTask = new Map<string, TaskAdaptation>();
  /** Losses outlive graph rebuilds, which arrive without them. */
  private readonly lossesByTask = new Map<string, MeasuredLoss>();

  constructor(controls: PanelControls = DEFAULT_CONTROLS) {
    this.state = emptyPanelState(controls);
  }

  /** The seq of the last change folded in. */
  get lastSeq(): number {
    return this.seq;
  }

  get controls(): PanelControls {
    return { ...this.state.controls };
  }

  get selectedTask(): string | undefined {
    return this.state.selectedTask;
  }

  /** A full snapshot message, sharing nothing with the store. */
  snapshot(): PanelSnapshotMessage {
    return { type: 'panel/snapshot', version: PANEL_PROTOCOL_VERSION, seq: this.seq, state: clonePanelState(this.state) };
  }

  /** Calls `listener` with every delta from now on; returns the unsubscribe function. */
  onDelta(listener: PanelDeltaListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  applyTrainingEvent(event: TrainingEvent): void {
    if (event.type === 'adaptation-curve') {
      this.adaptationByTask.set(event.task, mergeAdaptationCurve(this.adaptationByTask.get(event.task), event));
    } else if (event.type === 'task-losses') {
      // The latest event is the truth for its tasks: a task measured at k = 0 only has no loss after adaptation.
      for (const loss of event.losses) this.lossesByTask.set(loss.task, loss.after === undefined ? { before: loss.before } : { before: loss.before, after: loss.after });
    }
    this.commit({ kind: 'training', event });
  }

  setGraph(snapshot: TaskGraphSnapshot): void {
    this.commit({ kind: 'graph', graph: panelGraphFromSnapshot(snapshot, this.lossesByTask) });
  }

  /** Records control values the engine accepted. */
  setControls(controls: PanelControls): void {
    this.commit({ kind: 'controls', controls: { ...controls } });
  }

  setBackend(backend: string): void {
    if (backend === this.state.training.backend) return;
    this.commit({ kind: 'backend', backend });
  }

  selectTask(task: string): void {
    const adaptation = this.adaptationByTask.get(task);
    this.commit({ kind: 'selection', task, adaptation: adaptation === undefined ? undefined : structuredClone(adaptation) });
  }

  private commit(change: PanelChange): void {
    applyPanelChange(this.state, change);
    this.seq += 1;
    if (this.listeners.size === 0) return;
    // Listeners get their own copy: the store keeps mutating its state in place.
    const delta: PanelDeltaMessage = { type: 'panel/delta', version: PANEL_PROTOCOL_VERSION, seq: this.seq, change: structuredClone(change) };
    for (const listener of this.listeners) listener(delta);
  }
}

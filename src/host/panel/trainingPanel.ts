import * as vscode from 'vscode';
import type { TaskGraphSnapshot } from '../../core/graph/taskGraph';
import { PANEL_PROTOCOL_VERSION, invalidPanelToHostMessage, invalidTrainingEvent } from '../../protocol/panelProtocol';
import type { HostToPanelMessage, PanelCommand, PanelControls, PanelToHostMessage } from '../../protocol/panelProtocol';
import type { TrainingEvent } from '../../protocol/trainingEvents';
import type { PanelStateStore } from './panelStateStore';

/** The webview's view type; the serializer and `onWebviewPanel:` activation name it. */
export const TRAINING_PANEL_VIEW_TYPE = 'metacomplete.training';
export const SHOW_TRAINING_PANEL_COMMAND = 'metacomplete.showTrainingPanel';

/**
 * What the panel's controls do to training. The host passes one in; the
 * engine owns the meaning. Each method resolves once the engine applied the
 * request and rejects, with a sentence the user can read, to refuse it.
 */
export interface PanelCommandHandler {
  /** Start or resume meta-training with these controls. */
  start(controls: PanelControls): Promise<void>;
  pause(): Promise<void>;
  /** The user changed one control; `controls` holds all of them with the change applied. */
  applyControls(controls: PanelControls): Promise<void>;
}

/** The handler until the engine can train: every request is refused with one clear sentence. */
export const trainingNotAvailable: PanelCommandHandler = {
  start: () => Promise.reject(new Error('Training is not available yet: the MetaComplete engine has no training command in this build.')),
  pause: () => Promise.reject(new Error('Training is not available yet: there is no training run to pause.')),
  applyControls: () => Promise.reject(new Error('Training is not available yet: the engine cannot apply training settings in this build.')),
};

/** Where the panel logs; `Logger` fits. */
export interface PanelLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface TrainingPanelServices {
  store: PanelStateStore;
  handler: PanelCommandHandler;
  log: PanelLog;
  /**
   * Fetches the current task graph, e.g. `() => engine.request({ type: 'taskGraph/snapshot' })`.
   * Called when a panel opens, reloads or is revealed; its result goes into the store.
   */
  loadGraph?: () => Promise<TaskGraphSnapshot>;
}

/**
 * Feeds `store` from a stream of training events (the worker's, relayed by
 * the host), dropping and logging malformed ones. The lead connects the
 * worker here: `connectTrainingEvents(store, engine.onTrainingEvent, logger)`.
 */
export function connectTrainingEvents(store: PanelStateStore, onTrainingEvent: vscode.Event<TrainingEvent>, log: PanelLog): vscode.Disposable {
  return onTrainingEvent((event) => {
    const problem = invalidTrainingEvent(event);
    if (problem !== undefined) {
      log.warn(`Training panel ignored a malformed training event: ${problem}.`);
      return;
    }
    store.applyTrainingEvent(event);
  });
}

/** The "Show Training Panel" command and the serializer that brings the panel back after a reload. */
export function registerTrainingPanel(context: vscode.ExtensionContext, services: TrainingPanelServices): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand(SHOW_TRAINING_PANEL_COMMAND, () => TrainingPanel.createOrShow(context, services.store, services.handler, services)),
    vscode.window.registerWebviewPanelSerializer(TRAINING_PANEL_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel) => {
        TrainingPanel.revive(panel, context, services);
      },
    }),
    { dispose: () => TrainingPanel.current?.dispose() },
  ];
}

function bundleFolder(context: vscode.ExtensionContext): vscode.Uri {
  return vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview');
}

function webviewOptions(context: vscode.ExtensionContext): vscode.WebviewOptions {
  return { enableScripts: true, localResourceRoots: [bundleFolder(context)] };
}

function makeNonce(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let nonce = '';
  for (let i = 0; i < 32; i++) nonce += alphabet[Math.floor(Math.random() * alphabet.length)];
  return nonce;
}

/** The engine's name for a file back to a URI: workspace-relative (prefixed by the folder name with several folders) or absolute. */
function uriOfTask(path: string): vscode.Uri | undefined {
  if (path.startsWith('/')) return vscode.Uri.file(path);
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length === 1) return vscode.Uri.joinPath(folders[0].uri, path);
  const slash = path.indexOf('/');
  const folder = folders.find((candidate) => candidate.name === path.slice(0, slash));
  return folder === undefined || slash < 0 ? undefined : vscode.Uri.joinPath(folder.uri, path.slice(slash + 1));
}

/**
 * The "MetaComplete: Training" editor tab. It sends a full snapshot when the
 * page is ready, asks for one (resync) or is revealed, and deltas while it is
 * visible; a hidden panel is brought up to date by the snapshot it gets on
 * reveal. At most one exists at a time.
 */
export class TrainingPanel implements vscode.Disposable {
  static current: TrainingPanel | undefined;

  private readonly disposables: vscode.Disposable[] = [];
  /** Deltas are only useful after the page applied a snapshot. */
  private pageReady = false;
  private wasVisible = true;
  private disposed = false;

  static createOrShow(
    context: vscode.ExtensionContext,
    store: PanelStateStore,
    handler: PanelCommandHandler,
    options: Omit<TrainingPanelServices, 'store' | 'handler'>,
  ): TrainingPanel {
    if (TrainingPanel.current !== undefined) {
      TrainingPanel.current.panel.reveal();
      return TrainingPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(
      TRAINING_PANEL_VIEW_TYPE,
      'MetaComplete: Training',
      vscode.window.activeTextEditor?.viewColumn ?? vscode.ViewColumn.One,
      webviewOptions(context),
    );
    TrainingPanel.current = new TrainingPanel(panel, context, { ...options, store, handler });
    return TrainingPanel.current;
  }

  /** Takes over a panel VS Code restored after a reload. */
  static revive(panel: vscode.WebviewPanel, context: vscode.ExtensionContext, services: TrainingPanelServices): TrainingPanel {
    TrainingPanel.current?.dispose();
    panel.webview.options = webviewOptions(context);
    TrainingPanel.current = new TrainingPanel(panel, context, services);
    return TrainingPanel.current;
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    context: vscode.ExtensionContext,
    private readonly services: TrainingPanelServices,
  ) {
    panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'training.svg');
    panel.webview.html = this.html(panel.webview, bundleFolder(context));
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((message: unknown) => this.receive(message)),
      panel.onDidChangeViewState(({ webviewPanel }) => {
        if (webviewPanel.visible === this.wasVisible) return;
        this.wasVisible = webviewPanel.visible;
        // A hidden page is discarded (no retainContextWhenHidden): it gets a snapshot again once shown.
        if (webviewPanel.visible) this.sendSnapshot('revealed');
        else this.pageReady = false;
      }),
    );
    const unsubscribe = services.store.onDelta((delta) => {
      if (this.pageReady && this.panel.visible) this.post(delta);
    });
    this.disposables.push({ dispose: unsubscribe });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (TrainingPanel.current === this) TrainingPanel.current = undefined;
    for (const disposable of this.disposables.splice(0)) disposable.dispose();
    this.panel.dispose();
  }

  private html(webview: vscode.Webview, bundle: vscode.Uri): string {
    const nonce = makeNonce();
    const script = webview.asWebviewUri(vscode.Uri.joinPath(bundle, 'main.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(bundle, 'main.css'));
    // Styles: the bundle's sheet; the toolkit and charts set styles from script (CSSOM), which CSP allows.
    const csp = [
      "default-src 'none'",
      `img-src ${webview.cspSource} data:`,
      `style-src ${webview.cspSource}`,
      `font-src ${webview.cspSource}`,
      `script-src 'nonce-${nonce}'`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style.toString()}">
<title>MetaComplete: Training</title>
</head>
<body>
<main id="app"></main>
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
  }

  private post(message: HostToPanelMessage): void {
    this.panel.webview.postMessage(message).then(
      (delivered) => {
        // A message the page missed leaves it behind: the next reveal or resync sends a snapshot.
        if (!delivered) this.pageReady = false;
      },
      () => (this.pageReady = false),
    );
  }

  private sendSnapshot(reason: string): void {
    if (this.disposed) return;
    const snapshot = this.services.store.snapshot();
    this.services.log.info(`Training panel: full snapshot at seq ${snapshot.seq} (${reason}).`);
    this.post(snapshot);
  }

  private notify(level: 'info' | 'error', text: string): void {
    this.post({ type: 'panel/notice', version: PANEL_PROTOCOL_VERSION, level, text });
  }

  private async refreshGraph(): Promise<void> {
    if (this.services.loadGraph === undefined) return;
    try {
      this.services.store.setGraph(await this.services.loadGraph());
    } catch (error) {
      this.services.log.warn(`Training panel could not load the task graph: ${(error as Error).message}.`);
    }
  }

  private receive(message: unknown): void {
    const problem = invalidPanelToHostMessage(message);
    if (problem !== undefined) {
      this.services.log.warn(`Training panel ignored a malformed message from its webview: ${problem}.`);
      return;
    }
    const valid = message as PanelToHostMessage;
    switch (valid.type) {
      case 'panel/ready':
        this.pageReady = true;
        this.sendSnapshot('page ready');
        // The graph may have changed while no panel was open; it arrives as a delta.
        void this.refreshGraph();
        return;
      case 'panel/resync':
        this.pageReady = true;
        this.sendSnapshot(`resync after seq ${valid.lastSeq}`);
        return;
      case 'panel/command':
        void this.run(valid.command);
        return;
    }
  }

  private async run(command: PanelCommand): Promise<void> {
    const { store, handler, log } = this.services;
    try {
      switch (command.kind) {
        case 'start':
          await handler.start(store.controls);
          return;
        case 'pause':
          await handler.pause();
          return;
        case 'selectTask':
          store.selectTask(command.path);
          await this.openTask(command.path);
          return;
        case 'exportCsv':
          await this.save(`${command.chart}.csv`, { 'CSV': ['csv'] }, new TextEncoder().encode(command.csv));
          return;
        case 'exportPng':
          await this.save(`${command.chart}.png`, { 'PNG image': ['png'] }, Buffer.from(command.dataUrl.slice(command.dataUrl.indexOf(',') + 1), 'base64'));
          return;
        default: {
          const controls = { ...store.controls, ...controlChange(command) };
          await handler.applyControls(controls);
          store.setControls(controls);
          return;
        }
      }
    } catch (error) {
      const text = (error as Error).message;
      log.warn(`Training panel: ${command.kind} refused: ${text}`);
      this.notify('error', text);
    }
  }

  private async openTask(path: string): Promise<void> {
    const uri = uriOfTask(path);
    if (uri === undefined) throw new Error(`${path} is not in an open workspace folder, so it cannot be opened.`);
    await vscode.window.showTextDocument(uri, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true, preview: true });
  }

  private async save(fileName: string, filters: Record<string, string[]>, bytes: Uint8Array): Promise<void> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const target = await vscode.window.showSaveDialog({
      defaultUri: folder === undefined ? undefined : vscode.Uri.joinPath(folder, `metacomplete-${fileName}`),
      filters,
      saveLabel: 'Export',
    });
    if (target === undefined) return;
    await vscode.workspace.fs.writeFile(target, bytes);
    this.notify('info', `Saved ${target.fsPath}.`);
  }
}

/** The control a set-command changes, as a partial `PanelControls`. */
function controlChange(command: PanelCommand): Partial<PanelControls> {
  switch (command.kind) {
    case 'setLearner':
      return { learner: command.learner };
    case 'setAlpha':
      return { alpha: command.value };
    case 'setBeta':
      return { beta: command.value };
    case 'setInnerLr':
      return { innerLr: command.value };
    case 'setInnerSteps':
      return { innerSteps: command.value };
    case 'setSupport':
      return { support: command.support };
    default:
      return {};
  }
}

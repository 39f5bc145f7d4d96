import * as vscode from 'vscode';
import { DEFAULT_SETTINGS, TRAINING_SETTING_KEYS, readSettings, readTrainingSettings } from './settings';
import type { MetaCompleteSettings, TrainingSettings } from './settings';

const SECTION = 'metacomplete';

/** The one reader of MetaComplete's settings: typed values, per language where a setting allows it, and a change event. */
export class Config implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<MetaCompleteSettings>();
  /** Fires with the new window-level settings when any `metacomplete.*` setting changes. */
  readonly onDidChange = this.changed.event;
  private settings: MetaCompleteSettings = DEFAULT_SETTINGS;
  private readonly listener: vscode.Disposable;

  constructor() {
    this.settings = this.read();
    this.listener = vscode.workspace.onDidChangeConfiguration((event) => {
      if (!event.affectsConfiguration(SECTION)) return;
      this.settings = this.read();
      this.changed.fire(this.settings);
    });
  }

  get current(): MetaCompleteSettings {
    return this.settings;
  }

  /** What the next training run uses (window level: one model per workspace). */
  get training(): TrainingSettings {
    return readTrainingSettings((key) => vscode.workspace.getConfiguration(SECTION).get(key));
  }

  /** Writes training settings where the user keeps them for this workspace (the user settings when no folder is open). */
  async updateTraining(changes: Partial<TrainingSettings>): Promise<void> {
    const configuration = vscode.workspace.getConfiguration(SECTION);
    const target = vscode.workspace.workspaceFolders === undefined ? vscode.ConfigurationTarget.Global : vscode.ConfigurationTarget.Workspace;
    for (const [field, value] of Object.entries(changes) as [keyof TrainingSettings, unknown][]) {
      await configuration.update(TRAINING_SETTING_KEYS[field], value, target);
    }
  }

  /** The settings as they apply to a document: language-specific values (`"[python]": {...}`) win. */
  forDocument(document: vscode.TextDocument): MetaCompleteSettings {
    return this.read(document);
  }

  /** The settings of one workspace folder (include, exclude and size limit may differ per folder). */
  forFolder(folder: vscode.WorkspaceFolder): MetaCompleteSettings {
    return this.read(folder.uri);
  }

  dispose(): void {
    this.listener.dispose();
    this.changed.dispose();
  }

  private read(scope?: vscode.ConfigurationScope): MetaCompleteSettings {
    const configuration = vscode.workspace.getConfiguration(SECTION, scope);
    return readSettings((key) => configuration.get(key));
  }
}

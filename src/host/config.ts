import * as vscode from 'vscode';
import { DEFAULT_SETTINGS, readSettings } from './settings';
import type { MetaCompleteSettings } from './settings';

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

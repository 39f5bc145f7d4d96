import * as vscode from 'vscode';

/** The status bar item: indexing n/N, ready, or error; clicking it shows the log. */
export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('metacomplete.status', vscode.StatusBarAlignment.Right, 100);

  constructor() {
    this.item.name = 'MetaComplete';
    this.item.command = 'metacomplete.showLog';
    this.setStarting();
    this.item.show();
  }

  setStarting(): void {
    this.set('MetaComplete: starting', 'MetaComplete is starting its engine.');
  }

  setIndexing(done: number, total: number): void {
    this.set(`MetaComplete: indexing ${done}/${total}`, 'MetaComplete is learning the workspace. Click to show the log.');
  }

  setReady(files: number, note = ''): void {
    this.set(`MetaComplete: ready (${files} files)`, `MetaComplete learned ${files} files${note}. Click to show the log.`);
  }

  setError(message: string): void {
    this.set('MetaComplete: error', `${message} Click to show the log.`);
    this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
  }

  dispose(): void {
    this.item.dispose();
  }

  private set(text: string, tooltip: string): void {
    this.item.text = text;
    this.item.tooltip = tooltip;
    this.item.backgroundColor = undefined;
  }
}

import * as vscode from 'vscode';

/** The "MetaComplete" output channel; every surface logs through this one object. */
export class Logger implements vscode.Disposable {
  private readonly channel = vscode.window.createOutputChannel('MetaComplete', { log: true });

  info(message: string): void {
    this.channel.info(message);
  }

  warn(message: string): void {
    this.channel.warn(message);
  }

  error(message: string): void {
    this.channel.error(message);
  }

  show(): void {
    this.channel.show(true);
  }

  dispose(): void {
    this.channel.dispose();
  }
}

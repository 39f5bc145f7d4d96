// Runs inside VS Code desktop (test/electron/runTests.ts), on a scratch copy of
// test/fixtures/e2e-workspace: the extension's commands and completion
// providers through the VS Code API, as other extensions and the editor call them.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

const EXTENSION_ID = 'metacomplete.metacomplete';

function workspaceFile(relativePath: string): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the suite needs the fixture workspace open (runTests.ts passes it)');
  return vscode.Uri.joinPath(folder.uri, relativePath);
}

/** MetaComplete's items at the end of `document` (its detail reads "MetaComplete NN%"). */
async function metaCompleteItems(document: vscode.TextDocument): Promise<vscode.CompletionItem[]> {
  const end = document.lineAt(document.lineCount - 1).range.end;
  const list = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', document.uri, end);
  return list.items.filter((item) => item.detail?.startsWith('MetaComplete') === true);
}

function labelOf(item: vscode.CompletionItem): string {
  return typeof item.label === 'string' ? item.label : item.label.label;
}

/** Polls MetaComplete's items until one is labelled `label`; the workspace is indexed in the background. */
async function waitForItem(document: vscode.TextDocument, label: string, timeoutMs = 30_000): Promise<vscode.CompletionItem> {
  const deadline = Date.now() + timeoutMs;
  let labels: string[] = [];
  while (Date.now() < deadline) {
    const items = await metaCompleteItems(document);
    const found = items.find((item) => labelOf(item) === label);
    if (found !== undefined) return found;
    labels = items.map(labelOf);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`MetaComplete did not offer "${label}" within ${timeoutMs} ms; it offered: ${labels.join(', ')}`);
}

/** Appends `text` to the document in an editor, unsaved, as typing would. */
async function append(editor: vscode.TextEditor, text: string): Promise<void> {
  const end = editor.document.lineAt(editor.document.lineCount - 1).range.end;
  assert.ok(await editor.edit((edit) => edit.insert(end, text)), 'the edit was not applied');
}

describe('MetaComplete in VS Code desktop (@vscode/test-electron)', function () {
  let editor: vscode.TextEditor;

  before(async function () {
    this.timeout(60_000);
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(extension, `${EXTENSION_ID} is not loaded from the development path`);
    await extension.activate();
    assert.ok(extension.isActive);
    editor = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(workspaceFile('src/main.ts')));
  });

  it('registers every command it contributes to the palette', async function () {
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    const contributed = (extension?.packageJSON.contributes.commands as { command: string }[]).map((entry) => entry.command);
    const registered = new Set(await vscode.commands.getCommands(true));
    assert.deepEqual(contributed.filter((command) => !registered.has(command)), []);
  });

  it('"Index Workspace" and "Show Log" run, and the fixture identifier is offered', async function () {
    this.timeout(90_000);
    await vscode.commands.executeCommand('metacomplete.indexWorkspace');
    await vscode.commands.executeCommand('metacomplete.showLog');
    await append(editor, '\nconst secondQueue = new ');
    const item = await waitForItem(editor.document, 'GlimmerwartQueue');
    assert.match(item.detail ?? '', /^MetaComplete \d+%$/);
  });

  it('offers a local identifier of an unopened, unimported file, which no other provider knows', async function () {
    this.timeout(60_000);
    await append(editor, '\nconst total = wibb');
    await waitForItem(editor.document, 'wibbleFractalSum');
    const end = editor.document.lineAt(editor.document.lineCount - 1).range.end;
    const all = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', editor.document.uri, end);
    const offered = all.items.filter((item) => labelOf(item) === 'wibbleFractalSum');
    assert.equal(offered.length, 1, 'another provider offers wibbleFractalSum too');
    assert.match(offered[0].detail ?? '', /^MetaComplete/);
  });

  it('learns a file that holds a secret without the secret: its names are offered, the key never', async function () {
    this.timeout(60_000);
    // deploySettings.ts is learned with its key redacted (see README, "Secrets").
    await append(editor, '\nconst region = deploy');
    await waitForItem(editor.document, 'deployRegion');
    await append(editor, '\nconst key = deployAccessKeyId ?? ');
    const labels = (await metaCompleteItems(editor.document)).map(labelOf);
    assert.ok(!labels.some((label) => label.includes('AKIAIOSFODNN7EXAMPLE')), `offered the key: ${labels.join(', ')}`);
  });

  it('"Reset Model" restarts the engine and completions come again', async function () {
    this.timeout(90_000);
    await vscode.commands.executeCommand('metacomplete.resetModel');
    await append(editor, '\nconst thirdQueue = new ');
    await waitForItem(editor.document, 'GlimmerwartQueue', 60_000);
  });

  it('keeps completing after the engine worker is killed', async function () {
    this.timeout(90_000);
    await vscode.commands.executeCommand('_metacomplete.killWorker');
    await append(editor, '\nconst fourthQueue = new ');
    await waitForItem(editor.document, 'GlimmerwartQueue', 60_000);
  });
});

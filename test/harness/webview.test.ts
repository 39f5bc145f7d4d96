import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { PANEL_PROTOCOL_VERSION, invalidPanelToHostMessage } from '../../src/protocol/panelProtocol';
import type { PanelCommand, PanelState, PanelToHostMessage } from '../../src/protocol/panelProtocol';
import { deliver, deltaMessage, launchChromium, openPanel, posted, repoRoot, savedState, snapshotMessage, syntheticState } from './harness';

const artifacts = path.join(repoRoot(), 'test-artifacts', 'webview');

async function attribute(page: Page, selector: string, name: string): Promise<string | null> {
  return page.locator(selector).first().getAttribute(name);
}

/** Points per line of a chart, from its `data-points` ("label:count,…"). */
async function pointsOf(page: Page, chart: string): Promise<Record<string, number>> {
  const text = (await attribute(page, `#chart-${chart}`, 'data-points')) ?? '';
  return Object.fromEntries(
    text
      .split(',')
      .filter((entry) => entry !== '')
      .map((entry) => {
        const at = entry.lastIndexOf(':');
        return [entry.slice(0, at), Number(entry.slice(at + 1))];
      }),
  );
}

/** Commands the page posted after the first `skip` messages; each one must pass the host's validation. */
async function commandsSince(page: Page, skip: number): Promise<PanelCommand[]> {
  const messages = (await posted(page)).slice(skip);
  for (const message of messages) assert.equal(invalidPanelToHostMessage(message), undefined, JSON.stringify(message));
  return messages.filter((message): message is Extract<PanelToHostMessage, { type: 'panel/command' }> => message.type === 'panel/command').map((message) => message.command);
}

/**
 * The value shown in a toolkit text field. The toolkit copies its `value`
 * into the inner input on its next DOM update, so this waits up to 2 s for
 * `expected` before returning what is there.
 */
async function fieldValue(page: Page, id: string, expected: string): Promise<string> {
  const input = page.locator(`#${id} input`);
  const deadline = Date.now() + 2000;
  let value = await input.inputValue();
  while (value !== expected && Date.now() < deadline) {
    await page.waitForTimeout(50);
    value = await input.inputValue();
  }
  return value;
}

/** Types `text` into a toolkit text field and commits it, as a user would (Enter). */
async function commitField(page: Page, id: string, text: string): Promise<void> {
  const input = page.locator(`#${id} input`);
  await input.fill(text);
  await input.press('Enter');
}

describe('training panel webview (built bundle in headless Chromium)', function () {
  let browser: Browser;

  before(async () => {
    fs.mkdirSync(artifacts, { recursive: true });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
  });

  it('draws a snapshot: graph size, curve points, table, controls and backend', async () => {
    const page = await openPanel(browser);
    const state = syntheticState(120);
    state.controls = { learner: 'meta-sgd', alpha: 0.5, beta: 2, innerLr: 0.05, innerSteps: 7, support: 'neighbours' };
    await deliver(page, snapshotMessage(4, state));

    assert.equal(await attribute(page, '.graph', 'data-nodes'), '120');
    assert.equal(await attribute(page, '.graph', 'data-edges'), String(state.graph.edges.length));
    assert.deepEqual(await pointsOf(page, 'outer-loss'), { Reptile: 50, FOMAML: 20 });
    assert.deepEqual(await pointsOf(page, 'adaptation'), { Reptile: 6, 'Transfer baseline': 6 });
    assert.deepEqual(await pointsOf(page, 'online-loss'), { 'online loss': 3 });
    assert.equal(await page.locator('#chart-fewshot tbody tr').count(), 2);
    assert.equal(await page.locator('#chart-outer-loss canvas').count(), 1);

    assert.equal(await page.locator('#learner').evaluate((element) => (element as unknown as { value: string }).value), 'meta-sgd');
    assert.equal(await page.locator('#support').evaluate((element) => (element as unknown as { value: string }).value), 'neighbours');
    assert.equal(await fieldValue(page, 'alpha', '0.5'), '0.5');
    assert.equal(await fieldValue(page, 'inner-steps', '7'), '7');
    assert.equal(await page.locator('#backend').textContent(), 'Backend: wasm');
    assert.match((await page.locator('#training-status').textContent()) ?? '', /Meta-training \(Reptile\) — step 50 \/ 200/);
    // While training runs, Start is disabled and Pause is not.
    assert.equal(await page.locator('#start').getAttribute('disabled'), '');
    assert.equal(await page.locator('#pause').getAttribute('disabled'), null);
    assert.equal(await attribute(page, 'body', 'data-seq'), '4');
    await page.close();
  });

  it('applies deltas in order: a new outer step, an adaptation curve, losses, online points', async () => {
    const page = await openPanel(browser);
    await deliver(page, snapshotMessage(10, syntheticState(60)));
    await deliver(page, deltaMessage(11, { kind: 'training', event: { type: 'outer-step', learner: 'reptile', step: 51, totalSteps: 200, metaLoss: 1.9, tasks: [] } }));
    await deliver(page, deltaMessage(12, { kind: 'training', event: { type: 'outer-step', learner: 'meta-network', step: 1, totalSteps: 200, metaLoss: 3, tasks: [] } }));
    await deliver(page, deltaMessage(13, { kind: 'training', event: { type: 'online-loss', task: 'src/module0/file0.ts', tokens: 4, loss: 2.5 } }));
    await deliver(page, deltaMessage(14, { kind: 'training', event: { type: 'training-state', phase: 'paused', learner: 'reptile', step: 51, totalSteps: 200 } }));
    assert.deepEqual(await pointsOf(page, 'outer-loss'), { Reptile: 51, FOMAML: 20, 'Meta-Network': 1 });
    assert.deepEqual(await pointsOf(page, 'online-loss'), { 'online loss': 4 });
    assert.equal(await page.locator('#start').getAttribute('disabled'), null);
    assert.equal(await page.locator('#pause').getAttribute('disabled'), '');

    // A curve for another task is not shown until that task is selected; the host then sends it.
    await deliver(page, deltaMessage(15, { kind: 'training', event: { type: 'adaptation-curve', learner: 'fomaml', task: 'src/module1/file1.ts', queryLoss: [4, 3, 2.5] } }));
    assert.deepEqual(await pointsOf(page, 'adaptation'), { Reptile: 6, 'Transfer baseline': 6 });
    await deliver(page, deltaMessage(16, { kind: 'selection', task: 'src/module1/file1.ts', adaptation: { task: 'src/module1/file1.ts', curves: [{ learner: 'fomaml', queryLoss: [4, 3, 2.5] }] } }));
    assert.deepEqual(await pointsOf(page, 'adaptation'), { FOMAML: 3 });
    assert.match((await page.locator('#chart-adaptation h2').textContent()) ?? '', /src\/module1\/file1\.ts/);
    assert.equal(await attribute(page, '.graph', 'data-selected'), 'src/module1/file1.ts');
    assert.equal(await attribute(page, 'body', 'data-seq'), '16');
    // A repeated (old) delta changes nothing.
    await deliver(page, deltaMessage(12, { kind: 'training', event: { type: 'outer-step', learner: 'meta-network', step: 2, totalSteps: 200, metaLoss: 3, tasks: [] } }));
    assert.deepEqual(await pointsOf(page, 'outer-loss'), { Reptile: 51, FOMAML: 20, 'Meta-Network': 1 });
    await page.close();
  });

  it('asks for a resync after a gap, ignores deltas until the snapshot, then continues', async () => {
    const page = await openPanel(browser);
    const state = syntheticState(40);
    await deliver(page, snapshotMessage(20, state));
    const before = (await posted(page)).length;
    await deliver(page, deltaMessage(22, { kind: 'training', event: { type: 'outer-step', learner: 'reptile', step: 51, totalSteps: 200, metaLoss: 1.9, tasks: [] } }));
    await deliver(page, deltaMessage(23, { kind: 'training', event: { type: 'outer-step', learner: 'reptile', step: 52, totalSteps: 200, metaLoss: 1.8, tasks: [] } }));
    const sent = (await posted(page)).slice(before);
    assert.deepEqual(sent, [{ type: 'panel/resync', version: PANEL_PROTOCOL_VERSION, lastSeq: 20 }], 'one resync, carrying the last applied seq');
    assert.deepEqual(await pointsOf(page, 'outer-loss'), { Reptile: 50, FOMAML: 20 });

    const caughtUp: PanelState = structuredClone(state);
    caughtUp.curves.outerLoss[0].points.x.push(51, 52);
    caughtUp.curves.outerLoss[0].points.y.push(1.9, 1.8);
    await deliver(page, snapshotMessage(23, caughtUp));
    await deliver(page, deltaMessage(24, { kind: 'training', event: { type: 'outer-step', learner: 'reptile', step: 53, totalSteps: 200, metaLoss: 1.7, tasks: [] } }));
    assert.deepEqual(await pointsOf(page, 'outer-loss'), { Reptile: 53, FOMAML: 20 });
    assert.equal(await attribute(page, 'body', 'data-seq'), '24');
    await page.close();
  });

  it('sends validated commands for control changes and refuses out-of-range values in place', async () => {
    const page = await openPanel(browser);
    await deliver(page, snapshotMessage(1, { ...syntheticState(30), training: { phase: 'idle', learner: 'reptile', step: 0, totalSteps: 0, backend: 'cpu' } }));
    const before = (await posted(page)).length;

    await commitField(page, 'alpha', '-1');
    assert.match((await page.locator('#alpha-problem').textContent()) ?? '', /must be a number ≥ 0/);
    await commitField(page, 'inner-steps', '2.5');
    assert.match((await page.locator('#inner-steps-problem').textContent()) ?? '', /whole number from 0 to 100/);
    assert.deepEqual(await commandsSince(page, before), [], 'nothing invalid reaches the host');

    await commitField(page, 'alpha', '0.25');
    await commitField(page, 'inner-lr', '1e-3');
    await commitField(page, 'inner-steps', '12');
    await page.locator('#start').click();
    await page.locator('#learner').click();
    await page.locator('#learner vscode-option[value="fomaml"]').click();
    assert.deepEqual(await commandsSince(page, before), [
      { kind: 'setAlpha', value: 0.25 },
      { kind: 'setInnerLr', value: 0.001 },
      { kind: 'setInnerSteps', value: 12 },
      { kind: 'start' },
      { kind: 'setLearner', learner: 'fomaml' },
    ]);
    assert.equal(await page.locator('#alpha-problem').textContent(), '');

    // The host refused a change: the field shows the confirmed value again, with the reason.
    await deliver(page, { type: 'panel/notice', version: PANEL_PROTOCOL_VERSION, level: 'error', text: 'Training is not available yet.' });
    assert.equal(await fieldValue(page, 'alpha', '1'), '1');
    assert.equal(await page.locator('#notice').textContent(), 'Training is not available yet.');
    await page.close();
  });

  it('selects a task on click and exports chart data through the host', async () => {
    const page = await openPanel(browser);
    const state = syntheticState(1);
    state.selectedTask = undefined;
    state.curves.adaptation = undefined;
    await deliver(page, snapshotMessage(1, state));
    const before = (await posted(page)).length;
    // A one-node graph is fitted to the centre of the canvas.
    const box = await page.locator('#task-graph').boundingBox();
    assert.ok(box !== null);
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.waitForSelector('.tooltip:not([hidden])');
    assert.match((await page.locator('.tooltip').textContent()) ?? '', /src\/module0\/file0\.ts.*Loss before.*nats\/token.*No neighbours/s);
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.locator('#chart-outer-loss button[data-export="csv"]').click();
    await page.locator('#chart-outer-loss button[data-export="png"]').click();
    await page.locator('#chart-fewshot button[data-export="csv"]').click();
    const commands = await commandsSince(page, before);
    assert.deepEqual(commands[0], { kind: 'selectTask', path: 'src/module0/file0.ts' });
    const csv = commands[1];
    assert.ok(csv.kind === 'exportCsv' && csv.chart === 'outer-loss');
    const lines = csv.csv.trim().split('\n');
    assert.equal(lines[0], 'outer step,Reptile,FOMAML');
    assert.equal(lines.length, 51);
    assert.equal(lines[50].split(',')[2], '', 'FOMAML has no value at step 50');
    const png = commands[2];
    assert.ok(png.kind === 'exportPng' && png.dataUrl.length > 1000);
    const table = commands[3];
    assert.ok(table.kind === 'exportCsv' && table.csv.startsWith('learner,k,entropy_bits,mrr\n'));
    await page.close();
  });

  it('shows a malformed message as an error and keeps working', async () => {
    const page = await openPanel(browser);
    await deliver(page, { type: 'panel/snapshot', version: 1, seq: 1, graph: {} });
    assert.match((await page.locator('#notice').textContent()) ?? '', /ignored a malformed message.*protocol version 1 is not 2/);
    await deliver(page, snapshotMessage(1, syntheticState(10)));
    assert.equal(await attribute(page, '.graph', 'data-nodes'), '10');
    await page.close();
  });

  it('keeps the colour toggle and filter across a reload through getState/setState', async () => {
    const page = await openPanel(browser);
    await deliver(page, snapshotMessage(1, syntheticState(200)));
    await page.locator('#colour-by').click();
    await page.locator('#colour-by vscode-option[value="community"]').click();
    await page.locator('#graph-filter input').fill('module2/');
    assert.equal(await attribute(page, '.graph', 'data-colour-by'), 'community');
    const matches = Number(await attribute(page, '.graph', 'data-matches'));
    assert.ok(matches > 0 && matches < 200, `${matches} files match`);
    const state = await savedState(page);
    assert.deepEqual(state, { colourBy: 'community', filter: 'module2/' });
    await page.close();

    const reloaded = await openPanel(browser, { savedState: state });
    await deliver(reloaded, snapshotMessage(1, syntheticState(200)));
    assert.equal(await attribute(reloaded, '.graph', 'data-colour-by'), 'community');
    assert.equal(await reloaded.locator('#colour-by').evaluate((element) => (element as unknown as { value: string }).value), 'community');
    assert.equal(await fieldValue(reloaded, 'graph-filter', 'module2/'), 'module2/');
    assert.equal(Number(await attribute(reloaded, '.graph', 'data-matches')), matches);
    await reloaded.close();
  });

  for (const theme of ['light', 'dark', 'high-contrast'] as const) {
    it(`renders in the ${theme} theme (screenshot)`, async () => {
      const page = await openPanel(browser, { theme });
      await deliver(page, snapshotMessage(1, syntheticState(300)));
      const background = await page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
      const expected = { light: 'rgb(255, 255, 255)', dark: 'rgb(31, 31, 31)', 'high-contrast': 'rgb(0, 0, 0)' }[theme];
      assert.equal(background, expected);
      const file = path.join(artifacts, `panel-${theme}.png`);
      await page.screenshot({ path: file, fullPage: true });
      assert.ok(fs.statSync(file).size > 10_000);
      await page.close();
    });
  }
});

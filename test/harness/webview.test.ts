import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
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

/**
 * The colour (r, g, b) of the page pixel at (x, y), from a screenshot: what
 * the user sees, whichever canvas (2D or WebGL) drew it. A 1×1 PNG's one
 * row needs no unfiltering: every PNG filter of a lone pixel is the identity.
 */
async function screenPixel(page: Page, x: number, y: number): Promise<number[]> {
  const png = await page.screenshot({ clip: { x: Math.floor(x), y: Math.floor(y), width: 1, height: 1 } });
  const chunks: Buffer[] = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    if (png.toString('latin1', at + 4, at + 8) === 'IDAT') chunks.push(png.subarray(at + 8, at + 8 + length));
    at += 12 + length;
  }
  return [...zlib.inflateSync(Buffer.concat(chunks)).subarray(1, 4)];
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

  it('zooms on the wheel and pans by dragging a 300-node graph; hover and click still find nodes', async () => {
    const page = await openPanel(browser);
    const state = syntheticState(300);
    state.selectedTask = undefined;
    await deliver(page, snapshotMessage(1, state));
    const box = await page.locator('#task-graph').boundingBox();
    assert.ok(box !== null);
    const fitted = Number(await attribute(page, '.graph', 'data-zoom'));
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    for (let step = 0; step < 6; step++) await page.mouse.wheel(0, -120);
    // The zoom is recorded once the view rests (150 ms).
    await page.waitForFunction(`Number(document.querySelector('.graph').dataset.zoom) > ${fitted * 2}`);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 40, box.y + box.height / 2 + 30, { steps: 4 });
    await page.mouse.up();
    assert.equal((await commandsSince(page, 0)).filter((command) => command.kind === 'selectTask').length, 0, 'a drag is not a click');
    // Zoomed in, nodes are large: a coarse grid of pointer positions meets one.
    let found: { x: number; y: number; path: string } | undefined;
    for (let row = 1; row < 12 && found === undefined; row++) {
      for (let column = 1; column < 16 && found === undefined; column++) {
        const x = box.x + (box.width * column) / 16;
        const y = box.y + (box.height * row) / 12;
        await page.mouse.move(x, y);
        if (await page.locator('.tooltip').isVisible()) found = { x, y, path: (await attribute(page, '.tooltip', 'data-path')) ?? '' };
      }
    }
    assert.ok(found !== undefined, 'no node under any grid point after zooming in');
    assert.match((await page.locator('.tooltip').textContent()) ?? '', new RegExp(`${found.path.replace(/[.]/g, '\\.')}.*Loss before`, 's'));
    const before = (await posted(page)).length;
    await page.mouse.click(found.x, found.y);
    assert.deepEqual(await commandsSince(page, before), [{ kind: 'selectTask', path: found.path }]);
    assert.equal(await attribute(page, '.graph', 'data-selected'), found.path);
    await page.close();
  });

  it('colours nodes by loss after adaptation where known, else before, with a legend and a "no loss yet" ring', async () => {
    const page = await openPanel(browser);
    const state = syntheticState(40);
    for (const node of state.graph.nodes) {
      delete node.lossBefore;
      delete node.lossAfter;
    }
    await deliver(page, snapshotMessage(1, state));
    const legend = page.locator('#graph-legend');
    assert.equal(await attribute(page, '#graph-legend', 'data-loss-shown'), 'none');
    assert.equal(await attribute(page, '.graph', 'data-hollow'), '40');
    assert.match((await legend.textContent()) ?? '', /none measured yet.*no loss yet \(40 files\)/);

    // The engine's k = 0 losses of training tasks (before only), then adapted losses of two held-out tasks.
    const [first, second, third] = state.graph.nodes.map((node) => node.path);
    state.graph.nodes[2].lossBefore = 4.5;
    state.graph.nodes[3].lossBefore = 3.5;
    await deliver(page, snapshotMessage(2, state));
    assert.equal(await attribute(page, '#graph-legend', 'data-loss-shown'), 'before');
    assert.match((await legend.textContent()) ?? '', /before adaptation \(k = 0\).*3\.50.*4\.50 nats\/token.*no loss yet \(38 files\)/);
    assert.equal(await attribute(page, '.graph', 'data-hollow'), '38');

    await deliver(page, deltaMessage(3, { kind: 'training', event: { type: 'task-losses', learner: 'reptile', k: 5, losses: [
      { task: first, before: 4, after: 3 },
      { task: second, before: 4.2, after: 3.2 },
    ] } }));
    assert.equal(await attribute(page, '#graph-legend', 'data-loss-shown'), 'mixed');
    assert.match((await legend.textContent()) ?? '', /after adaptation \(2 files\), else before adaptation \(k = 0, 2 files\).*3\.00.*4\.50.*no loss yet \(36 files\)/);
    assert.equal(await attribute(page, '.graph', 'data-hollow'), '36');
    assert.ok(third !== undefined);

    // Community colours need no loss: no rings.
    await page.locator('#colour-by').click();
    await page.locator('#colour-by vscode-option[value="community"]').click();
    assert.equal(await attribute(page, '.graph', 'data-hollow'), '0');
    assert.match((await legend.textContent()) ?? '', /community \(1 community\)/);
    await page.close();
  });

  it('fills a measured node and leaves an unmeasured one a hollow ring (pixels)', async () => {
    const page = await openPanel(browser);
    const state = syntheticState(1);
    const node = state.graph.nodes[0];
    delete node.lossBefore;
    delete node.lossAfter;
    await deliver(page, snapshotMessage(1, state));
    // The one node is fitted to the centre of the graph; read the pixel there as the user sees it.
    const box = await page.locator('#task-graph').boundingBox();
    assert.ok(box !== null);
    const centrePixel = async (): Promise<number[]> => {
      await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))');
      return screenPixel(page, box.x + box.width / 2, box.y + box.height / 2);
    };
    const background = await screenPixel(page, box.x + 3, box.y + 3);
    assert.deepEqual(await centrePixel(), background, 'an unmeasured node is not filled');
    // Its ring: the one node is the largest (28 px across at zoom 1).
    const radius = 14 * Number(await attribute(page, '.graph', 'data-zoom'));
    assert.notDeepEqual(await screenPixel(page, box.x + box.width / 2 + radius - 1, box.y + box.height / 2), background, 'an unmeasured node has a ring');
    await deliver(page, deltaMessage(2, { kind: 'training', event: { type: 'task-losses', learner: 'reptile', k: 5, losses: [{ task: node.path, before: 4, after: 3 }] } }));
    // One measured loss sits mid-scale: hsl(60, 70%, 45%) = rgb(195, 195, 34).
    const filled = await centrePixel();
    assert.ok(filled.every((channel, i) => Math.abs(channel - [195, 195, 34][i]) <= 2), `centre pixel ${filled.join(', ')}`);
    await page.close();
  });

  it('renders the few-shot table (learners × k) from a fewshot-table event and again after a resync', async () => {
    const page = await openPanel(browser);
    const state = syntheticState(10);
    state.curves.fewShot = [];
    await deliver(page, snapshotMessage(1, state));
    assert.equal(await page.locator('#chart-fewshot .empty').isVisible(), true);
    const rows = ['transfer', 'reptile', 'meta-sgd'].flatMap((learner, l) => [0, 1, 5, 10].map((k) => ({ learner, k, entropy: 5 - l * 0.3 - k * 0.05, mrr: 0.3 + l * 0.02 + k * 0.01 })));
    await deliver(page, deltaMessage(2, { kind: 'training', event: { type: 'fewshot-table', rows } }));
    const shape = async (target: Page) => ({
      rows: await target.locator('#chart-fewshot tbody tr').count(),
      columns: await target.locator('#chart-fewshot thead th').count(),
      firstRow: ((await target.locator('#chart-fewshot tbody tr').first().textContent()) ?? '').replace(/\s+/g, ' '),
    });
    const shown = await shape(page);
    assert.deepEqual(shown, { rows: 3, columns: 5, firstRow: 'transfer5.00 · 0.3004.95 · 0.3104.75 · 0.3504.50 · 0.400' });
    assert.equal(await page.locator('#chart-fewshot .empty').isVisible(), false);

    // A lost delta makes the page ask for a snapshot; the host's snapshot (with the table) brings it back.
    await deliver(page, deltaMessage(4, { kind: 'training', event: { type: 'online-loss', task: 'src/a.ts', tokens: 40, loss: 2.5 } }));
    const resync = (await posted(page)).filter((message) => message.type === 'panel/resync');
    assert.deepEqual(resync.map((message) => message.type === 'panel/resync' && message.lastSeq), [2]);
    const afterResync = syntheticState(10);
    afterResync.curves.fewShot = rows;
    await deliver(page, snapshotMessage(4, afterResync));
    assert.deepEqual(await shape(page), shown);

    // And a reloaded page, which starts from the snapshot alone.
    const reloaded = await openPanel(browser);
    await deliver(reloaded, snapshotMessage(4, afterResync));
    assert.deepEqual(await shape(reloaded), shown);
    await reloaded.close();
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

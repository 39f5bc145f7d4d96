// Benchmarks the BUILT training-panel bundle in headless Chromium (the test
// harness page, test/harness/index.html): first render of a 2,000-node
// snapshot, the time to append one metrics point, and the bundle size.
// Run with `npm run bench:webview` (builds and compiles the harness first).
// Prints a table and a JSON line; the JSON also goes to test-artifacts/webview/bench.json.
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const require = createRequire(import.meta.url);
const harness = require('../out/test/harness/harness.js');

const NODES = Number(process.env.BENCH_NODES ?? 2000);
const RENDER_REPEATS = Number(process.env.BENCH_RENDER_REPEATS ?? 5);
const APPENDS = Number(process.env.BENCH_APPENDS ?? 200);
const TARGETS = { firstRenderMs: 2000, appendMs: 5, bundleBytes: 1.5 * 1024 * 1024 };

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function percentile(values, share) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))];
}

const root = harness.repoRoot();
const bundle = join(root, 'dist', 'webview', 'main.js');
const stylesheet = join(root, 'dist', 'webview', 'main.css');
const bundleBytes = statSync(bundle).size;
const stylesheetBytes = statSync(stylesheet).size;
const bundleGzipBytes = gzipSync(readFileSync(bundle)).length;

const state = harness.syntheticState(NODES, { outerSteps: 1000 });
const browser = await harness.launchChromium();
const renders = [];
const layouts = [];
const appends = [];
const appendsToFrame = [];
const zoomFrames = [];
const hovers = [];
try {
  for (let repeat = 0; repeat < RENDER_REPEATS; repeat++) {
    const page = await harness.openPanel(browser);
    // Hand the snapshot to the page first, so the timing covers the panel's work and not the bench's transfer.
    await page.evaluate((message) => (globalThis.benchSnapshot = message), harness.snapshotMessage(1, state));
    const timing = await page.evaluate(async () => {
      const started = performance.now();
      globalThis.harness.deliver(globalThis.benchSnapshot);
      const handled = performance.now();
      // Two frames: cytoscape and uPlot have painted.
      await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
      return { totalMs: performance.now() - started, handledMs: handled - started, layoutMs: Number(document.querySelector('.graph').dataset.layoutMs) };
    });
    const nodes = await page.locator('.graph').getAttribute('data-nodes');
    if (nodes !== String(NODES)) throw new Error(`the panel drew ${nodes} nodes, not ${NODES}`);
    renders.push(timing.totalMs);
    layouts.push(timing.layoutMs);

    if (repeat === 0) {
      const measured = await page.evaluate(
        async ({ count, firstStep }) => {
          const sync = [];
          const toFrame = [];
          for (let i = 0; i < count; i++) {
            const message = {
              type: 'panel/delta',
              version: 2,
              seq: 2 + i,
              change: { kind: 'training', event: { type: 'outer-step', learner: 'reptile', step: firstStep + i, totalSteps: 5000, metaLoss: 2 + Math.sin(i) * 0.1, tasks: [] } },
            };
            const started = performance.now();
            globalThis.harness.deliver(message);
            sync.push(performance.now() - started);
            // Every tenth point, also wait for the next frame (what the user sees).
            if (i % 10 === 0) {
              await new Promise((resolve) => requestAnimationFrame(resolve));
              toFrame.push(performance.now() - started);
            }
          }
          return { sync, toFrame, seq: document.body.dataset.seq };
        },
        { count: APPENDS, firstStep: 1001 },
      );
      if (measured.seq !== String(1 + APPENDS)) throw new Error(`the panel stopped at seq ${measured.seq}`);
      appends.push(...measured.sync);
      appendsToFrame.push(...measured.toFrame);

      // Interaction: a wheel zoom step until the next painted frame, and hover until the tooltip shows.
      const box = await page.locator('#task-graph').boundingBox();
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      for (let step = 0; step < 10; step++) {
        const started = Date.now();
        await page.mouse.wheel(0, step < 5 ? -120 : 120);
        await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
        zoomFrames.push(Date.now() - started);
      }
      await page.waitForTimeout(300);
      for (let attempt = 0; attempt < 8; attempt++) {
        await page.mouse.move(box.x + 5, box.y + 5);
        await page.waitForTimeout(50);
        const started = Date.now();
        await page.mouse.move(box.x + box.width / 2 + attempt * 3, box.y + box.height / 2 + attempt * 3, { steps: 1 });
        const shown = await page
          .waitForSelector('.tooltip:not([hidden])', { timeout: 1000 })
          .then(() => true)
          .catch(() => false);
        if (shown) hovers.push(Date.now() - started);
      }
    }
    await page.close();
  }
} finally {
  await browser.close();
}

const result = {
  nodes: NODES,
  edges: state.graph.edges.length,
  bundleBytes,
  bundleGzipBytes,
  stylesheetBytes,
  firstRenderMedianMs: median(renders),
  firstRenderMaxMs: Math.max(...renders),
  layoutMedianMs: median(layouts),
  renderRepeats: RENDER_REPEATS,
  appendMedianMs: median(appends),
  appendP95Ms: percentile(appends, 0.95),
  appendToNextFrameMedianMs: median(appendsToFrame),
  appends: APPENDS,
  zoomStepToFrameMedianMs: median(zoomFrames),
  hoverToTooltipMedianMs: hovers.length === 0 ? null : median(hovers),
  outerPointsBefore: 1000,
};

const rows = [
  ['bundle (main.js, minified)', `${(bundleBytes / 1024).toFixed(0)} KB (gzip ${(bundleGzipBytes / 1024).toFixed(0)} KB)`, `< ${TARGETS.bundleBytes / 1024 / 1024} MB`, bundleBytes < TARGETS.bundleBytes],
  [`first render, ${NODES} nodes / ${result.edges} edges (median of ${RENDER_REPEATS})`, `${result.firstRenderMedianMs.toFixed(0)} ms (max ${result.firstRenderMaxMs.toFixed(0)})`, `≤ ${TARGETS.firstRenderMs} ms`, result.firstRenderMedianMs <= TARGETS.firstRenderMs],
  ['  of which force layout (median)', `${result.layoutMedianMs.toFixed(0)} ms`, '', undefined],
  [`append one outer-loss point (median of ${APPENDS}, p95)`, `${result.appendMedianMs.toFixed(2)} ms (p95 ${result.appendP95Ms.toFixed(2)})`, `≤ ${TARGETS.appendMs} ms`, result.appendMedianMs <= TARGETS.appendMs],
  ['  append to next frame (median)', `${result.appendToNextFrameMedianMs.toFixed(1)} ms`, '', undefined],
  ['zoom step to painted frame (median of 10, incl. bench round trips)', `${result.zoomStepToFrameMedianMs.toFixed(0)} ms`, '', undefined],
  ['hover to tooltip (median, incl. bench round trips)', result.hoverToTooltipMedianMs === null ? 'no node under the pointer' : `${result.hoverToTooltipMedianMs.toFixed(0)} ms`, '', undefined],
];
const width = Math.max(...rows.map((row) => row[0].length));
for (const [name, value, target, ok] of rows) {
  console.log(`${name.padEnd(width)}  ${value.padEnd(28)}  ${target.padEnd(10)}  ${ok === undefined ? '' : ok ? 'ok' : 'OVER TARGET'}`);
}
console.log(JSON.stringify(result));
const artifacts = join(root, 'test-artifacts', 'webview');
mkdirSync(artifacts, { recursive: true });
writeFileSync(join(artifacts, 'bench.json'), JSON.stringify(result, null, 2) + '\n');

// Benchmarks the BUILT training-panel bundle in headless Chromium (the test
// harness page, test/harness/index.html): first render of a 2,000-node
// snapshot, the time to append one metrics point, zoom and pan steps on the
// graph (and on a one-node graph, the machine's floor), and the bundle size.
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
const ZOOM_STEPS = Number(process.env.BENCH_ZOOM_STEPS ?? 20);
const PAN_STEPS = Number(process.env.BENCH_PAN_STEPS ?? 20);
const TARGETS = { firstRenderMs: 2000, appendMs: 5, zoomStepMs: 50, panStepMs: 50, bundleBytes: 1.5 * 1024 * 1024 };

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function percentile(values, share) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))];
}


/**
 * Wheel steps (half in, half out, each at a new zoom level) and drag-pan steps
 * over the graph's centre; each is timed in the page from the input event's
 * timestamp to the next painted frame. Also reads how long the node layer's
 * draws took and the edge redraw once the view rests.
 */
async function measureInteraction(page, zoomSteps, panSteps) {
  await page.evaluate(() => {
    globalThis.benchInput = 0;
    for (const type of ['wheel', 'pointermove']) window.addEventListener(type, (event) => (globalThis.benchInput = event.timeStamp), { capture: true });
  });
  const sinceInput = () => page.evaluate(async () => {
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
    return { ms: performance.now() - globalThis.benchInput, nodeDrawMs: Number(document.querySelector('.graph').dataset.nodeDrawMs) };
  });
  const box = await page.locator('#task-graph').boundingBox();
  const centre = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  await page.mouse.move(centre.x, centre.y);
  const zoom = [];
  const pan = [];
  const nodeDraws = [];
  for (let step = 0; step < zoomSteps; step++) {
    await page.mouse.wheel(0, step < zoomSteps / 2 ? -120 : 120);
    const measured = await sinceInput();
    zoom.push(measured.ms);
    nodeDraws.push(measured.nodeDrawMs);
  }
  await page.mouse.down();
  for (let step = 0; step < panSteps; step++) {
    // Out and back, so the pointer ends over the same part of the graph.
    const offset = step < panSteps / 2 ? step + 1 : panSteps - step - 1;
    await page.mouse.move(centre.x + 12 * offset, centre.y + 6 * offset);
    const measured = await sinceInput();
    pan.push(measured.ms);
    nodeDraws.push(measured.nodeDrawMs);
  }
  await page.mouse.up();
  // The edges are redrawn once the view has rested for 150 ms.
  await page.waitForTimeout(400);
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0))));
  const edgeDrawMs = Number(await page.locator('.graph').getAttribute('data-edge-draw-ms'));
  return { zoom, pan, nodeDraws, edgeDrawMs };
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
const zoomSteps = [];
const panSteps = [];
const nodeDraws = [];
const edgeDraws = [];
const floorZoomSteps = [];
const hovers = [];
let renderer;
try {
  for (let repeat = 0; repeat < RENDER_REPEATS; repeat++) {
    const page = await harness.openPanel(browser);
    // Hand the snapshot to the page first, so the timing covers the panel's work and not the bench's transfer.
    await page.evaluate((message) => (globalThis.benchSnapshot = message), harness.snapshotMessage(1, state));
    const timing = await page.evaluate(async () => {
      const started = performance.now();
      globalThis.harness.deliver(globalThis.benchSnapshot);
      const handled = performance.now();
      // Two frames: the graph and uPlot have painted.
      await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
      return { totalMs: performance.now() - started, handledMs: handled - started, layoutMs: Number(document.querySelector('.graph').dataset.layoutMs) };
    });
    const nodes = await page.locator('.graph').getAttribute('data-nodes');
    if (nodes !== String(NODES)) throw new Error(`the panel drew ${nodes} nodes, not ${NODES}`);
    renders.push(timing.totalMs);
    // Which renderer drew the graph, and what WebGL runs on here (SwiftShader, in software, under --disable-gpu).
    renderer ??= await page.evaluate(() => {
      const gl = document.createElement('canvas').getContext('webgl2');
      const info = gl?.getExtension('WEBGL_debug_renderer_info');
      return { graph: document.querySelector('.graph').dataset.renderer ?? null, webgl2: gl === null ? null : info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER) };
    });
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

      // Interaction, measured in the page from the input event's timestamp to the next painted frame
      // (a frame callback, then a task after it), so the bench's round trips are not counted.
      const interaction = await measureInteraction(page, ZOOM_STEPS, PAN_STEPS);
      zoomSteps.push(...interaction.zoom);
      panSteps.push(...interaction.pan);
      nodeDraws.push(...interaction.nodeDraws);
      edgeDraws.push(interaction.edgeDrawMs);
      const box = await page.locator('#task-graph').boundingBox();
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
  // The same zoom steps on a one-node graph: what a frame costs on this machine whatever the graph.
  const floorPage = await harness.openPanel(browser);
  await harness.deliver(floorPage, harness.snapshotMessage(1, harness.syntheticState(1)));
  floorZoomSteps.push(...(await measureInteraction(floorPage, ZOOM_STEPS, 0)).zoom);
  await floorPage.close();
} finally {
  await browser.close();
}

const result = {
  nodes: NODES,
  edges: state.graph.edges.length,
  renderer,
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
  zoomStepToFrameMedianMs: median(zoomSteps),
  zoomStepToFrameP90Ms: percentile(zoomSteps, 0.9),
  zoomSteps: zoomSteps.length,
  panStepToFrameMedianMs: median(panSteps),
  panStepToFrameP90Ms: percentile(panSteps, 0.9),
  panSteps: panSteps.length,
  oneNodeZoomStepToFrameMedianMs: median(floorZoomSteps),
  nodeLayerDrawMedianMs: median(nodeDraws),
  edgeRedrawAtRestMs: median(edgeDraws),
  hoverToTooltipMedianMs: hovers.length === 0 ? null : median(hovers),
  outerPointsBefore: 1000,
};

const rows = [
  ['bundle (main.js, minified)', `${(bundleBytes / 1024).toFixed(0)} KB (gzip ${(bundleGzipBytes / 1024).toFixed(0)} KB)`, `< ${TARGETS.bundleBytes / 1024 / 1024} MB`, bundleBytes < TARGETS.bundleBytes],
  [`first render, ${NODES} nodes / ${result.edges} edges (median of ${RENDER_REPEATS})`, `${result.firstRenderMedianMs.toFixed(0)} ms (max ${result.firstRenderMaxMs.toFixed(0)})`, `≤ ${TARGETS.firstRenderMs} ms`, result.firstRenderMedianMs <= TARGETS.firstRenderMs],
  ['  of which force layout (median)', `${result.layoutMedianMs.toFixed(0)} ms`, '', undefined],
  [`append one outer-loss point (median of ${APPENDS}, p95)`, `${result.appendMedianMs.toFixed(2)} ms (p95 ${result.appendP95Ms.toFixed(2)})`, `≤ ${TARGETS.appendMs} ms`, result.appendMedianMs <= TARGETS.appendMs],
  ['  append to next frame (median)', `${result.appendToNextFrameMedianMs.toFixed(1)} ms`, '', undefined],
  [`zoom step (wheel) to painted frame (median of ${result.zoomSteps}, p90)`, `${result.zoomStepToFrameMedianMs.toFixed(0)} ms (p90 ${result.zoomStepToFrameP90Ms.toFixed(0)})`, `≤ ${TARGETS.zoomStepMs} ms`, result.zoomStepToFrameMedianMs <= TARGETS.zoomStepMs],
  [`pan step (drag) to painted frame (median of ${result.panSteps}, p90)`, `${result.panStepToFrameMedianMs.toFixed(0)} ms (p90 ${result.panStepToFrameP90Ms.toFixed(0)})`, `≤ ${TARGETS.panStepMs} ms`, result.panStepToFrameMedianMs <= TARGETS.panStepMs],
  ['  same zoom step on a one-node graph (this machine\'s floor)', `${result.oneNodeZoomStepToFrameMedianMs.toFixed(0)} ms`, '', undefined],
  ['  WebGL 2 in this Chromium', renderer?.webgl2 ?? 'none', '', undefined],
  // A library renderer that draws in its own frame loop (cytoscape) reports no draw times of its own.
  ...(Number.isFinite(result.nodeLayerDrawMedianMs) ? [['  node layer draw per frame (median)', `${result.nodeLayerDrawMedianMs.toFixed(1)} ms`, '', undefined]] : []),
  ...(Number.isFinite(result.edgeRedrawAtRestMs) ? [['  edge redraw once the view rests', `${result.edgeRedrawAtRestMs.toFixed(0)} ms`, '', undefined]] : []),
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

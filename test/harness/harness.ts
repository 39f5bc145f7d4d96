// Opens the BUILT training-panel bundle (dist/webview) in headless Debian
// Chromium, inside test/harness/index.html, whose host stub records what the
// page posts and delivers what a host would send. Shared by the harness
// tests and scripts/bench-webview.mjs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { DEFAULT_CONTROLS, PANEL_PROTOCOL_VERSION } from '../../src/protocol/panelProtocol';
// The e2e suite's Chromium flags and repository root, so both drive Chromium alike.
import { CHROMIUM_ARGS, repoRoot } from '../e2e/codeServer';
import type { PanelChange, PanelDeltaMessage, PanelSnapshotMessage, PanelState, PanelToHostMessage } from '../../src/protocol/panelProtocol';

export { CHROMIUM_ARGS, repoRoot };

export function chromiumPath(): string {
  return process.env.METACOMPLETE_CHROMIUM ?? '/usr/bin/chromium';
}

export function bundlePath(): string {
  return path.join(repoRoot(), 'dist', 'webview', 'main.js');
}

/** Launches headless Chromium; throws (never skips) with what to do when it cannot. */
export async function launchChromium(): Promise<Browser> {
  const executable = chromiumPath();
  if (!fs.existsSync(bundlePath())) throw new Error(`${bundlePath()} is missing: run \`npm run build\` first.`);
  try {
    return await chromium.launch({ executablePath: executable, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
  } catch (error) {
    throw new Error(
      `Chromium could not be launched from ${executable} (${(error as Error).message.split('\n')[0]}): run \`npm run e2e:install\` (installs Debian's chromium) or set METACOMPLETE_CHROMIUM.`,
    );
  }
}

export type Theme = 'light' | 'dark' | 'high-contrast';

/** Opens the harness page and waits for the bundle's `panel/ready`. */
export async function openPanel(browser: Browser, options: { theme?: Theme; savedState?: unknown; width?: number; height?: number } = {}): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: options.width ?? 1400, height: options.height ?? 900 } });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const url = pathToFileURL(path.join(repoRoot(), 'test', 'harness', 'index.html'));
  url.searchParams.set('theme', options.theme ?? 'light');
  if (options.savedState !== undefined) url.searchParams.set('state', JSON.stringify(options.savedState));
  await page.goto(url.toString());
  try {
    await page.waitForFunction(() => (globalThis as unknown as HarnessWindow).harness.posted.some((message) => message.type === 'panel/ready'), undefined, { timeout: 15_000 });
  } catch (error) {
    throw new Error(`The panel never sent panel/ready${errors.length > 0 ? `; page errors: ${errors.join('; ')}` : ''}.`);
  }
  return page;
}

interface HarnessWindow {
  harness: { posted: PanelToHostMessage[]; state: unknown; deliver(message: unknown): void };
}

/** Delivers `message` as the host would (a `message` event on window); returns when the page handled it. */
export async function deliver(page: Page, message: unknown): Promise<void> {
  await page.evaluate((data) => (globalThis as unknown as HarnessWindow).harness.deliver(data), message);
}

export async function posted(page: Page): Promise<PanelToHostMessage[]> {
  return page.evaluate(() => (globalThis as unknown as HarnessWindow).harness.posted);
}

export async function savedState(page: Page): Promise<unknown> {
  return page.evaluate(() => (globalThis as unknown as HarnessWindow).harness.state);
}

export function snapshotMessage(seq: number, state: PanelState): PanelSnapshotMessage {
  return { type: 'panel/snapshot', version: PANEL_PROTOCOL_VERSION, seq, state };
}

export function deltaMessage(seq: number, change: PanelChange): PanelDeltaMessage {
  return { type: 'panel/delta', version: PANEL_PROTOCOL_VERSION, seq, change };
}

/** A deterministic pseudo-random sequence in [0, 1). */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

/**
 * A panel state shaped like a real workspace's: `files` nodes in communities
 * of about 60, each linked to up to 8 neighbours (mostly in its community),
 * measured losses on every node, an outer-loss run, an adaptation curve, an
 * online curve and a few-shot table.
 */
export function syntheticState(files: number, options: { outerSteps?: number; seed?: number } = {}): PanelState {
  const random = lcg(options.seed ?? 7);
  const communities = Math.max(1, Math.round(files / 60));
  const nodes = Array.from({ length: files }, (_, i) => {
    const community = i % communities;
    const before = 3 + random() * 2;
    return {
      path: `src/module${community}/file${i}.ts`,
      tokens: Math.round(50 + random() * random() * 5000),
      community,
      lossBefore: before,
      lossAfter: before - 0.3 - random(),
    };
  });
  const seen = new Set<string>();
  const edges: PanelState['graph']['edges'] = [];
  for (let i = 0; i < files; i++) {
    for (let n = 0; n < 8; n++) {
      const sameCommunity = random() < 0.85;
      let j = Math.floor(random() * files);
      if (sameCommunity) j = Math.min(files - 1, Math.floor(j / communities) * communities + (i % communities));
      if (j === i) continue;
      const [source, target] = nodes[i].path < nodes[j].path ? [nodes[i].path, nodes[j].path] : [nodes[j].path, nodes[i].path];
      const key = `${source}\u0000${target}`;
      if (seen.has(key)) continue;
      seen.add(key);
      // kNN cosine similarities are mostly low: skew the weights towards 0.05.
      const draw = random();
      edges.push({ source, target, weight: 0.05 + 0.85 * draw * draw });
    }
  }
  const steps = options.outerSteps ?? 50;
  const outerX = Array.from({ length: steps }, (_, i) => i + 1);
  const selected = nodes[0]?.path;
  return {
    graph: { nodes, edges },
    training: { phase: 'meta-training', learner: 'reptile', step: steps, totalSteps: 200, backend: 'wasm' },
    controls: { ...DEFAULT_CONTROLS },
    selectedTask: selected,
    curves: {
      outerLoss: [
        { learner: 'reptile', points: { x: outerX, y: outerX.map((step) => 4 / Math.sqrt(step) + 1.5) } },
        { learner: 'fomaml', points: { x: outerX.slice(0, 20), y: outerX.slice(0, 20).map((step) => 4.2 / Math.sqrt(step) + 1.6) } },
      ],
      adaptation:
        selected === undefined
          ? undefined
          : { task: selected, curves: [{ learner: 'reptile', queryLoss: [4, 3.2, 2.8, 2.6, 2.5, 2.45] }], baseline: [4, 3.8, 3.6, 3.5, 3.4, 3.35] },
      online: { task: selected ?? 'src/a.ts', points: { x: [5, 12, 20], y: [3.1, 2.9, 2.7] } },
      fewShot: [
        { learner: 'transfer', k: 0, entropy: 5.2, mrr: 0.3 },
        { learner: 'transfer', k: 5, entropy: 4.9, mrr: 0.33 },
        { learner: 'reptile', k: 0, entropy: 5.0, mrr: 0.31 },
        { learner: 'reptile', k: 5, entropy: 4.1, mrr: 0.4 },
      ],
    },
  };
}

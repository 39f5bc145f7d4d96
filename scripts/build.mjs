// Bundles the five entry points with esbuild. `--watch` rebuilds on change.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const common = {
  bundle: true,
  sourcemap: !production,
  minify: production,
  logLevel: 'info',
  target: 'node20',
};

/** @type {import('esbuild').BuildOptions[]} */
const entries = [
  {
    ...common,
    entryPoints: ['src/extension.ts'],
    outfile: 'dist/extension.js',
    platform: 'node',
    format: 'cjs',
    external: ['vscode', '@tensorflow/tfjs-node'],
  },
  {
    ...common,
    entryPoints: ['src/worker/main.ts'],
    outfile: 'dist/worker.js',
    platform: 'node',
    format: 'cjs',
    external: ['@tensorflow/tfjs-node'],
  },
  {
    ...common,
    entryPoints: ['src/worker/trainingThread.ts'],
    outfile: 'dist/trainingThread.js',
    platform: 'node',
    format: 'cjs',
    external: ['@tensorflow/tfjs-node'],
  },
  {
    ...common,
    entryPoints: ['src/cli/main.ts'],
    outfile: 'dist/cli.js',
    platform: 'node',
    format: 'cjs',
    external: ['@tensorflow/tfjs-node'],
  },
  {
    ...common,
    entryPoints: ['webview/main.ts'],
    outfile: 'dist/webview/main.js',
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    minify: true,
  },
];

// The wasm backend's binaries ship beside the bundles: dist/ is all the .vsix carries.
const require = createRequire(import.meta.url);
const wasmSource = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
mkdirSync('dist/wasm', { recursive: true });
for (const name of readdirSync(wasmSource).filter((file) => file.endsWith('.wasm'))) {
  copyFileSync(join(wasmSource, name), join('dist/wasm', name));
}

if (watch) {
  const contexts = await Promise.all(entries.map((options) => esbuild.context(options)));
  await Promise.all(contexts.map((context) => context.watch()));
} else {
  await Promise.all(entries.map((options) => esbuild.build(options)));
}

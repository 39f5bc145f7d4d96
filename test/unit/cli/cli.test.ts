import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { splitOf } from '../../../src/core/text/split';
import { SECRETS, SECRET_NPMRC, SECRET_TS } from '../core/text/secretFixtures';

const repoRoot = join(__dirname, '..', '..', '..', '..');
const launcher = join(repoRoot, 'bin', 'metacomplete.js');
const rxjsSrc = join(dirname(require.resolve('rxjs/package.json')), 'src');

function cli(...args: string[]) {
  return spawnSync(process.execPath, [launcher, ...args], { encoding: 'utf8', maxBuffer: 32 * 1024 * 1024 });
}

describe('metacomplete CLI (bundled, through bin/)', () => {
  let fixture: string;
  let out: string;

  before(() => {
    fixture = mkdtempSync(join(tmpdir(), 'metacomplete-cli-'));
    out = mkdtempSync(join(tmpdir(), 'metacomplete-out-'));
    // Forty real files from rxjs, so the protocol's split has TEST files, plus bad input of every kind.
    cpSync(join(rxjsSrc, 'internal', 'operators'), join(fixture, 'operators'), { recursive: true });
    for (const name of readdirSync(join(fixture, 'operators')).sort().slice(40)) rmSync(join(fixture, 'operators', name));
    writeFileSync(join(fixture, 'image.ts'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x00, 0x01]));
    writeFileSync(join(fixture, 'latin1.ts'), Buffer.from('const caf\xe9 = 1;\n', 'latin1'));
    writeFileSync(join(fixture, 'empty.ts'), '');
    writeFileSync(join(fixture, 'bundle.min.js'), 'var a=1;'.repeat(5 * 1024 * 1024 / 8));
    mkdirSync(join(fixture, 'types'));
    writeFileSync(join(fixture, 'types', 'index.d.ts'), 'export declare const x: number;\n');
  });

  after(() => {
    rmSync(fixture, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  });

  it('eval --json prints the figures and names every skipped file with its reason', () => {
    const run = cli('eval', fixture, '--model', 'graph-nested', '--setting', 'project', '--json');
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    for (const key of ['model', 'setting', 'files', 'tokens', 'entropy', 'mrr', 'top1']) assert.ok(key in result, key);
    assert.equal(result.model, 'graph-nested');
    assert.equal(result.setting, 'project');
    assert.ok(result.files > 0 && result.tokens > 0);
    assert.ok(result.entropy > 0 && result.entropy < 10, `entropy ${result.entropy}`);
    assert.ok(result.mrr > 0.3 && result.mrr <= 1, `mrr ${result.mrr}`);
    assert.match(run.stderr, /skipped image\.ts: binary/);
    assert.match(run.stderr, /skipped latin1\.ts: not valid UTF-8/);
    assert.match(run.stderr, /skipped empty\.ts: no tokens/);
    assert.match(run.stderr, /skipped bundle\.min\.js: file is \d+ bytes, over the/);
    const expectedTest = readdirSync(join(fixture, 'operators')).filter((name) => splitOf(`operators/${name}`) === 'test');
    assert.equal(result.files, expectedTest.length);
  });

  it('the cache and project settings beat the static one on the same files', () => {
    const entropy = (model: string, setting: string) =>
      JSON.parse(cli('eval', fixture, '--model', model, '--setting', setting, '--json').stdout).entropy as number;
    assert.ok(entropy('cache', 'cache') < entropy('ngram', 'static'));
  });

  it('tokens writes the protocol layout, one TAB-separated line per file', () => {
    const run = cli('tokens', fixture, '--out', out);
    assert.equal(run.status, 0, run.stderr);
    const name = readdirSync(join(fixture, 'operators')).sort()[0];
    const split = splitOf(`operators/${name}`);
    const dumped = readFileSync(join(out, split, 'operators', `${name}.tok`), 'utf8');
    assert.ok(dumped.endsWith('\n'));
    assert.equal(dumped.split('\n').length, 2);
    assert.ok(dumped.split('\t').length > 10);
  });

  it('tokens and eval go through a file of templates nested 50,000 deep', () => {
    const folder = mkdtempSync(join(tmpdir(), 'metacomplete-nested-'));
    try {
      cpSync(join(fixture, 'operators'), join(folder, 'operators'), { recursive: true });
      writeFileSync(join(folder, 'nested.ts'), `const x = ${'`${\n'.repeat(50_000)}`);
      const tokens = cli('tokens', folder, '--out', join(folder, 'out'));
      assert.equal(tokens.status, 0, tokens.stderr);
      assert.equal(readFileSync(join(folder, 'out', splitOf('nested.ts'), 'nested.ts.tok'), 'utf8').split('\t').length, 4);
      const run = cli('eval', folder, '--model', 'ngram', '--setting', 'static', '--json');
      assert.equal(run.status, 0, run.stderr);
      assert.ok((JSON.parse(run.stdout) as { files: number }).files > 0);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('a bad option is a usage error with exit code 2', () => {
    const run = cli('eval', fixture, '--model', 'gpt');
    assert.equal(run.status, 2);
    assert.match(run.stderr, /--model must be one of ngram, cache, nested, graph-nested, mixture/);
    assert.equal(cli('eval', join(fixture, 'missing')).status, 2);
  });

  it('a numeric option in hex or out of range is a usage error', () => {
    for (const order of ['0x10', '33', '1e1']) {
      const run = cli('eval', fixture, '--order', order);
      assert.equal(run.status, 2, order);
      assert.match(run.stderr, new RegExp(`--order must be an integer from 1 to 32, written in decimal digits \\(got "${order}"\\)`));
    }
    const ks = cli('fewshot', fixture, '--ks', '0,0x5');
    assert.equal(ks.status, 2);
    assert.match(ks.stderr, /--ks/);
  });

  it('train refuses an --out folder that does not exist before training starts', () => {
    const started = Date.now();
    const run = cli('train', fixture, '--out', join(out, 'missing', 'model.mcmodel'), '--quick');
    assert.equal(run.status, 2);
    assert.match(run.stderr, /--out: the folder .*missing does not exist; create it or choose another path/);
    assert.doesNotMatch(run.stderr, /pre-training/);
    assert.ok(Date.now() - started < 30_000);
  });

  it('eval refuses a checkpoint that is a device or a folder, without reading it', function () {
    this.timeout(60_000);
    for (const checkpoint of ['/dev/zero', out]) {
      // Reading /dev/zero grew to 2.7 GB and never answered: the timeout turns a hang into a failure.
      const run = spawnSync(process.execPath, [launcher, 'eval', fixture, '--model', 'mixture', '--checkpoint', checkpoint], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(run.status, 1, run.stderr);
      assert.match(run.stderr, /cannot be used: it is not a regular file\./);
    }
  });

  // Tiny sizes: these tests are about the commands' contracts, not the figures (see `npm run bench`).
  const tiny = ['--quick', '--vocab', '120', '--hidden', '8', '--outer-steps', '2'];

  it('fewshot --json gives query entropy and MRR for every learner at every k', function () {
    this.timeout(300_000);
    const run = cli('fewshot', fixture, '--json', '--ks', '0,1', ...tiny);
    assert.equal(run.status, 0, run.stderr);
    const { rows } = JSON.parse(run.stdout) as { rows: { learner: string; k: number; entropy: number; mrr: number }[] };
    const learners = ['ngram-static', 'ngram-graph-nested', 'lstm', 'transfer', 'reptile', 'fomaml', 'meta-sgd', 'meta-network', 'dynamic-eval', 'mixture'];
    assert.deepEqual([...new Set(rows.map((row) => row.learner))], learners);
    for (const learner of learners) assert.deepEqual(rows.filter((row) => row.learner === learner).map((row) => row.k), [0, 1], learner);
    for (const row of rows) {
      assert.ok(Number.isFinite(row.entropy) && row.entropy > 0, `${row.learner}@${row.k} entropy ${row.entropy}`);
      assert.ok(row.mrr >= 0 && row.mrr <= 1, `${row.learner}@${row.k} mrr ${row.mrr}`);
    }
    const at = (learner: string, k: number) => rows.find((row) => row.learner === learner && row.k === k) as (typeof rows)[number];
    // Models without inner steps repeat one figure; the un-adapted LSTM is transfer before fine-tuning.
    assert.deepEqual(at('ngram-graph-nested', 0), { ...at('ngram-graph-nested', 1), k: 0 });
    assert.equal(at('lstm', 1).entropy, at('transfer', 0).entropy);
    // The project-setting n-gram knows more than the static one on the same positions.
    assert.ok(at('ngram-graph-nested', 0).entropy < at('ngram-static', 0).entropy);
  });

  it('train and fewshot --support neighbours meta-train and adapt on task-graph neighbours, TEST files on TRAIN neighbours only', function () {
    this.timeout(300_000);
    const checkpoint = join(out, 'neighbours.mcmodel');
    const train = cli('train', fixture, '--out', checkpoint, '--support', 'neighbours', '--learner', 'reptile', ...tiny);
    assert.equal(train.status, 0, train.stderr);
    assert.match(train.stderr, /support sets from task-graph neighbours: [1-9]\d*\/\d+ training/);
    assert.match(train.stderr, /few-shot table on held-out files[^]*transfer[^]*reptile/);
    const fewshot = cli('fewshot', fixture, '--json', '--ks', '0,1', '--learners', 'reptile', '--support', 'neighbours', ...tiny);
    assert.equal(fewshot.status, 0, fewshot.stderr);
    const result = JSON.parse(fewshot.stdout) as { support: string; rows: { learner: string; entropy: number }[] };
    assert.equal(result.support, 'neighbours');
    assert.ok(result.rows.some((row) => row.learner === 'reptile') && result.rows.every((row) => Number.isFinite(row.entropy)));
    assert.equal(cli('train', fixture, '--out', checkpoint, '--support', 'siblings', ...tiny).status, 2, 'an unknown support source is a usage error');
  });

  it('train --learner meta-network fits its gate with dynamic evaluation from θ and writes a checkpoint the mixture scores', function () {
    this.timeout(300_000);
    const checkpoint = join(out, 'meta-network.mcmodel');
    const train = cli('train', fixture, '--out', checkpoint, '--learner', 'meta-network', ...tiny);
    assert.equal(train.status, 0, train.stderr);
    assert.match(train.stderr, /dynamic-evaluation rate [\d.e-]+\ngate fitted on [1-9]\d* held-out files/);
    assert.match(train.stdout, /meta-network model written to /);
    const mixture = cli('eval', fixture, '--model', 'mixture', '--checkpoint', checkpoint, '--json');
    assert.equal(mixture.status, 0, mixture.stderr);
    const m = JSON.parse(mixture.stdout);
    assert.equal(m.learner, 'meta-network');
    assert.ok(Number.isFinite(m.entropy) && m.entropy > 0 && m.mrr > 0.3, JSON.stringify(m));
  });

  it('train writes a checkpoint that eval --model mixture scores on every TEST token, and a corrupt one is refused', function () {
    this.timeout(300_000);
    const checkpoint = join(out, 'model.mcmodel');
    const train = cli('train', fixture, '--out', checkpoint, ...tiny);
    assert.equal(train.status, 0, train.stderr);
    assert.match(train.stdout, /meta-sgd model written to .*model\.mcmodel: 121 classes/);
    const mixture = cli('eval', fixture, '--model', 'mixture', '--checkpoint', checkpoint, '--json');
    assert.equal(mixture.status, 0, mixture.stderr);
    const ngram = cli('eval', fixture, '--model', 'graph-nested', '--json');
    const [m, n] = [JSON.parse(mixture.stdout), JSON.parse(ngram.stdout)];
    assert.equal(m.model, 'mixture');
    assert.equal(m.tokens, n.tokens, 'the mixture scores the same positions as the n-gram');
    assert.ok(Number.isFinite(m.entropy) && m.entropy > 0 && m.mrr > 0.3, JSON.stringify(m));
    assert.ok(m.meanGate >= 0 && m.meanGate <= 1);
    assert.equal(m.slpBatch, undefined, 'the leaky ranking is asked for, never given by default');

    // Ranked as SLP-Core's batch mode ranks (its cache has read the file ahead): reported apart, higher,
    // and the leak-free figures unchanged.
    const leaky = cli('eval', fixture, '--model', 'mixture', '--checkpoint', checkpoint, '--slp-batch-mrr', '--json');
    assert.equal(leaky.status, 0, leaky.stderr);
    const l = JSON.parse(leaky.stdout);
    assert.deepEqual([l.entropy, l.mrr, l.top1, l.tokens], [m.entropy, m.mrr, m.top1, m.tokens]);
    assert.ok(l.slpBatch.mrr > m.mrr + 0.01, `SLP batch ${l.slpBatch.mrr} vs leak-free ${m.mrr}`);
    const table = cli('eval', fixture, '--model', 'mixture', '--checkpoint', checkpoint, '--slp-batch-mrr');
    assert.match(table.stdout, new RegExp(`SLP-Core batch ranking \\(leaky\\)\\s+${m.tokens}\\s+—\\s+${l.slpBatch.mrr.toFixed(3)}`));

    const corrupt = join(out, 'corrupt.mcmodel');
    const bytes = readFileSync(checkpoint);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(corrupt, bytes);
    const refused = cli('eval', fixture, '--model', 'mixture', '--checkpoint', corrupt);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /corrupt/);
    assert.equal(cli('eval', fixture, '--model', 'mixture').status, 2, '--model mixture needs --checkpoint');
  });

  it('train and tokens on a folder with keys write none of them, however often they occur', function () {
    this.timeout(300_000);
    const folder = join(out, 'with-secrets');
    cpSync(join(fixture, 'operators'), join(folder, 'operators'), { recursive: true });
    // Repeated so that each secret is among the most frequent tokens: a class of the model, were it learned.
    const secretLines = SECRET_TS.split('\n').filter((line) => !line.startsWith('export const total')).join('\n');
    for (let i = 0; i < 4; i++) {
      writeFileSync(join(folder, `config${i}.ts`), `${secretLines}\n`.repeat(40));
      writeFileSync(join(folder, `npmrc${i}.py`), SECRET_NPMRC.repeat(40));
    }
    const checkpoint = join(out, 'secrets.mcmodel');
    const train = cli('train', folder, '--out', checkpoint, '--all', ...tiny);
    assert.equal(train.status, 0, train.stderr);
    const written = readFileSync(checkpoint, 'latin1');
    assert.match(written, /"classTokens":\["[^]*"password"/, 'the names around the secrets are classes');
    const dump = join(out, 'secrets-tokens');
    assert.equal(cli('tokens', folder, '--out', dump).status, 0);
    const dumped = readdirSync(dump, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => readFileSync(join(entry.parentPath, entry.name), 'latin1'))
      .join('\n');
    for (const secret of SECRETS) {
      assert.ok(!written.includes(secret.fragment), `${secret.name} is in the checkpoint`);
      assert.ok(!dumped.includes(secret.fragment), `${secret.name} is in the token dump`);
    }
  });
});

import { strict as assert } from 'node:assert';
import { measureCountingThroughput, measurePredictLatency } from '../../../../src/core/eval/bench';
import type { CorpusFile } from '../../../../src/core/text/corpus';

function corpus(): CorpusFile[] {
  const files: CorpusFile[] = [];
  for (let i = 0; i < 10; i++) {
    const body = `{ return source . pipe ( op${i} ( ) ) ; }`;
    const text = `import { op${i} } from 'rxjs' ; export function f${i} ( source ) ${body}`;
    const tokens = text.split(' ');
    files.push({ relPath: `src/d${i % 2}/f${i}.ts`, split: i % 4 === 0 ? 'test' : 'train', tokens });
  }
  return files;
}

describe('bench helpers', () => {
  it('measure counting throughput beside a Map baseline', () => {
    const result = measureCountingThroughput(corpus(), { repeats: 2 });
    assert.equal(result.tokens, corpus().reduce((sum, file) => sum + file.tokens.length, 0));
    assert.equal(result.order, 6);
    const rates = [
      result.coldTokensPerSecond,
      result.warmTokensPerSecond,
      result.forgetTokensPerSecond,
      result.baselineTokensPerSecond,
    ];
    for (const rate of rates) {
      assert.ok(rate > 0 && Number.isFinite(rate));
    }
  });

  it('measure predict latency at real positions of the TEST files', () => {
    for (const locality of ['graph', 'directory'] as const) {
      const result = measurePredictLatency(corpus(), { maxCalls: 40, locality });
      assert.ok(result.calls > 0 && result.calls <= 40);
      assert.equal(result.k, 10);
      assert.ok(result.medianMs <= result.p95Ms && result.p95Ms <= result.maxMs);
    }
  });
});

import { strict as assert } from 'node:assert';
import type { LmBatch } from '../../../../src/core/neural/batches';
import { countStreamTokens, makeTask } from '../../../../src/core/meta/tasks';
import type { BatchStream } from '../../../../src/core/meta/paramMaps';

/** Targets of the real positions, stream by stream, in lane order (batch size 1 keeps it sequential). */
function targetsOf(streams: readonly BatchStream[]): number[][] {
  return streams.map((stream) =>
    stream.flatMap((batch: LmBatch) => Array.from(batch.targets).filter((_, i) => batch.mask[i] === 1)),
  );
}

const file = Array.from({ length: 21 }, (_, i) => 1 + (i % 7));

describe('meta-learning tasks', () => {
  it('a prefix fraction supports on the first part and queries the rest, no target in both', () => {
    const task = makeTask('a.ts', file, { batchSize: 1, timeSteps: 4, support: { kind: 'prefix', fraction: 0.4 } });
    // 0.4 x 21 → 8 support tokens: targets are tokens 1..7, the query's are 8..20.
    assert.deepEqual(targetsOf(task.support), [file.slice(1, 8)]);
    assert.deepEqual(targetsOf(task.query), [file.slice(8)]);
    assert.equal(task.query[0][0].inputs[0], file[7], 'the query starts from the last support token as context');
    assert.equal(countStreamTokens(task.support) + countStreamTokens(task.query), file.length - 1);
    assert.equal(task.name, 'a.ts');
  });

  it('a token count splits at that token and clamps to the file', () => {
    const task = makeTask('b.ts', file, { batchSize: 2, timeSteps: 3, support: { kind: 'prefixTokens', tokens: 5 } });
    assert.equal(countStreamTokens(task.support), 4);
    assert.equal(countStreamTokens(task.query), 16);
    const whole = makeTask('b.ts', file, {
      batchSize: 2,
      timeSteps: 3,
      support: { kind: 'prefixTokens', tokens: 500 },
    });
    assert.equal(countStreamTokens(whole.support), 20);
    assert.deepEqual(whole.query, [], 'nothing is left to query');
  });

  it('neighbour support keeps one stream per neighbour and queries the whole file', () => {
    const neighbours = [[3, 4, 5, 6, 7], [2, 2, 2], [1]];
    const task = makeTask('c.ts', file, {
      batchSize: 1,
      timeSteps: 4,
      support: { kind: 'neighbours', neighbours, maxTokensPerNeighbour: 4 },
    });
    // A one-token neighbour predicts nothing and is dropped; the first is cut to 4 tokens.
    assert.deepEqual(targetsOf(task.support), [[4, 5, 6], [2, 2]]);
    assert.deepEqual(targetsOf(task.query), [file.slice(1)]);
  });

  it('rejects a support fraction outside [0, 1] with a message naming it', () => {
    assert.throws(
      () => makeTask('d.ts', file, { batchSize: 1, timeSteps: 4, support: { kind: 'prefix', fraction: 1.5 } }),
      /fraction must lie in \[0, 1\], got 1.5/,
    );
  });
});

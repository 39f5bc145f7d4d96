import { strict as assert } from 'node:assert';
import { BEGIN_OF_FILE, CountTrie } from '../../../../src/core/ngram/countTrie';
import { randomFiles } from './helpers';

/** Every n-gram count recomputed by brute force, keyed like CountState. */
function bruteForceCounts(files: readonly (readonly number[])[], order: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (const file of files) {
    const sequence = [BEGIN_OF_FILE, ...file];
    for (let end = 1; end < sequence.length; end++) {
      for (let length = 1; length <= order && end - length + 1 >= 0; length++) {
        const key = sequence.slice(end - length + 1, end + 1).join(' ');
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
  }
  return counts;
}

describe('CountTrie', () => {
  it('counts every n-gram up to the order after a start-of-file context', () => {
    const trie = new CountTrie(3);
    trie.learn('a', [1, 2, 1, 2]);
    const node = (...tokens: number[]): number => trie.find(tokens);
    assert.equal(trie.count(node(1, 2)), 2);
    assert.equal(trie.count(node(2, 1)), 1);
    assert.equal(trie.count(node(1, 2, 1)), 1);
    assert.equal(trie.count(node(BEGIN_OF_FILE, 1, 2)), 1);
    assert.equal(trie.count(node(BEGIN_OF_FILE)), 0, 'the start of a file is never a predicted token');
    assert.equal(trie.successorTotal(trie.root), 4);
    assert.equal(trie.successorTotal(node(1)), 2);
    assert.equal(trie.distinctSuccessors(node(1)), 1);
    assert.equal(trie.successorsWithCount(node(1), 2), 1);
    // Tokens seen right before "1 2": the start of the file and 2.
    assert.equal(trie.leftExtensionCount(node(1, 2)), 2);
    assert.equal(trie.leftExtensionCount(node(2)), 1);
  });

  it('matches brute-force counts on a random corpus large enough to grow its tables', () => {
    const files = randomFiles(40, 400, 60, 7);
    const trie = new CountTrie(4);
    files.forEach((file, i) => trie.learn(`f${i}`, file));
    const expected = bruteForceCounts(files, 4);
    const state = trie.countState();
    for (const [key, count] of expected) assert.equal(state.ngrams.get(key)?.count, count, key);
    for (const [key, stats] of state.ngrams) {
      if (stats.count > 0) assert.equal(expected.get(key), stats.count, key);
    }
  });

  it('keeps counts-of-counts equal to a recount from the n-grams', () => {
    const trie = new CountTrie(3);
    randomFiles(12, 200, 15, 3).forEach((file, i) => trie.learn(`f${i}`, file));
    trie.forget('f4');
    const state = trie.countState();
    for (let order = 1; order <= 3; order++) {
      for (let c = 1; c <= 4; c++) {
        let raw = 0;
        let continuation = 0;
        for (const [key, stats] of state.ngrams) {
          if (key === '' || key.split(' ').length !== order) continue;
          if (stats.count === c) raw++;
          if (stats.leftExtensions === c) continuation++;
        }
        assert.equal(trie.countsOfCounts(order, c, 'raw'), raw, `raw n${c} of order ${order}`);
        const kind = 'continuation';
        assert.equal(trie.countsOfCounts(order, c, kind), continuation, `continuation n${c} of order ${order}`);
      }
    }
  });

  it('restores exactly the same count state after learn then forget', () => {
    const trie = new CountTrie(6);
    const files = randomFiles(6, 300, 40, 11);
    files.slice(0, 5).forEach((file, i) => trie.learn(`f${i}`, file));
    const before = trie.countState();
    trie.learn('new', files[5]);
    assert.notDeepEqual(trie.countState(), before);
    trie.forget('new');
    assert.deepEqual(trie.countState(), before);
  });

  it('ends in the same state whatever the order of interleaved learns and forgets', () => {
    const files = randomFiles(5, 250, 30, 5);
    const interleaved = new CountTrie(5);
    interleaved.learn('a', files[0]);
    interleaved.learn('b', files[1]);
    interleaved.learn('c', files[2]);
    interleaved.forget('b');
    interleaved.learn('d', files[3]);
    interleaved.learn('a', files[4]); // an edit: replaces a's tokens
    interleaved.forget('c');
    interleaved.learn('b', files[1]);
    const direct = new CountTrie(5);
    direct.learn('d', files[3]);
    direct.learn('b', files[1]);
    direct.learn('a', files[4]);
    assert.deepEqual(interleaved.countState(), direct.countState());
  });

  it('treats forgetting an unknown file as a no-op', () => {
    const trie = new CountTrie(4);
    randomFiles(3, 100, 20, 2).forEach((file, i) => trie.learn(`f${i}`, file));
    const before = trie.countState();
    trie.forget('never-learned');
    trie.forget('f1');
    trie.forget('f1');
    trie.learn('f1', randomFiles(3, 100, 20, 2)[1]);
    assert.deepEqual(trie.countState(), before);
  });

  it('counts a file extended token by token like the same file learned at once', () => {
    const [file] = randomFiles(1, 150, 12, 9);
    const extended = new CountTrie(4);
    for (const token of file) extended.extend('f', token);
    const learned = new CountTrie(4);
    learned.learn('f', file);
    assert.deepEqual(extended.countState(), learned.countState());
    extended.forget('f');
    assert.equal(extended.countState().ngrams.size, 0);
  });

  it('counts a stream like a learned file, and clear empties it', () => {
    const [file] = randomFiles(1, 120, 10, 4);
    const streamed = new CountTrie(3);
    streamed.beginStream();
    for (const token of file) streamed.appendToStream(token);
    const learned = new CountTrie(3);
    learned.learn('f', file);
    assert.deepEqual(streamed.countState().ngrams, learned.countState().ngrams);
    streamed.clear();
    assert.equal(streamed.countState().ngrams.size, 0);
    assert.equal(streamed.successorTotal(streamed.root), 0);
  });

  it('lists children with their counts', () => {
    const trie = new CountTrie(2);
    trie.learn('f', [5, 6, 5, 7]);
    const children: number[] = [];
    trie.forEachChild(trie.find([5]), (_child, token) => children.push(token));
    assert.deepEqual(children.sort(), [6, 7]);
  });
});

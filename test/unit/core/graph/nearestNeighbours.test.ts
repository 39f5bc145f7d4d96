import * as assert from 'node:assert/strict';
import { LshBuckets, offerNeighbour, selectTop } from '../../../../src/core/graph/nearestNeighbours';
import type { ScoredFile } from '../../../../src/core/graph/nearestNeighbours';
import { TaskGraph } from '../../../../src/core/graph/taskGraph';
import { recallAtK, referenceCosine, rxjsFiles, syntheticFamilies } from './fixtures';

/** Forces the LSH path: by default graphs this small are searched exhaustively. */
const LSH_ONLY = { exhaustiveUpTo: 0 } as const;

describe('graph nearest neighbours', () => {
  describe('LSH search against brute force', () => {
    it('finds at least 90 % of the exact top-k on 200 synthetic files from 5 topic families', () => {
      const files = syntheticFamilies({ families: 5, filesPerFamily: 40 });
      const graph = TaskGraph.build(files, LSH_ONLY);
      const recall = recallAtK(graph, files.map((file) => file.path));
      assert.ok(recall >= 0.9, `recall@8 ${recall.toFixed(3)}`);
    });

    it('finds at least 90 % of the exact top-k on the rxjs sources', () => {
      const files = rxjsFiles();
      assert.ok(files.length > 200, 'rxjs sources are installed');
      const graph = TaskGraph.build(files, LSH_ONLY);
      const recall = recallAtK(graph, files.map((file) => file.path));
      assert.ok(recall >= 0.9, `recall@8 ${recall.toFixed(3)}`);
    });

    it('returns weights equal to the exact TF-IDF cosine, best first', () => {
      const files = rxjsFiles().slice(0, 120);
      const graph = TaskGraph.build(files, LSH_ONLY);
      const cosine = referenceCosine(files);
      const tokensOf = new Map(files.map((file) => [file.path, file.tokens]));
      let checked = 0;
      for (const file of files) {
        const neighbours = graph.neighbours(file.path);
        for (let i = 0; i < neighbours.length; i++) {
          const expected = cosine(file.tokens, tokensOf.get(neighbours[i].path) as string[]);
          assert.ok(Math.abs(neighbours[i].weight - expected) < 1e-9, `${file.path} -> ${neighbours[i].path}`);
          if (i > 0) assert.ok(neighbours[i - 1].weight >= neighbours[i].weight);
          checked++;
        }
      }
      assert.ok(checked > 500);
    });
  });

  it('keeps k, the minimum similarity and the file itself out of the lists', () => {
    const files = syntheticFamilies({ families: 3, filesPerFamily: 30 });
    const graph = TaskGraph.build(files, { ...LSH_ONLY, k: 5, minSimilarity: 0.2 });
    for (const file of files) {
      const neighbours = graph.neighbours(file.path);
      assert.ok(neighbours.length <= 5);
      for (const neighbour of neighbours) {
        assert.notEqual(neighbour.path, file.path);
        assert.ok(neighbour.weight >= 0.2);
      }
    }
  });

  it('gives neighbours to a file whose only link to others is one rare shared name', () => {
    const crowd = syntheticFamilies({ families: 4, filesPerFamily: 50 });
    // 400 names of its own drown the shared one, so MinHash slots almost never agree on it.
    const loners = [0, 1, 2].map((i) => ({
      path: `loners/file${i}.ts`,
      tokens: ['sharedRareHelper', ...Array.from({ length: 400 }, (_, j) => `onlyHere${i}x${j}`)],
    }));
    const options = { ...LSH_ONLY, minSimilarity: 0.001 };
    const graph = TaskGraph.build([...crowd, ...loners], options);
    for (const loner of loners) {
      const neighbours = graph.neighbours(loner.path).map((neighbour) => neighbour.path);
      assert.deepEqual(neighbours.sort(), loners.map((other) => other.path).filter((path) => path !== loner.path));
    }
    const withoutFallback = TaskGraph.build([...crowd, ...loners], { ...options, fallbackVisitBudget: 0 });
    const stranded = loners.filter((loner) => withoutFallback.neighbours(loner.path).length === 0);
    assert.ok(stranded.length > 0, 'without the fallback some loner has no neighbour');
  });

  it('stays bounded and correct when hundreds of files are identical', () => {
    const original = syntheticFamilies({ families: 1, filesPerFamily: 1 })[0].tokens;
    const copies = Array.from({ length: 300 }, (_, i) => ({ path: `vendor/copy${i}.ts`, tokens: original }));
    const others = syntheticFamilies({ families: 3, filesPerFamily: 20, seed: 99 });
    const graph = TaskGraph.build([...copies, ...others], { ...LSH_ONLY, maxBucketSize: 16 });
    for (const copy of copies) {
      const neighbours = graph.neighbours(copy.path);
      assert.equal(neighbours.length, 8);
      for (const neighbour of neighbours) assert.ok(Math.abs(neighbour.weight - 1) < 1e-9);
    }
    const { candidatesScored, neighbourListsRecomputed } = graph.workCounters;
    assert.ok(candidatesScored / neighbourListsRecomputed <= 128, 'exact scoring per search stays capped');
  });

  describe('building blocks', () => {
    it('keeps a neighbour list sorted, deduplicated and k long', () => {
      const list: ScoredFile[] = [];
      assert.deepEqual(offerNeighbour(list, 4, 0.5, 3), { inserted: true, evicted: -1 });
      offerNeighbour(list, 2, 0.9, 3);
      offerNeighbour(list, 7, 0.1, 3);
      assert.deepEqual(offerNeighbour(list, 2, 0.9, 3), { inserted: false, evicted: -1 });
      assert.deepEqual(offerNeighbour(list, 5, 0.6, 3), { inserted: true, evicted: 7 });
      assert.deepEqual(offerNeighbour(list, 8, 0.05, 3), { inserted: false, evicted: -1 });
      assert.deepEqual(
        list.map((entry) => entry.file),
        [2, 5, 4],
      );
    });

    it('selects the highest scores with ties going to the lower file', () => {
      const scores = Float64Array.of(0.1, 0.9, 0.5, 0.9, 0.3, 0.7);
      assert.deepEqual(selectTop([0, 1, 2, 3, 4, 5], scores, 3).sort(), [1, 3, 5]);
      assert.deepEqual(selectTop([5, 4, 3, 2, 1, 0], scores, 1), [1]);
    });

    it('caps LSH buckets and removes members cleanly', () => {
      const buckets = new LshBuckets(3);
      const keys = Uint32Array.of(11, 22);
      for (let file = 0; file < 5; file++) buckets.add(file, keys);
      assert.deepEqual(buckets.membersOf(11), [0, 1, 2]);
      buckets.remove(1, keys);
      buckets.remove(4, keys);
      assert.deepEqual([...(buckets.membersOf(22) as number[])].sort(), [0, 2]);
      buckets.remove(0, keys);
      assert.equal(buckets.membersOf(22), 2);
      buckets.remove(2, keys);
      assert.equal(buckets.bucketCount, 0);
    });
  });
});

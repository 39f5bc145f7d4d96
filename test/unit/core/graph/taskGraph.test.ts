import * as assert from 'node:assert/strict';
import { TaskGraph, directoryOf } from '../../../../src/core/graph/taskGraph';
import type { TaskGraphOptions } from '../../../../src/core/graph/taskGraph';
import { familyOf, rxjsFiles, syntheticFamilies } from './fixtures';

const LSH_ONLY: TaskGraphOptions = { exhaustiveUpTo: 0 };

interface PathTokens {
  readonly path: string;
  readonly tokens: readonly string[];
}

/**
 * Share of files whose top neighbour is the same in both graphs, or, when
 * `tolerance` > 0, one whose cosine is within `tolerance` of it: stale idf in
 * the incremental graph may swap near-ties, which is the documented trade-off.
 */
function topNeighbourAgreement(
  incremental: TaskGraph,
  fresh: TaskGraph,
  paths: readonly string[],
  tolerance = 1e-9,
): number {
  let same = 0;
  for (const path of paths) {
    const [a] = incremental.neighbours(path);
    const [b] = fresh.neighbours(path);
    if (a === undefined || b === undefined) same += a === b ? 1 : 0;
    else if (a.path === b.path || Math.abs(a.weight - b.weight) <= tolerance) same++;
  }
  return same / paths.length;
}

function assertCloseToFreshBuild(incremental: TaskGraph, fresh: TaskGraph, paths: readonly string[]): void {
  const strict = topNeighbourAgreement(incremental, fresh, paths);
  const nearTies = topNeighbourAgreement(incremental, fresh, paths, 0.005);
  assert.ok(strict >= 0.9, `same top neighbour for ${(strict * 100).toFixed(1)} % of files`);
  assert.ok(nearTies >= 0.98, `same or equally close top neighbour for ${(nearTies * 100).toFixed(1)} % of files`);
}

/** Files whose neighbour list holds `path`. */
function holdersOf(graph: TaskGraph, paths: readonly string[], path: string): number {
  return paths.filter((other) => graph.neighbours(other).some((n) => n.path === path)).length;
}

describe('TaskGraph', () => {
  const synthetic = syntheticFamilies({ families: 5, filesPerFamily: 40 });

  describe('incremental updates', () => {
    for (const [name, corpus] of [
      ['synthetic families', synthetic],
      ['rxjs sources', rxjsFiles()],
    ] as const) {
      it(`removing a file matches a fresh build and recomputes only the lists that held it (${name})`, () => {
        const graph = TaskGraph.build(corpus, LSH_ONLY);
        const paths = corpus.map((file) => file.path);
        // The file most lists hold: the worst case for a removal.
        const holders = new Map(paths.map((path) => [path, holdersOf(graph, paths, path)]));
        const removed = [...holders].sort((a, b) => b[1] - a[1])[0][0];
        graph.resetWorkCounters();

        graph.remove(removed);

        const remaining: PathTokens[] = corpus.filter((file) => file.path !== removed);
        const remainingPaths = remaining.map((file) => file.path);
        assert.equal(graph.size, remaining.length);
        assert.equal(graph.has(removed), false);
        for (const path of remainingPaths) assert.ok(graph.neighbours(path).every((n) => n.path !== removed));
        assertCloseToFreshBuild(graph, TaskGraph.build(remaining, LSH_ONLY), remainingPaths);
        const { neighbourListsRecomputed } = graph.workCounters;
        assert.equal(neighbourListsRecomputed, holders.get(removed));
        assert.ok(neighbourListsRecomputed <= corpus.length / 4, `${neighbourListsRecomputed} lists`);
      });

      it(`changing a file matches a fresh build and recomputes few lists (${name})`, () => {
        const graph = TaskGraph.build(corpus, LSH_ONLY);
        const paths = corpus.map((file) => file.path);
        const changed = corpus[7];
        const donor = corpus[corpus.length - 3];
        const newTokens = [...donor.tokens, ...changed.tokens.slice(0, 20)];
        const holders = holdersOf(graph, paths, changed.path);
        graph.resetWorkCounters();

        graph.upsert(changed.path, newTokens);

        const updated = corpus.map((file) =>
          file.path === changed.path ? { path: file.path, tokens: newTokens } : file,
        );
        assert.equal(graph.neighbours(changed.path)[0].path, donor.path);
        assertCloseToFreshBuild(graph, TaskGraph.build(updated, LSH_ONLY), paths);
        // Its own list plus the lists that held its old version.
        assert.equal(graph.workCounters.neighbourListsRecomputed, 1 + holders);
        assert.ok(holders < corpus.length / 4);
      });
    }

    it('adds a new file to its family and into the lists of its closest files', () => {
      const graph = TaskGraph.build(synthetic.slice(1), LSH_ONLY);
      graph.resetWorkCounters();
      graph.upsert(synthetic[0].path, synthetic[0].tokens);
      const neighbours = graph.neighbours(synthetic[0].path);
      assert.equal(neighbours.length, 8);
      assert.ok(neighbours.every((n) => familyOf(n.path) === familyOf(synthetic[0].path)));
      assert.ok(graph.workCounters.neighbourListsPatched > 0);
      const [closest] = neighbours;
      const listedByClosest = graph.neighbours(closest.path).some((n) => n.path === synthetic[0].path);
      const closestKth = graph.neighbours(closest.path).at(-1)?.weight ?? 0;
      assert.ok(listedByClosest || closestKth >= closest.weight);
    });

    it('does no work when a file is saved with the same tokens', () => {
      const graph = TaskGraph.build(synthetic, LSH_ONLY);
      graph.resetWorkCounters();
      graph.upsert(synthetic[3].path, [...synthetic[3].tokens]);
      assert.equal(graph.workCounters.neighbourListsRecomputed, 0);
    });

    it('re-weights with fresh idf once enough files were added, and then equals a fresh build', () => {
      const first = synthetic.slice(0, 100);
      const later = synthetic.slice(100, 160);
      const graph = TaskGraph.build(first, LSH_ONLY);
      graph.resetWorkCounters();
      for (const file of later.slice(0, 10)) graph.upsert(file.path, file.tokens);
      graph.neighbours(first[0].path);
      assert.equal(graph.workCounters.reweights, 0, '10 % drift keeps the stale idf');
      for (const file of later.slice(10)) graph.upsert(file.path, file.tokens);
      const all = [...first, ...later];
      graph.neighbours(first[0].path);
      assert.equal(graph.workCounters.reweights, 1);
      const fresh = TaskGraph.build(all, LSH_ONLY);
      for (const { path } of all) assert.deepEqual(graph.neighbours(path), fresh.neighbours(path));
    });
  });

  describe('with re-weighting spread over changes (reweightFilesPerChange)', () => {
    // Untyped so that it reads as options whether or not the graph knows the field.
    const SPREAD = { exhaustiveUpTo: 0, reweightFilesPerChange: 8 };
    const grown = syntheticFamilies({ families: 5, filesPerFamily: 80, seed: 11, prefix: 'grown/' });

    it('answers what completions read while the graph grows fourfold without re-weighting or detecting communities', () => {
      const graph = TaskGraph.build(grown.slice(0, 80), SPREAD);
      const probe = grown[0].tokens.slice(0, 64);
      let readWork = 0;
      for (const file of grown.slice(80)) {
        graph.upsert(file.path, file.tokens);
        const before = graph.workCounters;
        const found = graph.neighboursOfTokens(probe, 9, file.path);
        for (const { path } of found) graph.communityMembers(graph.communityOf(path) ?? -1);
        const after = graph.workCounters;
        readWork += after.reweights - before.reweights + after.communityDetections - before.communityDetections;
        readWork += after.neighbourListsRecomputed - before.neighbourListsRecomputed;
      }
      assert.equal(readWork, 0, 'whole-graph work done by reads');
      assert.ok(graph.workCounters.reweights >= 4, `${graph.workCounters.reweights} passes done by the changes`);
    });

    it('bounds the graph work of each change, passes included', () => {
      const graph = TaskGraph.build(grown.slice(0, 80), SPREAD);
      let worst = 0;
      for (const file of grown.slice(80)) {
        const before = graph.workCounters.neighbourListsRecomputed;
        graph.upsert(file.path, file.tokens);
        worst = Math.max(worst, graph.workCounters.neighbourListsRecomputed - before);
      }
      // Its own list, the slice of the pass, and at most k lists that held a replaced file.
      assert.ok(worst <= 1 + 8 + 8, `${worst} lists recomputed by one change`);
    });

    it('ends as close to a fresh build as reads re-weighting would, and knows the communities of all but the newest files', () => {
      const graph = TaskGraph.build(grown.slice(0, 80), SPREAD);
      const refreshedByReads = TaskGraph.build(grown.slice(0, 80), LSH_ONLY);
      for (const file of grown.slice(80)) {
        graph.upsert(file.path, file.tokens);
        refreshedByReads.upsert(file.path, file.tokens);
        refreshedByReads.neighboursOfTokens(file.tokens.slice(0, 32));
      }
      const paths = grown.map((file) => file.path);
      const fresh = TaskGraph.build(grown, LSH_ONLY);
      const spread = topNeighbourAgreement(graph, fresh, paths, 0.005);
      const byReads = topNeighbourAgreement(refreshedByReads, fresh, paths, 0.005);
      assert.ok(spread >= byReads - 0.02, `same or equally close top neighbour: ${spread} spread, ${byReads} by reads`);
      const withCommunity = paths.filter((path) => graph.communityOf(path) !== undefined);
      assert.ok(withCommunity.length >= 0.75 * paths.length, `${withCommunity.length}/${paths.length} in a community`);
      for (const path of withCommunity.slice(0, 20)) {
        assert.ok(graph.communityMembers(graph.communityOf(path) as number).includes(path));
      }
      const sameFamily = withCommunity.filter((path) => {
        const [nearest] = graph.neighbours(path);
        return nearest !== undefined && graph.communityOf(nearest.path) === graph.communityOf(path);
      });
      assert.ok(sameFamily.length >= 0.9 * withCommunity.length, `${sameFamily.length} share their nearest file's community`);
    });

    it('brings communities along from a bulk build, and a removed file leaves its community', () => {
      const graph = TaskGraph.build(grown, SPREAD);
      assert.equal(graph.workCounters.communityDetections, 1);
      const removed = grown[5].path;
      const community = graph.communityOf(removed);
      assert.notEqual(community, undefined);
      graph.remove(removed);
      assert.equal(graph.communityOf(removed), undefined);
      graph.upsert('reused/slot.ts', grown[6].tokens);
      assert.equal(graph.communityOf('reused/slot.ts'), undefined, 'a new file in a reused slot has no community yet');
      assert.equal(graph.communityCount() > 0, true);
      assert.notEqual(graph.communityOf('reused/slot.ts'), undefined, 'communityCount detects afresh');
    });

    it('rejects a non-integer slice', () => {
      assert.throws(() => new TaskGraph({ reweightFilesPerChange: 0.5 }), /reweightFilesPerChange must be a positive integer/);
    });
  });

  describe('neighboursOfTokens', () => {
    it('finds the family of a held-out file from its first 30 % of tokens', () => {
      const graph = TaskGraph.build(synthetic, LSH_ONLY);
      for (const file of synthetic.filter((_, i) => i % 20 === 0)) {
        const prefix = file.tokens.slice(0, Math.floor(file.tokens.length * 0.3));
        const found = graph.neighboursOfTokens(prefix, 8, file.path);
        assert.equal(found.length, 8);
        assert.ok(found.every((n) => n.path !== file.path));
        assert.equal(familyOf(found[0].path), familyOf(file.path));
        const sameFamily = found.filter((n) => familyOf(n.path) === familyOf(file.path)).length;
        assert.ok(sameFamily >= 7, `${file.path}: ${sameFamily}/8 from its family`);
      }
    });

    it('finds a stored file itself first unless excluded, and leaves the graph unchanged', () => {
      const graph = TaskGraph.build(synthetic, LSH_ONLY);
      const [self] = graph.neighboursOfTokens(synthetic[5].tokens, 3);
      assert.equal(self.path, synthetic[5].path);
      assert.ok(Math.abs(self.weight - 1) < 1e-9);
      assert.deepEqual(graph.neighboursOfTokens(['neverSeenBefore', 'norThis', '(', ')']), []);
      assert.equal(graph.size, synthetic.length);
    });
  });

  describe('snapshot', () => {
    it('lists every file once with size, community and directory, and every edge once', () => {
      const rootFile = { path: 'README.ts', tokens: synthetic[0].tokens.slice(0, 50), family: 0 };
      const files = [...synthetic.slice(0, 60), rootFile];
      const graph = TaskGraph.build(files, LSH_ONLY);
      const snapshot = graph.snapshot();
      assert.equal(snapshot.version, 1);
      assert.equal(snapshot.nodes.length, files.length);
      const nodeById = new Map(snapshot.nodes.map((node) => [node.id, node]));
      for (const file of files) {
        const node = nodeById.get(file.path);
        assert.ok(node, file.path);
        assert.equal(node.size, file.tokens.length);
        assert.equal(node.community, graph.communityOf(file.path));
        assert.equal(node.directory, file.path === 'README.ts' ? '.' : familyOf(file.path));
      }
      const pairs = new Set<string>();
      for (const edge of snapshot.edges) {
        assert.ok(edge.source < edge.target);
        assert.ok(nodeById.has(edge.source) && nodeById.has(edge.target));
        assert.ok(edge.weight > 0 && edge.weight <= 1 + 1e-9);
        const pair = `${edge.source}\n${edge.target}`;
        assert.ok(!pairs.has(pair), `duplicate edge ${pair}`);
        pairs.add(pair);
      }
      assert.equal(snapshot.edges.length, graph.edgeCount());
      assert.deepEqual(JSON.parse(JSON.stringify(snapshot)), snapshot);
    });

    it('has a symmetric edge for every neighbour relation, weighted by their cosine', () => {
      const graph = TaskGraph.build(synthetic, LSH_ONLY);
      const weightOf = new Map(graph.snapshot().edges.map((edge) => [`${edge.source}\n${edge.target}`, edge.weight]));
      for (const { path } of synthetic) {
        for (const neighbour of graph.neighbours(path)) {
          const key = path < neighbour.path ? `${path}\n${neighbour.path}` : `${neighbour.path}\n${path}`;
          assert.equal(weightOf.get(key), neighbour.weight);
        }
      }
    });
  });

  it('answers empty for unknown paths and rejects a bad k', () => {
    const graph = TaskGraph.build(synthetic.slice(0, 10));
    assert.deepEqual(graph.neighbours('nope.ts'), []);
    assert.equal(graph.communityOf('nope.ts'), undefined);
    assert.deepEqual(graph.communityMembers(999), []);
    graph.remove('nope.ts');
    assert.equal(graph.size, 10);
    assert.throws(() => new TaskGraph({ k: 0 }), /k must be a positive integer/);
  });

  it('names directories the POSIX way', () => {
    assert.equal(directoryOf('src/core/graph/taskGraph.ts'), 'src/core/graph');
    assert.equal(directoryOf('package.json'), '.');
    assert.equal(directoryOf('/abs.ts'), '/');
  });
});

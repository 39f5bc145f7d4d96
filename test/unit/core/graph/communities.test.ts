import * as assert from 'node:assert/strict';
import { detectCommunities } from '../../../../src/core/graph/communities';
import { TaskGraph } from '../../../../src/core/graph/taskGraph';
import { familyOf, syntheticFamilies } from './fixtures';

describe('graph communities', () => {
  const clusters = syntheticFamilies({ families: 2, filesPerFamily: 30, seed: 3 });

  it('puts two clearly separated clusters into different communities', () => {
    const graph = TaskGraph.build(clusters);
    for (const { path } of clusters) {
      const members = graph.communityMembers(graph.communityOf(path) as number);
      assert.ok(members.includes(path));
      assert.ok(members.every((member) => familyOf(member) === familyOf(path)), `community of ${path} mixes clusters`);
    }
    assert.notEqual(graph.communityOf(clusters[0].path), graph.communityOf(clusters[59].path));
  });

  it('gives the same communities for the same seed', () => {
    const files = syntheticFamilies({ families: 6, filesPerFamily: 25, seed: 11 });
    const communitiesOf = (graph: TaskGraph): (number | undefined)[] =>
      files.map((file) => graph.communityOf(file.path));
    const first = communitiesOf(TaskGraph.build(files, { seed: 42 }));
    const second = communitiesOf(TaskGraph.build(files, { seed: 42 }));
    assert.deepEqual(first, second);
  });

  it('recomputes lazily, once per change, and follows a file that moved cluster', () => {
    const graph = TaskGraph.build(clusters);
    const moved = clusters[0];
    const sameCommunity = (a: string, b: string): boolean => graph.communityOf(a) === graph.communityOf(b);
    assert.equal(sameCommunity(moved.path, clusters[59].path), false);
    graph.communityOf(clusters[1].path);
    assert.equal(graph.workCounters.communityDetections, 1);

    graph.upsert(moved.path, clusters[58].tokens);
    assert.equal(graph.workCounters.communityDetections, 1, 'nothing is computed before it is asked for');
    // Ids are renumbered by size at each detection, so compare memberships, not ids.
    assert.equal(sameCommunity(moved.path, clusters[59].path), true);
    assert.equal(graph.workCounters.communityDetections, 2);
  });

  it('numbers communities by size and leaves isolated nodes on their own', () => {
    const edges = [
      { source: 0, target: 1, weight: 1 },
      { source: 1, target: 2, weight: 1 },
      { source: 0, target: 2, weight: 1 },
      { source: 4, target: 5, weight: 1 },
    ];
    const communities = detectCommunities(7, edges, { seed: 1, resolution: 1 });
    assert.deepEqual([...communities], [0, 0, 0, 2, 1, 1, 3]);
  });
});

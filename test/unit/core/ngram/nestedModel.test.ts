import { strict as assert } from 'node:assert';
import { TaskGraph } from '../../../../src/core/graph/taskGraph';
import { LearnedMixing } from '../../../../src/core/ngram/learnedMixing';
import { DirectoryLocality, TaskGraphLocality } from '../../../../src/core/ngram/locality';
import type { LocalityProvider } from '../../../../src/core/ngram/locality';
import { NestedModel } from '../../../../src/core/ngram/nestedModel';
import type { NestedModelOptions } from '../../../../src/core/ngram/nestedModel';
import { NgramModel } from '../../../../src/core/ngram/ngramModel';
import { Vocabulary } from '../../../../src/core/text/vocabulary';
import { seededRandom, totalProbability } from './helpers';

interface Project {
  files: Map<string, string[]>;
}

/**
 * Twenty files elsewhere say `foo . common`; only lib/neighbour.ts says
 * `foo . special`, and it shares its rare names with lib/current.ts.
 */
function smallProject(): Project {
  const files = new Map<string, string[]>();
  const random = seededRandom(5);
  for (let i = 0; i < 20; i++) {
    const words = Array.from({ length: 30 }, () => `w${Math.floor(random() * 40)}`);
    files.set(`other/file${i}.ts`, [...words, 'foo', '.', 'common', '(', ')', ';']);
  }
  const shared = ['alphaWidget', 'betaGadget', 'gammaSprocket', 'deltaFlange', 'epsilonCog'];
  const neighbour: string[] = [];
  for (let i = 0; i < 8; i++) neighbour.push('let', shared[i % 5], '=', shared[(i + 1) % 5], ';');
  neighbour.push('foo', '.', 'special', '(', ')', ';');
  files.set('lib/neighbour.ts', neighbour);
  const current: string[] = [];
  for (let i = 0; i < 8; i++) current.push('const', shared[(i + 2) % 5], '=', shared[(i + 3) % 5], ';');
  current.push('foo', '.', 'special', '(', ')', ';', 'uniqueToCurrent', ';');
  files.set('lib/current.ts', current);
  return { files };
}

function nestedOver(project: Project, locality: LocalityProvider | undefined, options: NestedModelOptions = {}) {
  const vocabulary = new Vocabulary();
  const nested = new NestedModel(vocabulary, locality, { smoothing: 'mkn', ...options });
  const plain = new NgramModel(vocabulary, { smoothing: 'mkn' });
  for (const [path, tokens] of project.files) {
    if (path === 'lib/current.ts') continue;
    const ids = vocabulary.internAll(tokens);
    nested.learn(path, ids);
    plain.learn(path, ids);
  }
  return { vocabulary, nested, plain };
}

/** Feeds the current file to the nested model up to (not including) `end`; returns the context ids. */
function typeInto(nested: NestedModel, tokens: readonly string[], end: number): number[] {
  return tokens.slice(0, end).map((token) => nested.observe(token));
}

describe('NestedModel', () => {
  it('makes a token seen only in a neighbouring file likely, where the project model alone does not', () => {
    const project = smallProject();
    const current = project.files.get('lib/current.ts') as string[];
    for (const locality of [new DirectoryLocality(), graphLocality(project)]) {
      const { vocabulary, nested, plain } = nestedOver(project, locality);
      nested.openFile('lib/current.ts');
      const at = current.indexOf('special');
      const context = typeInto(nested, current, at);
      const special = vocabulary.idOf('special');
      const nestedProbability = nested.probability(context, special);
      const plainProbability = plain.probability(context, special);
      assert.ok(nestedProbability > 3 * plainProbability, `${nestedProbability} vs ${plainProbability}`);
      assert.equal(nested.predict(context, 'sp', 1)[0].token, 'special');
      assert.ok(nested.levelKeys.every((key) => !key.includes('lib/current.ts')));
    }
  });

  it('switches graph locality from directories to prefix neighbours at 32 tokens, never the file itself', () => {
    const project = smallProject();
    const current = project.files.get('lib/current.ts') as string[];
    const { nested } = nestedOver(project, graphLocality(project));
    nested.openFile('lib/current.ts');
    typeInto(nested, current, 31);
    assert.deepEqual(nested.levelKeys, ['dir:lib']);
    typeInto(nested, current.slice(31), 1);
    assert.ok(nested.levelKeys[0].startsWith('neighbours:'), nested.levelKeys.join(', '));
    assert.ok(nested.levelKeys[0].includes('lib/neighbour.ts'));
    assert.ok(!nested.levelKeys.join('\n').includes('lib/current.ts'));
  });

  it('sums to 1 over the vocabulary plus escape for directory and graph nesting, with either mixing', () => {
    const project = smallProject();
    const current = project.files.get('lib/current.ts') as string[];
    const learned = new LearnedMixing({
      order: 6,
      kinds: {
        cache: [-2, -1, 0, 1, 1, 2, 0.3, -0.2, -1, 0, 0.5, 0, 0, 0, 0, 0],
        locality: [0, 0, 0, 0, 1, 1, 0.1, 0, 0],
      },
    });
    for (const locality of [new DirectoryLocality(), graphLocality(project)]) {
      for (const mixing of [undefined, learned]) {
        const { nested } = nestedOver(project, locality, { mixing });
        nested.openFile('lib/current.ts');
        const context: number[] = [];
        for (let i = 0; i < current.length; i++) {
          if (i % 7 === 0 || i === 33) {
            const total = totalProbability(nested.distribution(context));
            assert.ok(Math.abs(total - 1) < 1e-6, `sum ${total} at ${i}`);
          }
          context.push(nested.observe(current[i]));
        }
      }
    }
  });

  it('resets its cache at each file', () => {
    const project = smallProject();
    const { vocabulary, nested } = nestedOver(project, new DirectoryLocality());
    nested.openFile('lib/current.ts');
    const current = project.files.get('lib/current.ts') as string[];
    const context = typeInto(nested, current, current.length - 1);
    assert.ok(nested.cache.length > 0);
    nested.openFile('lib/other.ts');
    assert.equal(nested.cache.length, 0);
    const distribution = nested.distribution(context);
    assert.equal(distribution.probability(vocabulary.idOf('uniqueToCurrent')), distribution.escapeProbability);
  });

  it('keeps locality levels in step with learn and forget', () => {
    const project = smallProject();
    const { vocabulary, nested } = nestedOver(project, new DirectoryLocality());
    const context = vocabulary.internAll(['foo', '.']);
    const special = vocabulary.idOf('special');
    nested.openFile('lib/current.ts');
    const withNeighbour = nested.probability(context, special);
    nested.forget('lib/neighbour.ts');
    nested.openFile('lib/current.ts');
    const withoutNeighbour = nested.probability(context, special);
    assert.ok(withoutNeighbour < withNeighbour / 10, `${withoutNeighbour} vs ${withNeighbour}`);
    nested.learn('lib/neighbour.ts', vocabulary.internAll(project.files.get('lib/neighbour.ts') as string[]));
    nested.openFile('lib/current.ts');
    assert.equal(nested.probability(context, special), withNeighbour);
  });

  it('leaves the current file out of every level once the project forgets it', () => {
    const project = smallProject();
    const { vocabulary, nested } = nestedOver(project, new DirectoryLocality());
    const current = project.files.get('lib/current.ts') as string[];
    nested.learn('lib/current.ts', vocabulary.internAll(current));
    nested.forget('lib/current.ts');
    nested.openFile('lib/current.ts');
    const at = current.indexOf('uniqueToCurrent');
    const context = typeInto(nested, current, at);
    const distribution = nested.distribution(context);
    assert.equal(distribution.probability(vocabulary.idOf('uniqueToCurrent')), distribution.escapeProbability);
  });
});

describe('DirectoryLocality', () => {
  it('nests the file’s directory inside its parents, without the root or directories that add nothing', () => {
    const known = new Set(['src/x/a.ts', 'src/x/b.ts', 'src/y/c.ts', 'top.ts', 'deep/only/d.ts', 'deep/only/e.ts']);
    const locality = new DirectoryLocality();
    const levels = locality.levelsFor({ path: 'src/x/a.ts', prefix: [], knownFiles: known, knownFilesVersion: 1 });
    assert.deepEqual(
      levels.map((level) => [level.key, level.kind, level.files]),
      [
        ['dir:src/x', 'directory', ['src/x/a.ts', 'src/x/b.ts']],
        ['dir:src', 'parent-directory', ['src/x/a.ts', 'src/x/b.ts', 'src/y/c.ts']],
      ],
    );
    const deep = locality.levelsFor({ path: 'deep/only/d.ts', prefix: [], knownFiles: known, knownFilesVersion: 1 });
    assert.deepEqual(
      deep.map((level) => level.key),
      ['dir:deep/only'],
    );
    assert.deepEqual(locality.levelsFor({ path: 'top.ts', prefix: [], knownFiles: known, knownFilesVersion: 1 }), []);
  });
});

function graphLocality(project: Project): TaskGraphLocality {
  const graph = TaskGraph.build([...project.files].map(([path, tokens]) => ({ path, tokens })));
  // The current file must not be in the graph either: its neighbours come from its prefix only.
  graph.remove('lib/current.ts');
  return new TaskGraphLocality(graph, { neighbours: 3 });
}

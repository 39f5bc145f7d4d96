/** A set of files whose counts form one level of the nested model. */
export interface LocalityLevel {
  /** Stable name of the set (e.g. `dir:src/internal`): level models are cached under it. */
  key: string;
  /** What the level is (e.g. `directory`, `neighbours`): mixing may weigh kinds differently. */
  kind: string;
  files: readonly string[];
}

/** What a provider may look at: the file's path and only the tokens before the cursor. */
export interface LocalityQuery {
  path: string;
  /** The current file's tokens seen so far, never the rest of it. */
  prefix: readonly string[];
  /** Files the project model has learned; levels only ever use these. */
  knownFiles: ReadonlySet<string>;
  /** Changes whenever `knownFiles` does, so providers can keep indexes. */
  knownFilesVersion: number;
}

/**
 * Chooses the levels between the file cache and the project model, most local
 * first. The nested model asks again as the prefix grows (see
 * `LOCALITY_REFRESH_LENGTHS`), so a provider may refine its answer.
 */
export interface LocalityProvider {
  levelsFor(query: LocalityQuery): LocalityLevel[];
}

/** Prefix lengths at which the nested model asks its provider again: 32, 64, 128, … */
export function isLocalityRefreshLength(prefixLength: number): boolean {
  return prefixLength >= 32 && (prefixLength & (prefixLength - 1)) === 0;
}

function parentDirectory(path: string): string | undefined {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? undefined : path.slice(0, slash);
}

const DIRECTORY_KINDS = ['directory', 'parent-directory', 'ancestor-directory'];

/**
 * SLP-Core's nesting: the file's directory, then each parent directory, each
 * holding every known file below it. The root is the project level itself and
 * is left out, as is a directory holding nothing more than the level inside it.
 */
export class DirectoryLocality implements LocalityProvider {
  private indexedFiles: ReadonlySet<string> | undefined;
  private indexedVersion = -1;
  private filesByDirectory = new Map<string, string[]>();

  levelsFor(query: LocalityQuery): LocalityLevel[] {
    this.index(query.knownFiles, query.knownFilesVersion);
    const levels: LocalityLevel[] = [];
    let previousCount = -1;
    for (let directory = parentDirectory(query.path); directory !== undefined; directory = parentDirectory(directory)) {
      const files = this.filesByDirectory.get(directory) ?? [];
      const others = files.length - (files.includes(query.path) ? 1 : 0);
      if (others === 0 || files.length === previousCount) continue;
      previousCount = files.length;
      levels.push({ key: `dir:${directory}`, kind: DIRECTORY_KINDS[Math.min(levels.length, 2)], files });
    }
    return levels;
  }

  /** Rebuilt when the known files change; cheap next to counting them. */
  private index(knownFiles: ReadonlySet<string>, version: number): void {
    if (knownFiles === this.indexedFiles && version === this.indexedVersion) return;
    this.filesByDirectory = new Map();
    for (const file of knownFiles) {
      for (let directory = parentDirectory(file); directory !== undefined; directory = parentDirectory(directory)) {
        let files = this.filesByDirectory.get(directory);
        if (files === undefined) this.filesByDirectory.set(directory, (files = []));
        files.push(file);
      }
    }
    for (const files of this.filesByDirectory.values()) files.sort();
    this.indexedFiles = knownFiles;
    this.indexedVersion = version;
  }
}

/** The part of the task graph (src/core/graph/taskGraph.ts) that locality needs. */
export interface TaskGraphView {
  neighboursOfTokens(
    tokens: readonly string[],
    k?: number,
    excludePath?: string,
  ): ReadonlyArray<{ readonly path: string; readonly weight: number }>;
  communityOf(path: string): number | undefined;
  communityMembers(id: number): readonly string[];
}

export interface GraphLocalityOptions {
  /** How many nearest files form the innermost level. */
  neighbours?: number;
  /** Keep the file's own directory as a level after the neighbours. */
  keepDirectory?: boolean;
}

/**
 * Task-graph nesting: the file's nearest neighbours, then its community, then
 * the project. No leaks: neighbours come from `neighboursOfTokens(prefix)`
 * with the file itself excluded, recomputed as the prefix reaches 32, 64, 128,
 * … tokens; the community is the weighted vote of those neighbours' communities
 * (the file's own community would be computed from its whole text). Before 32
 * tokens the levels are the directory ones.
 */
export class TaskGraphLocality implements LocalityProvider {
  private readonly directories = new DirectoryLocality();
  private readonly neighbourCount: number;
  private readonly keepDirectory: boolean;

  constructor(
    private readonly graph: TaskGraphView,
    options: GraphLocalityOptions = {},
  ) {
    this.neighbourCount = options.neighbours ?? 8;
    this.keepDirectory = options.keepDirectory ?? false;
  }

  levelsFor(query: LocalityQuery): LocalityLevel[] {
    const directoryLevels = this.directories.levelsFor(query);
    if (query.prefix.length < 32) return directoryLevels;
    const neighbours = this.graph
      .neighboursOfTokens(query.prefix, this.neighbourCount + 1, query.path)
      .filter((neighbour) => neighbour.path !== query.path && query.knownFiles.has(neighbour.path))
      .slice(0, this.neighbourCount);
    if (neighbours.length === 0) return directoryLevels;
    const levels: LocalityLevel[] = [];
    const neighbourFiles = neighbours.map((neighbour) => neighbour.path).sort();
    levels.push({ key: `neighbours:${neighbourFiles.join('\n')}`, kind: 'neighbours', files: neighbourFiles });
    if (this.keepDirectory && directoryLevels.length > 0) levels.push(directoryLevels[0]);
    const community = this.votedCommunity(neighbours);
    if (community !== undefined) {
      const members = this.graph.communityMembers(community);
      if (members.length > neighbourFiles.length) {
        levels.push({ key: `community:${community}`, kind: 'community', files: members });
      }
    }
    return levels;
  }

  private votedCommunity(neighbours: readonly { path: string; weight: number }[]): number | undefined {
    const votes = new Map<number, number>();
    for (const { path, weight } of neighbours) {
      const community = this.graph.communityOf(path);
      if (community !== undefined) votes.set(community, (votes.get(community) ?? 0) + weight);
    }
    let best: number | undefined;
    let bestVotes = -Infinity;
    for (const [community, total] of votes) {
      if (total > bestVotes) {
        best = community;
        bestVotes = total;
      }
    }
    return best;
  }
}

import { runBenchCommand } from './benchCommand';
import { runBenchChildCommand } from './benchChild';
import { runEvalCommand } from './evalCommand';
import { runFewShotCommand } from './fewshotCommand';
import { runTrainCommand } from './trainCommand';
import { runTokensCommand } from './tokensCommand';
import { UsageError } from './usage';

const usage = `Usage: metacomplete <command> [options]

Commands:
  tokens <dir> --out <dir2> [--ext .ts,...]
                                Lex <dir> with the evaluation protocol and write
                                <dir2>/{train,test}/<relpath>.tok (TAB-separated).
  eval <dir> [--model M] [--checkpoint F] [--setting S] [--order N] [--smoothing jm|mkn] [--ext .ts,...] [--json]
       [--slp-batch-mrr]
                                Score a count-based model on <dir>'s TEST files.
                                M: ngram | cache | nested | graph-nested (default graph-nested)
                                   | mixture (needs --checkpoint F from train; project setting)
                                S: static | cache | project (default project)
                                --slp-batch-mrr: also rank as SLP-Core's batch mode does, its
                                cache having read the test file ahead (leaky; only to compare
                                with SLP-Core's published MRR).
  fewshot <dir> [--json] [--ext .ts,...] [--learners a,b] [--ks 0,1,5,20] [--quick] [--backend B]
          [--vocab K] [--epochs N] [--outer-steps N] [--inner-steps N] [--hidden H] [--seed S]
          [--support prefix|neighbours]
                                Meta-train every learner on <dir>'s TRAIN files and print
                                query entropy / MRR on its TEST files for k = 0, 1, 5, 20.
                                --support: each task's support set from the file's first
                                part (default) or from its task-graph neighbours.
  train <dir> --out <file> [--learner L] [--all] [same options as fewshot]
                                Meta-train one learner (default meta-sgd) on <dir>'s TRAIN
                                files (every file with --all), fit the gate on held-out
                                files and write a checkpoint.
                                L: transfer | reptile | fomaml | meta-sgd | meta-network
  bench [--json-only] [--quick] Benchmark the engine on rxjs 7.8.1 (devDependency).
  help                          Show this text.
`;

/** Runs the CLI with `argv` (without node and script) and resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'tokens':
        return await runTokensCommand(rest);
      case 'eval':
        return await runEvalCommand(rest);
      case 'fewshot':
        return await runFewShotCommand(rest);
      case 'train':
        return await runTrainCommand(rest);
      case 'bench':
        return await runBenchCommand(rest);
      case 'bench-child':
        return await runBenchChildCommand(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(usage);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`metacomplete: ${error.message}\n\n${usage}`);
      return 2;
    }
    throw error;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`metacomplete: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}

import { CompletionEngine } from '../../../../src/core/engine/completionEngine';

const encode = (text: string) => new TextEncoder().encode(text);

/** An engine that knows three small files: with stamps, unicode, and one in Python. */
export function engineWithFiles(): CompletionEngine {
  const engine = new CompletionEngine();
  engine.updateFile('src/a.ts', encode('export const glimmerKey = "ünï";\nglimmerKey.trim();\n'), '52:1');
  engine.updateFile('src/b.ts', encode('import { glimmerKey } from "./a";\nconsole.log(glimmerKey);\n'), '61:2');
  engine.updateFile('src/c.py', encode('def frobnicate(x):\n    return x\n'));
  return engine;
}

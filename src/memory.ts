import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const YOUNG_GENERATION_OPTION = /--(?:max|min)[-_]semi[-_]space[-_]size|--semi[-_]space[-_]growth[-_]factor/;

/**
 * Keeps V8's young generation at its initial size (1 MiB semi-spaces) unless the operator sized it
 * in `NODE_OPTIONS` or on the command line; returns whether it did.
 *
 * V8 sizes the young generation from the machine's memory (16 MiB semi-spaces with 24 GiB), and
 * module loading alone grows it there: ~20 MiB resident that this server's short-lived garbage does
 * not need, a sixth of the uploads' memory budget (bench/RESULTS.md). The growth factor is the one
 * young-generation setting V8 still reads after the heap exists, so this must run before the bulk
 * of the modules load.
 */
export function keepYoungGenerationSmall(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions = process.env.NODE_OPTIONS ?? '',
): boolean {
  if (YOUNG_GENERATION_OPTION.test([...execArgv, nodeOptions].join(' '))) return false;
  setFlagsFromString('--semi-space-growth-factor=1');
  return true;
}

/**
 * One compacting full collection, once start-up is done: loading modules and compiling schemas
 * leave several MiB of garbage and half-empty pages that V8 would otherwise keep resident.
 * `gc` is taken from a fresh context, the way Jest's leak detector does, so the process's own
 * global scope never gets it.
 */
export function compactHeap(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  setFlagsFromString('--compact-on-every-full-gc');
  try {
    gc();
  } finally {
    setFlagsFromString('--no-compact-on-every-full-gc');
  }
}

#!/usr/bin/env node
/**
 * emu's entry point. `emu --version` answers from package.json alone, so that it starts fast; every
 * other command loads the command line (commands.ts) first.
 */
import { readFileSync } from 'node:fs';
import { supervise, SUPERVISED } from './supervise.js';

// `emu inspect trace | head`: a closed pipe ends the output quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  process.stdout.write(`emu ${pkg.version}\n`);
} else if (SUPERVISED.has(argv[0])) {
  process.exitCode = await supervise(argv);
} else {
  const cli = await import('./commands.js');
  process.exitCode = await cli.main(argv).catch(cli.reportError);
}

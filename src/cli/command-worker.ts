/**
 * The thread a supervised command runs in (see supervise.ts). It sees the terminal as the main thread
 * does, so progress lines and help wrapping are unchanged, and it answers with the exit code.
 */
import { parentPort, workerData } from 'node:worker_threads';

const { argv, stderrIsTTY, columns } = workerData as { argv: string[]; stderrIsTTY: boolean; columns: number | undefined };
// A worker's stdio is piped through the main thread: it is no terminal of its own.
Object.defineProperty(process.stderr, 'isTTY', { value: stderrIsTTY });
Object.defineProperty(process.stdout, 'columns', { value: columns });

const cli = await import('./commands.js');
const code = await cli.main(argv).catch(cli.reportError);
parentPort!.postMessage({ code });

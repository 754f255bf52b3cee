/**
 * kd's entry point: run the command, then exit with the code it set. Every failure is printed
 * as one line `kd: …` on stderr and exits with the code its kind maps to (errors.ts).
 */
import { tuneMemoryForStreaming } from '@kk/allocator';
import { CommanderError } from 'commander';
import { ExitCode, toCliError } from './errors.js';
import { buildProgram } from './program.js';

// A reader that went away (`kd exec m -- yes | head -1`) ends kd as it would end any program in a
// pipeline: quietly, with 128 + SIGPIPE. Exiting closes the connection, and Klient ends whatever
// that connection started.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(ExitCode.BrokenPipe);
    throw error;
  });
}

async function main(): Promise<void> {
  // `kd cp` streams files: freed buffers are reused, and GC costs the same however long the file.
  tuneMemoryForStreaming();
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are not failures; bad usage already printed its own message.
      process.exitCode = error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
      return;
    }
    const e = toCliError(error);
    process.stderr.write(`kd: ${e.message}\n`);
    process.exitCode = e.exitCode;
  }
}

await main();
// Open handles (a TTY stdin, a socket in its closing handshake) must not keep kd alive.
process.exit(process.exitCode ?? 0);

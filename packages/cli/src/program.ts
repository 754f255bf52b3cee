/** Every kd command, registered in one place: the whole surface reads on one screen. */
import { Command } from 'commander';
import { registerCp } from './commands/cp.js';
import { registerExec } from './commands/exec.js';
import { registerLs } from './commands/ls.js';
import { registerTerm } from './commands/term.js';

export function buildProgram(): Command {
  const program = new Command('kd')
    .description('Use Kloud machines from the command line: exec, term, cp, ls, machines, stacks.')
    .enablePositionalOptions()
    .showHelpAfterError('(kd --help lists every command)')
    .configureOutput({ outputError: (text, write) => write(text) });
  registerExec(program);
  registerTerm(program);
  registerCp(program);
  registerLs(program);
  return program;
}

/** Every kd command, registered in one place: the whole surface reads on one screen. */
import { Command } from 'commander';
import { registerCp } from './commands/cp.js';
import { registerCredential } from './commands/credential.js';
import { registerExec } from './commands/exec.js';
import { registerLogin } from './commands/login.js';
import { registerLs } from './commands/ls.js';
import { registerMachine } from './commands/machine.js';
import { registerShare } from './commands/share.js';
import { registerStack } from './commands/stack.js';
import { registerTemplate } from './commands/template.js';
import { registerTerm } from './commands/term.js';

export function buildProgram(): Command {
  const program = new Command('kd')
    .description('Use Kloud machines from the command line: exec, term, cp, ls, machines, stacks.')
    .enablePositionalOptions()
    // Set before the commands are added, so they inherit it: usage errors reach main.ts (exit 2).
    .exitOverride()
    .showHelpAfterError('(kd --help lists every command)')
    .configureOutput({ outputError: (text, write) => write(text) });
  registerLogin(program);
  registerMachine(program);
  registerStack(program);
  registerTemplate(program);
  registerCredential(program);
  registerShare(program);
  registerExec(program);
  registerTerm(program);
  registerCp(program);
  registerLs(program);
  return program;
}

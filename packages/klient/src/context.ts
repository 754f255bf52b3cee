import type { KlientConfig } from './config.js';
import type { ProcessTable } from './exec/process-table.js';
import type { TempFileJournal } from './fs/pending-writes.js';
import type { Logger } from './log.js';
import type { TerminalManager } from './terminal/manager.js';

/** What every capability's handlers share within one Klient: its settings, log, processes, terminals and the journal of its writes' temp files. */
export interface KlientContext {
  config: KlientConfig;
  log: Logger;
  processes: ProcessTable;
  terminals: TerminalManager;
  pendingWrites: TempFileJournal;
}

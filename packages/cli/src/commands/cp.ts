import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { RpcClient } from '@kk/protocol/client/client.js';
import type { Command } from 'commander';
import { CliError, cliErrors, ExitCode, toCliError } from '../errors.js';
import { connectMachine } from '../machine/connect.js';
import { resolveTarget } from '../machine/target.js';
import { formatBytes } from '../output/format.js';
import { Progress } from '../output/progress.js';
import { download } from '../transfer/download.js';
import { parseRemote, type RemotePath } from '../transfer/remote-path.js';
import { downloadTree, localTreeSize, type TreeResult, uploadTree } from '../transfer/tree.js';
import { upload } from '../transfer/upload.js';

interface CpOptions {
  token?: string;
  progress: boolean;
  recursive?: boolean;
}

export function registerCp(program: Command): void {
  program
    .command('cp')
    .description(
      'Copy a file (or with -r a directory tree) to or from a machine (MACHINE:PATH on one side, a local path or - for ' +
        'stdin/stdout on the other), streamed and checked by sha256; each file appears whole or not at all.',
    )
    .argument('<source>', 'local path, -, or MACHINE:PATH')
    .argument('<destination>', 'local path, -, or MACHINE:PATH')
    .option('--token <token>', 'access token, for a direct Klient URL')
    .option('-r, --recursive', 'copy a directory tree (symlinks and special files are reported, not copied)')
    .option('--no-progress', 'no progress bar (it is shown only on a terminal anyway)')
    .action(async (source: string, destination: string, opts: CpOptions) => {
      const from = parseRemote(source);
      const to = parseRemote(destination);
      if (from && to)
        throw cliErrors.usage('copy between two machines is not supported: copy through a local file');
      if (!from && !to) throw cliErrors.usage('one side must be MACHINE:PATH; for local copies use cp');
      const remote = (from ?? to)!;
      const client = await connectMachine(await resolveTarget(remote.machine, { token: opts.token }));
      const progress = new Progress();
      const controller = new AbortController();
      const onInt = () => controller.abort();
      process.once('SIGINT', onInt);
      try {
        if (to) await cpUp(client, source, to, opts, progress, controller.signal);
        else await cpDown(client, from!, destination, opts, progress, controller.signal);
      } catch (error) {
        progress.done();
        if (controller.signal.aborted)
          throw new CliError(
            ExitCode.Interrupted,
            opts.recursive
              ? 'interrupted; the files copied so far are whole, the one in progress was not written'
              : 'interrupted; nothing was changed',
          );
        throw toCliError(error);
      } finally {
        process.off('SIGINT', onInt);
        client.close();
      }
    });
}

function reporter(progress: Progress, name: string, show: boolean) {
  if (!show || !progress.interactive) return undefined;
  const started = Date.now();
  return (done: number, total: number | undefined) => {
    const rate = done / Math.max(0.001, (Date.now() - started) / 1000);
    const of = total === undefined ? '' : ` / ${formatBytes(total)}`;
    progress.update(total ? done / total : null, `${name} ${formatBytes(done)}${of} ${formatBytes(rate)}/s`);
  };
}

async function cpUp(
  client: RpcClient,
  source: string,
  to: RemotePath,
  opts: CpOptions,
  progress: Progress,
  signal: AbortSignal,
): Promise<void> {
  const fromStdin = source === '-';
  const info = fromStdin ? undefined : await stat(source);
  const name = fromStdin ? 'stdin' : basename(source);
  if (info?.isDirectory()) {
    if (!opts.recursive) throw cliErrors.usage(`${source} is a directory: use kd cp -r`);
    const remote = await remoteTarget(client, to.path, name, true);
    const total = await localTreeSize(source);
    const tree = await uploadTree(client, source, remote.path, {
      onProgress: withTotal(reporter(progress, name, opts.progress), total),
      signal,
    });
    return finishTree(progress, opts, remote.path, tree);
  }
  const remote = await remoteTarget(client, to.path, fromStdin ? undefined : name);
  const result = await upload(
    client,
    {
      file: fromStdin ? undefined : source,
      stdin: fromStdin ? process.stdin : undefined,
      size: info?.size,
      mode: remote.exists ? undefined : info ? info.mode & 0o777 : undefined,
    },
    remote.path,
    { onProgress: reporter(progress, name, opts.progress), signal },
  );
  if (opts.progress && progress.interactive) progress.done(`${result.path} ${formatBytes(result.size)}`);
}

async function cpDown(
  client: RpcClient,
  from: RemotePath,
  destination: string,
  opts: CpOptions,
  progress: Progress,
  signal: AbortSignal,
): Promise<void> {
  if (!from.path) throw cliErrors.usage('name the remote file: MACHINE:PATH');
  const toStdout = destination === '-';
  let file = toStdout ? undefined : destination;
  const local = file ? await stat(file).catch(() => undefined) : undefined;
  if (file && (local?.isDirectory() || file.endsWith('/'))) file = join(file, basename(from.path));
  const info = await client.call('fs.getInfo', { path: from.path });
  if (info.type === 'directory' || info.targetType === 'directory') {
    if (!opts.recursive) throw cliErrors.usage(`${from.path} is a directory: use kd cp -r`);
    if (!file) throw cliErrors.usage('a directory cannot go to stdout: name a local directory');
    const total = (await client.call('fs.getPathSize', { path: info.path })).bytes;
    const tree = await downloadTree(client, info.path, file, {
      onProgress: withTotal(reporter(progress, basename(info.path), opts.progress), total),
      signal,
    });
    return finishTree(progress, opts, file, tree);
  }
  const result = await download(
    client,
    from.path,
    { file, stdout: toStdout ? process.stdout : undefined },
    { onProgress: reporter(progress, basename(from.path), opts.progress && !toStdout), signal },
  );
  if (opts.progress && progress.interactive && !toStdout)
    progress.done(`${file} ${formatBytes(result.size)}`);
}

function withTotal(report: ReturnType<typeof reporter>, total: number) {
  return report && ((done: number) => report(done, total));
}

function finishTree(progress: Progress, opts: CpOptions, where: string, tree: TreeResult): void {
  if (opts.progress && progress.interactive)
    progress.done(`${where} ${tree.files} file(s), ${formatBytes(tree.bytes)}`);
  for (const path of tree.skipped) process.stderr.write(`kd: skipped ${path}: not a file or directory\n`);
}

/**
 * The remote path to write: into the directory when the destination is one (or ends with /);
 * for a tree, a destination that does not exist yet becomes the copy.
 */
async function remoteTarget(
  client: RpcClient,
  path: string,
  name: string | undefined,
  tree = false,
): Promise<{ path: string; exists: boolean }> {
  const wantsDir = path === '' || (path.endsWith('/') && !tree);
  const info = await client.call('fs.getInfo', { path: path || '.' }).catch((error) => {
    if (toCliError(error).exitCode === ExitCode.NotFound) return undefined;
    throw error;
  });
  const isDir = info && (info.type === 'directory' || info.targetType === 'directory');
  if (isDir || wantsDir) {
    if (!name) throw cliErrors.usage(`${path || '~'} is a directory: name the file to write from stdin`);
    if (!isDir) throw cliErrors.notFound(`no directory ${path} on the machine`);
    const joined = path ? `${path.replace(/\/+$/, '')}/${name}` : name;
    const exists = await client.call('fs.getInfo', { path: joined }).then(
      () => true,
      () => false,
    );
    return { path: joined, exists };
  }
  return { path, exists: Boolean(info) };
}

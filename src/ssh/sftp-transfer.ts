/**
 * Files between host and guest over SFTP (sshd's sftp subsystem, on a channel of the machine's SSH
 * connection): whole trees both ways with their permission bits, and single files read or written
 * from memory. Inside a copied directory a symbolic link is copied as a link with the same target;
 * a link given as the source itself is followed. Sockets, FIFOs and devices are refused.
 */
import { chmod, lstat, mkdir, readdir, readlink, rm, stat, symlink } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import type ssh2 from 'ssh2';
import { InvalidOptionsError, VmspawnError } from '../errors.js';

/** A guest or host path could not be read or written; `path` names it. */
export class GuestFileError extends VmspawnError {
  override name = 'GuestFileError';
  constructor(
    message: string,
    readonly path: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Where the files are, for error messages: e.g. `machine "web"`. */
export interface TransferContext {
  sftp: ssh2.SFTPWrapper;
  machine: string;
}

/** Options of `vm.writeFile()`. */
export interface WriteFileOptions {
  /**
   * Permission bits of the file, e.g. `0o755`, applied also when the file exists.
   * @default 0o644 for a new file (0o666 less sshd's umask); an existing file keeps its mode
   */
  mode?: number;
}

/** Entries handled at once within one directory; each is several SFTP round trips. */
const PARALLEL_ENTRIES = 8;
/** Files whose bytes move at once in one copy; each keeps up to 2 MiB of requests in flight (ssh2's fastPut/fastGet). */
const PARALLEL_FILE_TRANSFERS = 4;
/** SFTP status codes (draft-ietf-secsh-filexfer-02). */
const NO_SUCH_FILE = 2;
const PERMISSION_DENIED = 3;

type EntryKind = 'file' | 'directory' | 'symlink' | 'other';

/** Copies the host file, directory tree or link target at `hostPath` to `guestPath`, which names the copy (its parent must exist). */
export async function copyToGuest(context: TransferContext, hostPath: string, guestPath: string): Promise<void> {
  const source = await hostEntry(hostPath, true);
  await upload({ ...context, slots: limiter(PARALLEL_FILE_TRANSFERS) }, hostPath, guestPath, source);
}

/** Copies the guest file, directory tree or link target at `guestPath` to `hostPath`, which names the copy (its parent must exist). */
export async function copyFromGuest(context: TransferContext, guestPath: string, hostPath: string): Promise<void> {
  const source = await guestEntry(context, guestPath, 'stat', 'copyFrom');
  try {
    await stat(dirname(hostPath));
  } catch (error) {
    throw new GuestFileError(`copyFrom: the host directory ${dirname(hostPath)} does not exist; create it first`, hostPath, { cause: error });
  }
  await download({ ...context, slots: limiter(PARALLEL_FILE_TRANSFERS) }, guestPath, hostPath, source);
}

/** The guest file's bytes, or its text in `encoding`. */
export async function readGuestFile(context: TransferContext, guestPath: string, encoding?: BufferEncoding): Promise<Buffer | string> {
  const entry = await guestEntry(context, guestPath, 'stat', 'readFile');
  if (entry.kind !== 'file') throw new GuestFileError(`readFile: ${guestPath} in ${context.machine} is a ${entry.kind}, not a file`, guestPath);
  const data = await sftpCall<Buffer>((done) => context.sftp.readFile(guestPath, done)).catch((error: unknown) => {
    throw guestError(error, guestPath, context, 'readFile', 'read');
  });
  return encoding === undefined ? data : data.toString(encoding);
}

/** Throws an {@link InvalidOptionsError} when `mode` is not permission bits. */
export function checkWriteFileOptions(options: WriteFileOptions): void {
  const { mode } = options;
  if (mode !== undefined && (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 0o7777)) {
    throw new InvalidOptionsError([{ option: 'mode', message: `expected permission bits from 0 to 0o7777 (e.g. 0o644), got ${String(mode)}` }], 'writeFile options');
  }
}

/** Creates or replaces the guest file with `data` (text is written as UTF-8). */
export async function writeGuestFile(context: TransferContext, guestPath: string, data: string | Uint8Array, options: WriteFileOptions = {}): Promise<void> {
  checkWriteFileOptions(options);
  const { mode } = options;
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  try {
    await sftpCall((done) => context.sftp.writeFile(guestPath, bytes, { mode: mode ?? 0o666 }, done));
    if (mode !== undefined) await sftpCall((done) => context.sftp.chmod(guestPath, mode, done));
  } catch (error) {
    throw guestError(error, guestPath, context, 'writeFile', 'write');
  }
}

/** A copy in progress: the file transfers of one copy share its slots, however deep the tree. */
interface TreeCopy extends TransferContext {
  slots: <T>(work: () => Promise<T>) => Promise<T>;
}

async function upload(context: TreeCopy, hostPath: string, guestPath: string, source: { kind: EntryKind; mode: number }): Promise<void> {
  const { sftp } = context;
  try {
    if (source.kind === 'symlink') {
      const target = await readlink(hostPath);
      await sftpCall((done) => sftp.unlink(guestPath, done)).catch(() => undefined);
      await sftpCall((done) => sftp.symlink(target, guestPath, done));
    } else if (source.kind === 'directory') {
      await guestDirectory(context, guestPath);
      const names = await readdir(hostPath);
      await inParallel(names, async (name) => {
        const child = join(hostPath, name);
        await upload(context, child, posix.join(guestPath, name), await hostEntry(child, false));
      });
      // Last, so that a read-only directory could still be filled.
      await sftpCall((done) => sftp.chmod(guestPath, source.mode, done));
    } else {
      await context.slots(() => sftpCall((done) => sftp.fastPut(hostPath, guestPath, { mode: source.mode }, done)));
      // The guest's sshd creates files through its umask, and an existing file keeps its mode.
      await sftpCall((done) => sftp.chmod(guestPath, source.mode, done));
    }
  } catch (error) {
    if (error instanceof GuestFileError) throw error;
    if (isHostError(error)) throw new GuestFileError(`copyTo: cannot read ${hostPath} on the host: ${error.message}`, hostPath, { cause: error });
    throw guestError(error, guestPath, context, 'copyTo', 'write');
  }
}

async function download(context: TreeCopy, guestPath: string, hostPath: string, source: { kind: EntryKind; mode: number }): Promise<void> {
  const { sftp } = context;
  try {
    if (source.kind === 'symlink') {
      const target = await sftpCall<string>((done) => sftp.readlink(guestPath, done));
      await rm(hostPath, { force: true });
      await symlink(target, hostPath);
    } else if (source.kind === 'directory') {
      await hostDirectory(hostPath);
      const entries = await sftpCall<ssh2.FileEntryWithStats[]>((done) => sftp.readdir(guestPath, done));
      await inParallel(
        entries.filter((entry) => entry.filename !== '.' && entry.filename !== '..'),
        async (entry) => {
          const child = posix.join(guestPath, entry.filename);
          const kind = kindOf(entry.attrs);
          if (kind === 'other') throw new GuestFileError(`copyFrom: ${child} in ${context.machine} is ${describeOther(entry.attrs)}; only files, directories and symbolic links are copied`, child);
          await download(context, child, join(hostPath, entry.filename), { kind, mode: entry.attrs.mode & 0o7777 });
        },
      );
      await chmod(hostPath, source.mode);
    } else {
      await context.slots(() => sftpCall((done) => sftp.fastGet(guestPath, hostPath, { mode: source.mode }, done)));
      await chmod(hostPath, source.mode);
    }
  } catch (error) {
    if (error instanceof GuestFileError) throw error;
    if (isHostError(error)) throw new GuestFileError(`copyFrom: cannot write ${hostPath} on the host: ${error.message}`, hostPath, { cause: error });
    throw guestError(error, guestPath, context, 'copyFrom', 'read');
  }
}

/** Makes `guestPath` a directory (private until its mode is set), or accepts the one that is there. */
async function guestDirectory(context: TransferContext, guestPath: string): Promise<void> {
  try {
    await sftpCall((done) => context.sftp.mkdir(guestPath, { mode: 0o700 }, done));
  } catch (error) {
    const existing = await sftpCall<ssh2.Stats>((done) => context.sftp.stat(guestPath, done)).catch(() => undefined);
    if (existing?.isDirectory()) return;
    if (existing) throw new GuestFileError(`copyTo: ${guestPath} in ${context.machine} exists and is not a directory; remove it or copy to another path`, guestPath);
    throw guestError(error, guestPath, context, 'copyTo', 'write');
  }
}

async function hostDirectory(hostPath: string): Promise<void> {
  try {
    await mkdir(hostPath, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !(await stat(hostPath)).isDirectory()) {
      throw new GuestFileError(`copyFrom: cannot make the host directory ${hostPath}: ${(error as Error).message}`, hostPath, { cause: error });
    }
  }
}

/** What the host path is: the source itself is followed when it is a link (`follow`), entries below it are not. */
async function hostEntry(hostPath: string, follow: boolean): Promise<{ kind: EntryKind; mode: number }> {
  let stats;
  try {
    stats = follow ? await stat(hostPath) : await lstat(hostPath);
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new GuestFileError(`copyTo: ${missing ? `${hostPath} does not exist on the host` : `cannot read ${hostPath} on the host: ${(error as Error).message}`}`, hostPath, { cause: error });
  }
  const kind: EntryKind = stats.isSymbolicLink() ? 'symlink' : stats.isDirectory() ? 'directory' : stats.isFile() ? 'file' : 'other';
  if (kind === 'other') throw new GuestFileError(`copyTo: ${hostPath} is not a file, directory or symbolic link; only those are copied`, hostPath);
  return { kind, mode: stats.mode & 0o7777 };
}

async function guestEntry(context: TransferContext, guestPath: string, how: 'stat' | 'lstat', operation: string): Promise<{ kind: EntryKind; mode: number }> {
  const stats = await sftpCall<ssh2.Stats>((done) => context.sftp[how](guestPath, done)).catch((error: unknown) => {
    throw guestError(error, guestPath, context, operation, 'read');
  });
  const kind = kindOf(stats);
  if (kind === 'other') throw new GuestFileError(`${operation}: ${guestPath} in ${context.machine} is ${describeOther(stats)}; only files, directories and symbolic links are copied`, guestPath);
  return { kind, mode: stats.mode & 0o7777 };
}

function kindOf(stats: ssh2.Stats): EntryKind {
  if (stats.isSymbolicLink()) return 'symlink';
  if (stats.isDirectory()) return 'directory';
  return stats.isFile() ? 'file' : 'other';
}

function describeOther(stats: ssh2.Stats): string {
  if (stats.isSocket()) return 'a socket';
  if (stats.isFIFO()) return 'a FIFO';
  return stats.isBlockDevice() || stats.isCharacterDevice() ? 'a device' : 'a special file';
}

/** An SFTP failure on `guestPath` as a {@link GuestFileError} that names the path and the machine. */
function guestError(error: unknown, guestPath: string, context: TransferContext, operation: string, access: 'read' | 'write'): GuestFileError {
  const code = isSftpError(error) ? error.code : undefined;
  const where = `in ${context.machine}`;
  let message: string;
  if (code === NO_SUCH_FILE) {
    message = access === 'read' ? `${guestPath} does not exist ${where}` : `${guestPath} cannot be created ${where}: its directory ${posix.dirname(guestPath)} does not exist; create it first`;
  } else if (code === PERMISSION_DENIED) {
    message = `permission denied on ${guestPath} ${where}`;
  } else {
    message = `cannot ${access} ${guestPath} ${where}: ${(error as Error).message}`;
  }
  return new GuestFileError(`${operation}: ${message}`, guestPath, { cause: error });
}

/** A failed system call on the host (Node's fs errors), as opposed to an SFTP or SSH failure. */
function isHostError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === 'string';
}

function isSftpError(error: unknown): error is Error & { code: number } {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'number';
}

/** Calls an ssh2 SFTP method that takes a Node-style callback. */
function sftpCall<T = void>(call: (done: (error: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => call((error, value) => (error ? reject(error) : resolve(value as T))));
}

/** Runs `work` on every item, at most {@link PARALLEL_ENTRIES} at once; rejects with the first failure once all have settled. */
async function inParallel<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const failures: unknown[] = [];
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item).catch((error: unknown) => void failures.push(error));
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_ENTRIES, items.length) }, worker));
  if (failures.length > 0) throw failures[0];
}

/** Runs the work given to it at most `slots` at a time, the rest in the order it came. */
function limiter(slots: number): <T>(work: () => Promise<T>) => Promise<T> {
  let running = 0;
  const queue: (() => void)[] = [];
  return async (work) => {
    if (running >= slots) await new Promise<void>((resolve) => queue.push(resolve));
    else running++;
    try {
      return await work();
    } finally {
      const next = queue.shift();
      if (next) next();
      else running--;
    }
  };
}

/**
 * Copies the cores systemd-coredump kept in a running guest into the artifacts directory
 * (`coredumps/`), over the machine's SSH connection: each file as the guest stored it (usually
 * zstd-compressed; `coredumpctl debug --file` or `zstd -d` reads it).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { GuestCoredump } from '../journal/coredumps.js';
import type { StartedMachine } from './started-machine.js';

/** Cores larger than this stay in the guest (a copy goes through base64 on an SSH channel). */
export const MAX_SAVED_CORE_BYTES = 64 * 1024 * 1024;
const COPY_TIMEOUT_MS = 60_000;

export interface SavedCoredump extends GuestCoredump {
  /** The copy in the artifacts directory, or undefined when none was made. */
  savedAs: string | undefined;
  /** Why there is no copy. */
  notSaved: string | undefined;
}

/** The directory in the artifacts that receives the cores. */
export const COREDUMPS_DIR = 'coredumps';

export async function saveCoredumps(vm: Pick<StartedMachine, 'exec' | 'state'>, dumps: readonly GuestCoredump[], artifactsDir: string): Promise<SavedCoredump[]> {
  const saved: SavedCoredump[] = [];
  for (const dump of dumps) saved.push(await saveOne(vm, dump, artifactsDir));
  return saved;
}

async function saveOne(vm: Pick<StartedMachine, 'exec' | 'state'>, dump: GuestCoredump, artifactsDir: string): Promise<SavedCoredump> {
  if (!dump.guestFile) return { ...dump, savedAs: undefined, notSaved: 'systemd-coredump kept no file (Storage=none, or the core was too large)' };
  if (vm.state !== 'running') return { ...dump, savedAs: undefined, notSaved: `the machine was ${vm.state}` };
  try {
    const size = Number((await vm.exec(['stat', '-c', '%s', dump.guestFile], { timeout: COPY_TIMEOUT_MS })).stdout);
    if (size > MAX_SAVED_CORE_BYTES) return { ...dump, savedAs: undefined, notSaved: `${size} bytes, more than the ${MAX_SAVED_CORE_BYTES} copied` };
    const { stdout } = await vm.exec(['base64', '-w0', dump.guestFile], { timeout: COPY_TIMEOUT_MS });
    const dir = join(artifactsDir, COREDUMPS_DIR);
    await mkdir(dir, { recursive: true });
    const target = join(dir, basename(dump.guestFile));
    await writeFile(target, Buffer.from(stdout, 'base64'));
    return { ...dump, savedAs: target, notSaved: undefined };
  } catch (error) {
    return { ...dump, savedAs: undefined, notSaved: `copying it failed: ${(error as Error).message.split('\n')[0]}` };
  }
}

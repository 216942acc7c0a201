/** The command line's view of the registry: the runtime directories under the per-user root, with their records. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ARTIFACTS_RECORD } from '../machine/abandoned-machines.js';
import { isSameProcessAlive, OWNER_FILE, runtimeRoot } from '../host/runtime-dir.js';
import { parseMachineRecord, type RegistryEntry } from './machine-record.js';
import { NAME_FILE, RECORD_FILE } from './registry.js';

/** Every machine under `root`, oldest first. */
export async function readRegistry(root: string = runtimeRoot()): Promise<RegistryEntry[]> {
  const names = await readdir(root).catch(() => [] as string[]);
  const entries: RegistryEntry[] = [];
  for (const id of names) {
    const runtimeDir = join(root, id);
    const owner = await readFile(join(runtimeDir, OWNER_FILE), 'utf8').catch(() => undefined);
    if (owner === undefined) continue;
    const [pidText, startTime] = owner.trim().split(' ');
    const ownerPid = pidText ? Number(pidText) : undefined;
    const alive = ownerPid !== undefined && isSameProcessAlive(ownerPid, startTime);
    const record = parseMachineRecord(await readFile(join(runtimeDir, RECORD_FILE), 'utf8').catch(() => ''));
    const artifactsDir = record?.artifactsDir ?? ((await readFile(join(runtimeDir, ARTIFACTS_RECORD), 'utf8').catch(() => '')).trim() || undefined);
    const name = record?.name ?? ((await readFile(join(runtimeDir, NAME_FILE), 'utf8').catch(() => '')).trim() || undefined);
    entries.push({ id, name, runtimeDir, state: !alive ? 'orphaned' : record ? 'running' : 'starting', ownerPid, artifactsDir, record });
  }
  return entries.sort((a, b) => (a.record?.since ?? '').localeCompare(b.record?.since ?? ''));
}

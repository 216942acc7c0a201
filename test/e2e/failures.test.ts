/**
 * Bad options fail clearly, before anything is spawned. Boots and runs that go wrong are in
 * faults.test.ts.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { InvalidOptionsError } from '../../src/errors.js';
import { OWNER_FILE, runtimeRoot } from '../../src/host/runtime-dir.js';
import { Machine } from '../../src/machine/machine.js';
import { liveManagedProcesses } from '../../src/process/managed-process.js';
import { useWorkDir } from './helpers.js';

const workDir = useWorkDir('vmspawn-e2e-failures-');

/**
 * The runtime directories of this process's machines. Other files' machines, in other workers, come
 * and go meanwhile (CI saw one end between two readings of all of them).
 */
function ownRuntimeDirs(): string[] {
  if (!existsSync(runtimeRoot())) return [];
  const ownedHere = (dir: string) => {
    try {
      return readFileSync(join(runtimeRoot(), dir, OWNER_FILE), 'utf8').startsWith(`${process.pid} `);
    } catch {
      return false;
    }
  };
  return readdirSync(runtimeRoot()).filter(ownedHere);
}

test('bad options fail before anything is spawned, naming each option', async () => {
  const before = ownRuntimeDirs();
  const start = new Machine({ linux: join(workDir(), 'no-such-vmlinuz'), initrd: [join(workDir(), 'no-such-initrd')] }).start();
  await expect(start).rejects.toBeInstanceOf(InvalidOptionsError);
  await expect(start).rejects.toThrow(/linux: file not found: .*no-such-vmlinuz\n\s+- initrd: file not found/);
  expect(() => new Machine({ linux: '/x', cpus: -1, ram: '2X' })).toThrow(/cpus: expected at least 1 virtual CPU\n.*ram: expected a number of bytes/);
  expect(liveManagedProcesses()).toEqual([]);
  expect(ownRuntimeDirs()).toEqual(before);
});

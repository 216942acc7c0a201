/**
 * A software TPM per machine: the guest gets /dev/tpmrm0, and a tpmState directory keeps the TPM
 * across machines, so what one boot seals to it the next boot can open. swtpm ends with its machine.
 */
import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { Machine } from '../../src/machine/machine.js';
import type { StartedMachine } from '../../src/machine/started-machine.js';
import { image, isRunning, useWorkDir } from './helpers.js';

const workDir = useWorkDir('vmspawn-e2e-tpm-');

/** Starts a machine with a TPM kept in `tpmState`, runs `use` on it, stops it and checks that its swtpm is gone. */
async function withTpmMachine<T>(tpmState: string, artifactsDir: string, use: (vm: StartedMachine) => Promise<T>): Promise<T> {
  const { initramfs } = await image();
  const vm = await new Machine({ ...initramfs, tpm: true, tpmState, artifactsDir }).start();
  const swtpm = vm.summary.processes.swtpm;
  try {
    expect(isRunning(swtpm)).toBe(true);
    return await use(vm);
  } finally {
    await vm.stop();
    expect(isRunning(swtpm)).toBe(false);
  }
}

test('a TPM-sealed credential made by one machine is opened by the next with the same tpmState', async () => {
  const tpmState = join(workDir(), 'kept', 'tpm'); // created by the first machine
  const secret = `the secret ${randomUUID()}`;

  const sealed = await withTpmMachine(tpmState, join(workDir(), 'first'), async (vm) => {
    expect((await vm.exec('test -c /dev/tpmrm0', { reject: false })).exitCode).toBe(0);
    // --with-key=tpm2 seals to the TPM alone: opening it needs the same TPM (its seeds), not just the same guest.
    const { stdout } = await vm.exec('systemd-creds encrypt --with-key=tpm2 --name=app.secret - /run/sealed.cred && base64 -w0 /run/sealed.cred', {
      input: secret,
    });
    return stdout;
  });
  expect(await readdir(tpmState)).toContain('tpm2-00.permall');
  expect(await readFile(join(workDir(), 'first', 'swtpm.log'), 'utf8')).toContain('Successfully authored TPM state');

  const opened = await withTpmMachine(tpmState, join(workDir(), 'second'), async (vm) => {
    const { stdout } = await vm.exec('base64 -d > /run/sealed.cred && systemd-creds decrypt --name=app.secret /run/sealed.cred -', { input: sealed });
    return stdout;
  });
  expect(opened).toBe(secret);
  // The second machine used the state as it was: swtpm_setup left it alone.
  expect(await readFile(join(workDir(), 'second', 'swtpm.log'), 'utf8')).toContain('Not overwriting existing state file');
});

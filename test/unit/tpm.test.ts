import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { InvalidOptionsError } from '../../src/errors.js';
import { checkTpm, type FindExecutable } from '../../src/options/check-tpm.js';
import { preflight } from '../../src/options/preflight.js';
import { resolveMachineOptions } from '../../src/options/resolve-options.js';
import { machineLayout } from '../../src/plan/machine-layout.js';
import { planMachine } from '../../src/plan/plan-machine.js';

const layout = machineLayout('/run/vm-1', '/art/test-1');
const tpmBinaries = { swtpm: '/usr/bin/swtpm', swtpmSetup: '/usr/bin/swtpm_setup' };

function plan(options: Record<string, unknown>, tpm: typeof tpmBinaries | undefined) {
  return planMachine({
    options: resolveMachineOptions({ linux: '/img/vmlinuz', ...options }),
    accelerator: 'tcg',
    layout,
    ports: { notify: 40000, journal: 40001 },
    ssh: undefined,
    imageFormat: undefined,
    kernelKind: 'kernel',
    firmware: undefined,
    vsock: 'user-space',
    binaries: { vhostDeviceVsock: '/usr/bin/vhost-device-vsock', tpm },
  });
}

function optionProblems(options: object): string[] {
  try {
    resolveMachineOptions({ linux: '/img/vmlinuz', ...options });
  } catch (error) {
    if (error instanceof InvalidOptionsError) return error.problems.map((problem) => `${problem.option}: ${problem.message}`);
    throw error;
  }
  return [];
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vitest-vmspawn-tpm-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tpm options', () => {
  test("default 'auto', and a transient state for 'auto' and 'off'", () => {
    expect(resolveMachineOptions({ linux: '/k' })).toMatchObject({ tpm: 'auto', tpmStateDir: undefined });
    expect(resolveMachineOptions({ linux: '/k', tpmState: 'off' }).tpmStateDir).toBeUndefined();
    expect(resolveMachineOptions({ linux: '/k', tpmState: 'auto' }).tpmStateDir).toBeUndefined();
  });

  test('a state directory is made absolute', () => {
    expect(resolveMachineOptions({ linux: '/k', tpmState: '/srv/tpm' }).tpmStateDir).toBe('/srv/tpm');
    expect(resolveMachineOptions({ linux: '/k', tpmState: 'state/tpm' }).tpmStateDir).toBe(resolve('state/tpm'));
  });

  test('wrong values name the option and what is accepted', () => {
    expect(optionProblems({ tpm: 'yes' })).toEqual(["tpm: expected true, false or 'auto'"]);
    expect(optionProblems({ tpmState: '' })).toEqual([
      "tpmState: expected 'auto', 'off' or the path of a directory for the TPM state, got an empty string",
    ]);
    expect(optionProblems({ tpmState: 42 })).toEqual(["tpmState: expected 'auto', 'off' or the path of a directory for the TPM state"]);
  });

  test('tpmState without a TPM is an error', () => {
    for (const tpmState of ['/srv/tpm', 'off', 'auto']) {
      expect(optionProblems({ tpm: false, tpmState })).toEqual([
        "tpmState: is where the TPM keeps its state, but tpm is false: drop tpmState, or set tpm to true or 'auto'",
      ]);
    }
    expect(optionProblems({ tpm: true, tpmState: '/srv/tpm' })).toEqual([]);
  });
});

describe('tpm against the host', () => {
  const installed: FindExecutable = async (name) => `/usr/bin/${name}`;
  const only = (...names: string[]): FindExecutable => async (name) => (names.includes(name) ? `/usr/bin/${name}` : undefined);

  test("'auto' attaches a TPM when swtpm and swtpm_setup are installed, and none otherwise", async () => {
    expect(await checkTpm({ tpm: 'auto', tpmStateDir: undefined }, installed)).toEqual({
      tpm: { binaries: tpmBinaries, reason: "TPM: swtpm, transient state (tpm: 'auto', swtpm is installed)" },
    });
    expect(await checkTpm({ tpm: 'auto', tpmStateDir: undefined }, only('swtpm'))).toEqual({
      tpm: { binaries: undefined, reason: "TPM: none (tpm: 'auto'; not installed: swtpm_setup (package swtpm-tools))" },
    });
  });

  test('tpm: false looks for nothing', async () => {
    const find = vi.fn(installed);
    expect(await checkTpm({ tpm: false, tpmStateDir: undefined }, find)).toEqual({ tpm: { binaries: undefined, reason: 'TPM: none (tpm: false)' } });
    expect(find).not.toHaveBeenCalled();
  });

  test('tpm: true without swtpm names the option and the packages', async () => {
    expect(await checkTpm({ tpm: true, tpmStateDir: undefined }, only())).toEqual({
      problems: [
        {
          option: 'tpm',
          message:
            'true needs a software TPM, but swtpm (package swtpm) and swtpm_setup (package swtpm-tools) not found on PATH; install them: ' +
            "apt-get install swtpm swtpm-tools (Debian, Ubuntu) or dnf install swtpm swtpm-tools (Fedora); or set tpm: 'auto' or false",
        },
      ],
    });
  });

  test("a state directory with tpm 'auto' but no swtpm is an error, not a machine without TPM", async () => {
    const result = await checkTpm({ tpm: 'auto', tpmStateDir: join(dir, 'state') }, only('swtpm_setup'));
    expect(result).toEqual({ problems: [{ option: 'tpmState', message: expect.stringMatching(/^is a directory for the TPM state, but there is no TPM to keep it: swtpm \(package swtpm\) not found/) }] });
  });

  test('the state directory: missing is fine (created at start), a file or a comma is not', async () => {
    await writeFile(join(dir, 'a-file'), '');
    expect(await checkTpm({ tpm: true, tpmStateDir: join(dir, 'not-yet') }, installed)).toHaveProperty('tpm');
    expect(await checkTpm({ tpm: true, tpmStateDir: dir }, installed)).toHaveProperty('tpm');
    expect(await checkTpm({ tpm: true, tpmStateDir: join(dir, 'a-file') }, installed)).toEqual({
      problems: [{ option: 'tpmState', message: `expected a directory for the TPM state, but ${join(dir, 'a-file')} is not one` }],
    });
    expect(await checkTpm({ tpm: true, tpmStateDir: join(dir, 'a-file', 'below') }, installed)).toEqual({
      problems: [{ option: 'tpmState', message: expect.stringContaining('ENOTDIR') }],
    });
    expect(await checkTpm({ tpm: true, tpmStateDir: join(dir, 'a,b') }, installed)).toEqual({
      problems: [{ option: 'tpmState', message: `swtpm cannot use a state directory whose path contains a comma: ${join(dir, 'a,b')}` }],
    });
  });

  test('preflight reports tpm: true on a PATH without swtpm, with the other problems, before anything runs', async () => {
    const emptyPath = join(dir, 'empty-path');
    const kernel = join(dir, 'vmlinuz');
    await writeFile(kernel, 'kernel');
    vi.stubEnv('PATH', emptyPath);
    try {
      const error = await preflight(resolveMachineOptions({ linux: kernel, qemuBinary: '/bin/true', tpm: true })).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(InvalidOptionsError);
      expect((error as InvalidOptionsError).problems.map((problem) => problem.option)).toEqual(['qemuBinary', 'tpm']);
      expect((error as InvalidOptionsError).message).toMatch(/tpm: true needs a software TPM, but swtpm \(package swtpm\) and swtpm_setup \(package swtpm-tools\) not found/);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('tpm plan', () => {
  const valuesOf = (args: string[], flag: string) => args.flatMap((arg, index) => (arg === flag ? [args[index + 1] ?? ''] : []));

  test('no TPM binaries: no TPM device, helper or directory', () => {
    const machine = plan({}, undefined);
    expect(machine.tpm).toBeUndefined();
    expect(machine.directories).toEqual([]);
    expect(machine.helpers.map((helper) => helper.name)).toEqual(['vhost-device-vsock']);
    expect(machine.qemu.args.join(' ')).not.toMatch(/tpm/);
  });

  test('a transient TPM: state in the runtime directory, swtpm started after the vsock daemon, a tpm-tis device', () => {
    const machine = plan({}, tpmBinaries);
    expect(machine.tpm).toMatchObject({ stateDir: '/run/vm-1/tpm-state', transient: true });
    expect(machine.directories).toEqual(['/run/vm-1/tpm-state']);
    expect(machine.helpers.map((helper) => helper.name)).toEqual(['vhost-device-vsock', 'swtpm']);
    expect(machine.helpers[1]).toEqual({
      name: 'swtpm',
      binary: '/usr/bin/swtpm',
      args: ['socket', '--tpm2', '--tpmstate', 'dir=/run/vm-1/tpm-state', '--ctrl', 'type=unixio,path=/run/vm-1/swtpm.sock'],
      logFile: '/art/test-1/swtpm.log',
      readyPath: '/run/vm-1/swtpm.sock',
      setup: {
        binary: '/usr/bin/swtpm_setup',
        args: ['--tpm-state', '/run/vm-1/tpm-state', '--tpm2', '--pcr-banks', 'sha256', '--not-overwrite'],
      },
    });
    expect(valuesOf(machine.qemu.args, '-chardev')).toContain('socket,id=tpm,path=/run/vm-1/swtpm.sock');
    expect(valuesOf(machine.qemu.args, '-tpmdev')).toEqual(['emulator,id=tpm0,chardev=tpm']);
    expect(valuesOf(machine.qemu.args, '-device')).toContain('tpm-tis,tpmdev=tpm0');
  });

  test('a kept TPM: the user directory, never overwritten once initialised', () => {
    const machine = plan({ tpmState: '/srv/tpm,state' }, tpmBinaries);
    expect(machine.tpm).toMatchObject({ stateDir: '/srv/tpm,state', transient: false });
    expect(machine.directories).toEqual(['/srv/tpm,state']);
    expect(machine.tpm?.daemon.setup?.args).toContain('--not-overwrite');
  });

  test('the user QEMU arguments still come last', () => {
    const args = plan({ qemuArgs: ['-S'] }, tpmBinaries).qemu.args;
    expect(args.at(-1)).toBe('-S');
  });
});

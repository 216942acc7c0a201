/** The registry of machines and the machine subcommands, without QEMU: records, planning, flags and the files. */
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { CliCommand } from '../../src/cli/command.js';
import { command as exec } from '../../src/cli/commands/exec.js';
import { command as firmware } from '../../src/cli/commands/firmware.js';
import { command as image } from '../../src/cli/commands/image.js';
import { command as journal } from '../../src/cli/commands/journal.js';
import { command as list } from '../../src/cli/commands/list.js';
import { command as shell } from '../../src/cli/commands/shell.js';
import { command as terminate } from '../../src/cli/commands/terminate.js';
import { formatEntry, parsePriority, planJournalView, selectEntries } from '../../src/cli/journal-view.js';
import { JournalFileReader } from '../../src/cli/journal-file.js';
import { planSshArgs } from '../../src/cli/ssh-client.js';
import { createRuntimeDir, removeRuntimeDir, runtimeRoot } from '../../src/host/runtime-dir.js';
import { toJournalEntry } from '../../src/journal/journal-entry.js';
import { recordArtifactsDir } from '../../src/machine/abandoned-machines.js';
import type { StartedMachine } from '../../src/machine/started-machine.js';
import { findEntry, formatAge, formatMachineTable, parseMachineRecord, type MachineRecord, type RegistryEntry } from '../../src/registry/machine-record.js';
import { busctlRegisterArgs, busctlUnregisterArgs, decideRegistration, uuidBytes, varlinkctlRegisterArgs } from '../../src/registry/machined-plan.js';
import { readRegistry } from '../../src/registry/read-registry.js';
import { recordStartingMachine, recordTestOfMachine, registerMachine } from '../../src/registry/registry.js';
import { terminateMachine } from '../../src/registry/terminate.js';
import { planSshClientFiles } from '../../src/ssh/ssh-client-files.js';
import { runCliCommand, type CliRunResult } from '../support/run-cli-command.js';

const UUID = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';

function record(overrides: Partial<MachineRecord> = {}): MachineRecord {
  return {
    name: 'web',
    uuid: UUID,
    accelerator: 'tcg',
    transport: 'user-space',
    since: '2026-01-01T10:00:00.000Z',
    artifactsDir: '/results/web',
    ownerPid: 4242,
    qemuPid: 4343,
    vsockCid: 3,
    ssh: { configFile: '/run/vm-abc/ssh/ssh_config', host: 'vitest-vmspawn-web' },
    ...overrides,
  };
}

function entry(overrides: Partial<RegistryEntry> = {}): RegistryEntry {
  const base: RegistryEntry = { id: 'vm-abc', name: undefined, runtimeDir: '/run/vm-abc', state: 'running', ownerPid: 4242, artifactsDir: '/results/web', record: record() };
  const merged = { ...base, ...overrides };
  return { ...merged, name: 'name' in overrides ? overrides.name : merged.record?.name };
}

/** Runs a command in-process with captured streams. */
function runCommand(command: CliCommand, argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliRunResult> {
  return runCliCommand(command, argv, { env });
}

describe('ssh client files', () => {
  const access = { clientPrivateKey: 'KEY', hostPublicKey: 'ssh-ed25519 AAAA', vsockSocket: '/run/vm/vsock' };

  test('user-space vsock: a ProxyCommand that runs the CONNECT script with node', () => {
    const files = planSshClientFiles('/d', 'web', access, '/usr/bin/node');
    expect(files.ssh_config).toContain('Host vitest-vmspawn-web\n');
    expect(files.ssh_config).toContain('  ProxyCommand /usr/bin/node /d/vsock-proxy.mjs /run/vm/vsock 22');
    expect(files.ssh_config).toContain('  StrictHostKeyChecking yes');
    expect(files.ssh_config).toContain('  IdentityFile /d/id_ed25519');
    expect(files.known_hosts).toBe('vitest-vmspawn-web ssh-ed25519 AAAA\n');
    expect(files.id_ed25519).toBe('KEY\n');
    expect(files['vsock-proxy.mjs']).toContain("'CONNECT ' + port");
  });

  test('kernel vsock: socat to the CID; no vsock: the TCP address; neither needs the proxy script', () => {
    const kernel = planSshClientFiles('/d', 'web', { ...access, kernelVsockCid: 1234 });
    expect(kernel.ssh_config).toContain('  ProxyCommand socat - VSOCK-CONNECT:1234:22');
    expect(kernel['vsock-proxy.mjs']).toBeUndefined();
    const tcp = planSshClientFiles('/d', 'web', { ...access, tcp: { host: '127.0.0.1', port: 2222 } });
    expect(tcp.ssh_config).toContain('  HostName 127.0.0.1\n  Port 2222');
    expect(tcp.ssh_config).not.toContain('ProxyCommand');
  });

  test('ssh argv: a shell, one command line as it is, several arguments quoted', () => {
    expect(planSshArgs('/c', 'h', [])).toEqual(['-F', '/c', 'h']);
    expect(planSshArgs('/c', 'h', ['echo a && echo b'], false)).toEqual(['-F', '/c', '-T', 'h', '--', 'echo a && echo b']);
    expect(planSshArgs('/c', 'h', ['echo', 'a b', "it's"], true)).toEqual(['-F', '/c', '-t', 'h', '--', `echo 'a b' 'it'\\''s'`]);
  });
});

describe('machine records', () => {
  test('a record is read back; anything else is not a record', () => {
    expect(parseMachineRecord(JSON.stringify(record()))).toEqual(record());
    expect(parseMachineRecord('{"name": "web"')).toBeUndefined();
    expect(parseMachineRecord(JSON.stringify({ ...record(), transport: 'pigeon' }))).toBeUndefined();
    expect(parseMachineRecord('null')).toBeUndefined();
  });

  test('a machine is found by name or id; an unknown or ambiguous name says what runs', () => {
    const a = entry();
    const b = entry({ id: 'vm-def', ownerPid: 5, record: record({ name: 'db' }) });
    expect(findEntry([a, b], 'db')).toBe(b);
    expect(findEntry([a, b], 'vm-abc')).toBe(a);
    expect(() => findEntry([a, b], 'mail')).toThrow('no machine is named "mail"; running: web, db');
    expect(() => findEntry([], 'mail')).toThrow('none is running');
    const twin = entry({ id: 'vm-xyz', ownerPid: 7 });
    expect(() => findEntry([a, twin], 'web')).toThrow('2 machines are named "web": vm-abc (owner pid 4242), vm-xyz (owner pid 7); name one by its id.');
    // While it boots a machine has no record yet, but its name.
    const booting = entry({ id: 'vm-boot', state: 'starting', record: undefined, name: 'mail' });
    expect(findEntry([a, booting], 'mail')).toBe(booting);
  });

  test('the table has a column per field, and a note on orphans', () => {
    const now = new Date('2026-01-01T10:05:00.000Z');
    const table = formatMachineTable([entry({ record: record({ test: 'a.test.ts > boots' }) }), entry({ id: 'vm-zzz', state: 'orphaned', ownerPid: 9, record: undefined })], now);
    const [header, first, second, , note] = table.split('\n');
    expect(header).toMatch(/^NAME +ID +STATE +SINCE +ACCEL +TRANSPORT +PID +TEST +ARTIFACTS$/);
    expect(first).toMatch(/^web +vm-abc +running +5m +tcg +user-space +4242 +a\.test\.ts > boots +\/results\/web$/);
    expect(second).toMatch(/^- +vm-zzz +orphaned +- +- +- +9 +- +\/results\/web$/);
    expect(note).toContain('terminate --orphans');
    expect(formatMachineTable([], now)).toBe('No machines.\n');
    expect(formatAge(new Date('2026-01-01T09:00:00Z'), now)).toBe('65m');
    expect(formatAge(new Date('2025-12-30T10:00:00Z'), now)).toBe('2d');
  });
});

describe('systemd-machined registration', () => {
  test('auto registers as root where machined runs, as vmspawn --register does; the variable decides otherwise', () => {
    const host = { env: {}, uid: 0, machinedRuns: true };
    expect(decideRegistration(host)).toEqual({ register: true, reason: 'root on a host where systemd-machined runs' });
    expect(decideRegistration({ ...host, uid: 1000 })).toMatchObject({ register: false, reason: expect.stringContaining('not root') });
    expect(decideRegistration({ ...host, machinedRuns: false })).toMatchObject({ register: false, reason: expect.stringContaining('does not run here') });
    expect(decideRegistration({ ...host, env: { VMSPAWN_REGISTER: 'no' } })).toMatchObject({ register: false });
    expect(decideRegistration({ ...host, uid: 1000, env: { VMSPAWN_REGISTER: 'yes' } })).toMatchObject({ register: true });
    expect(decideRegistration({ ...host, env: { VMSPAWN_REGISTER: 'maybe' } })).toMatchObject({ register: false, reason: expect.stringContaining('not one of yes, no, auto') });
    // The caller's choice (run --register, StartOptions.register) wins over the variable.
    expect(decideRegistration({ ...host, setting: false, env: { VMSPAWN_REGISTER: 'yes' } })).toEqual({ register: false, reason: 'register: false' });
    expect(decideRegistration({ ...host, uid: 1000, setting: true })).toEqual({ register: true, reason: 'register: true' });
  });

  test('busctl RegisterMachine: name, the UUID as 16 bytes, service, class vm, leader, no root directory', () => {
    expect(uuidBytes(UUID)).toEqual([15, 30, 45, 60, 75, 90, 105, 120, 135, 150, 165, 180, 195, 210, 225, 240]);
    expect(() => uuidBytes('nope')).toThrow('"nope" is not a UUID');
    const args = busctlRegisterArgs({ name: 'web', uuid: UUID, leaderPid: 4343 });
    expect(args).toEqual([
      'call', 'org.freedesktop.machine1', '/org/freedesktop/machine1', 'org.freedesktop.machine1.Manager', 'RegisterMachine', 'sayssus',
      'web', '16', '15', '30', '45', '60', '75', '90', '105', '120', '135', '150', '165', '180', '195', '210', '225', '240',
      'vitest-vmspawn', 'vm', '4343', '',
    ]);
    expect(busctlUnregisterArgs('web')).toEqual(['call', 'org.freedesktop.machine1', '/org/freedesktop/machine1', 'org.freedesktop.machine1.Manager', 'UnregisterMachine', 's', 'web']);
  });

  test('varlinkctl Register carries the vsock CID and SSH address of kernel vsock, or the TCP address', () => {
    const kernel = varlinkctlRegisterArgs({ name: 'web', uuid: UUID, leaderPid: 4343, kernelVsockCid: 77, sshPrivateKeyPath: '/k' });
    expect(kernel.slice(0, 3)).toEqual(['call', '/run/systemd/machine/io.systemd.Machine', 'io.systemd.Machine.Register']);
    expect(JSON.parse(kernel[3]!)).toEqual({
      name: 'web', id: '0f1e2d3c4b5a69788796a5b4c3d2e1f0', service: 'vitest-vmspawn', class: 'vm', leader: 4343, vSockCid: 77, sshAddress: 'vsock/77', sshPrivateKeyPath: '/k',
    });
    const tcp = JSON.parse(varlinkctlRegisterArgs({ name: 'web', uuid: UUID, leaderPid: 1, tcp: { host: '127.0.0.1', port: 2022 } })[3]!);
    expect(tcp.sshAddress).toBe('127.0.0.1:2022');
    expect(tcp.vSockCid).toBeUndefined();
    // User-space vsock: the CID is not reachable by the host's kernel, so neither is named.
    const userSpace = JSON.parse(varlinkctlRegisterArgs({ name: 'web', uuid: UUID, leaderPid: 1, sshPrivateKeyPath: '/k' })[3]!);
    expect(userSpace).not.toHaveProperty('sshAddress');
    expect(userSpace).not.toHaveProperty('sshPrivateKeyPath');
  });
});

describe('journal view', () => {
  const entries = [
    toJournalEntry({ MESSAGE: 'Started ssh', PRIORITY: '6', _SYSTEMD_UNIT: 'ssh.service', SYSLOG_IDENTIFIER: 'sshd', _PID: '10', __REALTIME_TIMESTAMP: '1767261600000000' }),
    toJournalEntry({ MESSAGE: 'disk full', PRIORITY: '3', SYSLOG_IDENTIFIER: 'app', _PID: '11', __REALTIME_TIMESTAMP: '1767261601000000' }),
    toJournalEntry({ MESSAGE: 'hello', PRIORITY: '5', SYSLOG_IDENTIFIER: 'app', _PID: '11', __REALTIME_TIMESTAMP: '1767261602000000' }),
  ];

  test('journalctl filters select as journalctl does', () => {
    expect(selectEntries(entries, planJournalView({ unit: 'ssh' })).map((e) => e.message)).toEqual(['Started ssh']);
    expect(selectEntries(entries, planJournalView({ identifier: 'app' })).map((e) => e.message)).toEqual(['disk full', 'hello']);
    expect(selectEntries(entries, planJournalView({ priority: 'notice' })).map((e) => e.message)).toEqual(['disk full', 'hello']);
    expect(selectEntries(entries, planJournalView({ priority: '3' })).map((e) => e.message)).toEqual(['disk full']);
    expect(selectEntries(entries, planJournalView({ grep: '^hel' })).map((e) => e.message)).toEqual(['hello']);
    expect(selectEntries(entries, planJournalView({ lines: '1' })).map((e) => e.message)).toEqual(['hello']);
    expect(selectEntries(entries, planJournalView({ lines: '0' }))).toEqual([]);
    expect(parsePriority('warn')).toBe('warning');
  });

  test('output modes', () => {
    expect(formatEntry(entries[0]!, 'short')).toBe('10:00:00.000 sshd[10]: Started ssh');
    expect(formatEntry(entries[0]!, 'cat')).toBe('Started ssh');
    expect(JSON.parse(formatEntry(entries[0]!, 'json'))).toMatchObject({ MESSAGE: 'Started ssh', _SYSTEMD_UNIT: 'ssh.service' });
    expect(formatEntry(entries[0]!, 'verbose')).toContain('    SYSLOG_IDENTIFIER=sshd');
  });

  test('bad values name the flag and what it accepts', () => {
    expect(() => planJournalView({ priority: 'loud' })).toThrow('-p/--priority "loud" is not a priority: use 0–7 or emerg, alert, crit, err, warning, notice, info, debug');
    expect(() => planJournalView({ lines: '-3' })).toThrow('-n/--lines "-3" is not a number of entries');
    expect(() => planJournalView({ output: 'xml' })).toThrow('-o/--output "xml" is not one of short, short-precise, cat, json, verbose');
    expect(() => planJournalView({ grep: '(' })).toThrow('-g/--grep "(" is not a regular expression');
  });
});

describe('commands and the registry on disk', () => {
  let base: string;
  const savedRuntimeDir = process.env.XDG_RUNTIME_DIR;
  let env: NodeJS.ProcessEnv;

  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'vmspawn-registry-'));
    process.env.XDG_RUNTIME_DIR = base;
    env = { ...process.env, XDG_RUNTIME_DIR: base };
  });

  afterEach(async () => {
    process.env.XDG_RUNTIME_DIR = savedRuntimeDir;
    await rm(base, { recursive: true, force: true });
  });

  /** A stand-in for a started machine: what registration reads, and a stop() that ends it as the engine does (the runtime directory goes). */
  function fakeMachine(runtimeDir: string): { vm: StartedMachine; stopped: () => boolean } {
    let stopped = false;
    const vm = {
      name: 'web',
      uuid: UUID,
      accelerator: 'tcg',
      artifactsDir: join(base, 'artifacts'),
      sshAccess: { clientPrivateKey: 'PRIVATE', hostPublicKey: 'ssh-ed25519 AAAA', vsockSocket: join(runtimeDir, 'vsock') },
      stop: async () => {
        stopped = true;
        await removeRuntimeDir(runtimeDir);
      },
    } as unknown as StartedMachine;
    return { vm, stopped: () => stopped };
  }

  test('a registered machine is listed with its test; its key is private; terminate asks its owner, who shuts it down', async () => {
    const runtimeDir = await createRuntimeDir();
    const { vm, stopped } = fakeMachine(runtimeDir);
    const lines: string[] = [];
    let endMachine!: () => void;
    const ended = new Promise<void>((resolve) => (endMachine = resolve));
    await registerMachine(vm, { runtimeDir, transport: 'user-space', qemuPid: undefined, vsockCid: 3, ended, log: (line) => lines.push(line), writeRuntimeDir: (write) => write() });
    await recordTestOfMachine(vm, 'a.test.ts > boots');
    expect(statSync(join(runtimeDir, 'ssh')).mode & 0o777).toBe(0o700);
    expect(statSync(join(runtimeDir, 'ssh', 'id_ed25519')).mode & 0o777).toBe(0o600);
    expect(await readFile(join(runtimeDir, 'ssh', 'id_ed25519'), 'utf8')).toBe('PRIVATE\n');

    const listed = await runCommand(list, [], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^web +vm-\S+ +running +\d+s +tcg +user-space +\d+ +a\.test\.ts > boots /m);
    const json = JSON.parse((await runCommand(list, ['--json'], env)).stdout) as Array<Record<string, unknown>>;
    expect(json).toMatchObject([{ name: 'web', state: 'running', ownerPid: process.pid, test: 'a.test.ts > boots', transport: 'user-space' }]);

    const result = await runCommand(terminate, ['web', '--timeout', '5'], env);
    expect(result).toMatchObject({ code: 0, stdout: expect.stringContaining(`terminated web: shut down by its process (pid ${process.pid})`) });
    expect(stopped()).toBe(true);
    expect(lines).toContain('terminate requested by the command line (vitest-vmspawn terminate): shutting the machine down');
    expect((await runCommand(list, [], env)).stdout).toBe('No machines.\n');
    endMachine();
  });

  test('a machine that is ending gets nothing written: its runtime directory is not made again', async () => {
    const runtimeDir = await createRuntimeDir();
    const { vm } = fakeMachine(runtimeDir);
    await removeRuntimeDir(runtimeDir);
    const lines: string[] = [];
    const ending = { ended: Promise.resolve(), log: (line: string) => lines.push(line), writeRuntimeDir: async () => undefined };
    await registerMachine(vm, { runtimeDir, transport: 'user-space', qemuPid: undefined, vsockCid: 3, ...ending });
    await recordTestOfMachine(vm, 'a.test.ts > late');
    expect(existsSync(runtimeDir)).toBe(false);
    expect(lines).toEqual([]);
  });

  test('a machine that still boots is listed by the name it was started with', async () => {
    const runtimeDir = await createRuntimeDir();
    await recordStartingMachine(runtimeDir, 'early');
    expect(await readRegistry()).toMatchObject([{ name: 'early', state: 'starting', record: undefined }]);
    await removeRuntimeDir(runtimeDir);
  });

  test('an owner that never reacts: terminate gives up with what to do', async () => {
    const runtimeDir = await createRuntimeDir();
    await writeFile(join(runtimeDir, 'machine.json'), JSON.stringify(record({ ownerPid: process.pid, qemuPid: undefined })));
    const [found] = await readRegistry();
    await expect(terminateMachine(found!, runtimeRoot(), { timeout: 300, killGrace: 300 })).rejects.toThrow(/did not remove .*; it is stuck: end that process/);
    expect(existsSync(join(runtimeDir, 'terminate-request'))).toBe(true);
    await removeRuntimeDir(runtimeDir);
  });

  test('a machine whose process is gone is orphaned; terminate NAME reaps that one, --orphans the rest, finishing their artifacts', async () => {
    const { mkdir } = await import('node:fs/promises');
    const orphan = async (name: string) => {
      const dir = join(base, `vitest-vmspawn-${process.getuid?.()}`, `vm-${name}`);
      const artifactsDir = join(base, `${name}-artifacts`);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await mkdir(artifactsDir);
      // PID 1's start time is never "1": the recorded owner is a process that no longer exists.
      await writeFile(join(dir, 'owner'), '1 1\n');
      await writeFile(join(dir, 'artifacts-dir'), `${artifactsDir}\n`);
      await writeFile(join(dir, 'machine.json'), JSON.stringify(record({ name, artifactsDir })));
      return { dir, artifactsDir };
    };
    const other = await orphan('other');
    const { dir, artifactsDir } = await orphan('dead');
    expect((await runCommand(list, [], env)).stdout).toMatch(/^dead +vm-dead +orphaned /m);
    const exec1 = await runCommand(exec, ['dead', '--', 'true'], env);
    expect(exec1).toMatchObject({ code: 1, stderr: expect.stringContaining('is orphaned (its process is gone); vitest-vmspawn terminate --orphans ends it') });
    expect(await runCommand(terminate, ['other'], env)).toMatchObject({ code: 0, stdout: expect.stringContaining('terminated other: reaped (its process was gone)') });
    expect(existsSync(other.dir)).toBe(false);
    expect(existsSync(dir)).toBe(true);
    const reaped = await runCommand(terminate, ['--orphans'], env);
    expect(reaped.stdout).toBe('reaped dead (vm-dead, owner pid 1 gone)\n');
    expect(existsSync(dir)).toBe(false);
    expect(JSON.parse(await readFile(join(artifactsDir, 'summary.json'), 'utf8'))).toMatchObject({ exit: { endedBy: 'abandoned' } });
    expect((await runCommand(terminate, ['--orphans'], env)).stdout).toBe('No orphaned machines.\n');
  });

  test('journal reads an artifacts directory and filters it; the export is read as it grows', async () => {
    const artifactsDir = join(base, 'artifacts');
    const { mkdir, appendFile } = await import('node:fs/promises');
    await mkdir(artifactsDir);
    const exportEntry = (fields: Record<string, string>) => `${Object.entries(fields).map(([k, v]) => `${k}=${v}`).join('\n')}\n\n`;
    const file = join(artifactsDir, 'journal.export');
    await writeFile(file, exportEntry({ MESSAGE: 'one', SYSLOG_IDENTIFIER: 'a', PRIORITY: '6' }) + exportEntry({ MESSAGE: 'two', SYSLOG_IDENTIFIER: 'b', PRIORITY: '3' }));
    expect(await runCommand(journal, [artifactsDir, '-o', 'cat'], env)).toMatchObject({ code: 0, stdout: 'one\ntwo\n' });
    expect((await runCommand(journal, [artifactsDir, '-o', 'cat', '-p', 'err'], env)).stdout).toBe('two\n');
    expect((await runCommand(journal, [artifactsDir, '-o', 'cat', '-t', 'a'], env)).stdout).toBe('one\n');
    const reader = new JournalFileReader(file);
    expect((await reader.readNew()).map((e) => e.message)).toEqual(['one', 'two']);
    // Half an entry first: it is handed over once complete.
    await appendFile(file, 'MESSAGE=three\n');
    expect(await reader.readNew()).toEqual([]);
    await appendFile(file, '\n');
    expect((await reader.readNew()).map((e) => e.message)).toEqual(['three']);
  });

  test('journal -f on the artifacts directory of a running machine follows it until the machine ends', async () => {
    const artifactsDir = join(base, 'running-artifacts');
    const { mkdir, appendFile } = await import('node:fs/promises');
    await mkdir(artifactsDir);
    const file = join(artifactsDir, 'journal.export');
    await writeFile(file, 'MESSAGE=first\n\n');
    const runtimeDir = await createRuntimeDir();
    await recordArtifactsDir(runtimeDir, artifactsDir);
    const following = runCommand(journal, [artifactsDir, '-f', '-o', 'cat'], env);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await appendFile(file, 'MESSAGE=second\n\n');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await removeRuntimeDir(runtimeDir);
    expect(await following).toMatchObject({ code: 0, stdout: 'first\nsecond\n' });
  });

  test('usage errors exit 2 and name the flag or argument', async () => {
    expect(await runCommand(list, ['--jsn'], env)).toMatchObject({ code: 2, stderr: expect.stringMatching(/vitest-vmspawn list: Unknown option '--jsn'[\s\S]*usage: vitest-vmspawn list \[--json\]/) });
    expect(await runCommand(exec, ['web'], env)).toMatchObject({ code: 2, stderr: expect.stringContaining('exec needs a command after -- (e.g. exec web -- uname -a)') });
    // node's advice to put a '-' word after -- is wrong where -- starts the guest's command: it is cut.
    const unknown = await runCommand(exec, ['--foo', 'web', '--', 'ls'], env);
    expect(unknown).toMatchObject({ code: 2, stderr: expect.stringContaining("vitest-vmspawn exec: Unknown option '--foo'.\nusage:") });
    expect(unknown.stderr).not.toContain('To specify');
    expect(await runCommand(exec, ['--', 'true'], env)).toMatchObject({ code: 2, stderr: expect.stringContaining('exec takes one NAME before --') });
    expect(await runCommand(shell, [], env)).toMatchObject({ code: 2, stderr: expect.stringContaining('shell takes one NAME') });
    expect(await runCommand(journal, ['web', '-p', 'loud'], env)).toMatchObject({ code: 2, stderr: expect.stringContaining('-p/--priority "loud" is not a priority') });
    expect(await runCommand(terminate, ['web', '--timeout', 'soon'], env)).toMatchObject({ code: 2, stderr: expect.stringContaining('--timeout "soon" is not a number of seconds above 0 (e.g. --timeout 60)') });
    expect(await runCommand(terminate, ['web', '--orphans'], env)).toMatchObject({ code: 2, stderr: expect.stringContaining('--orphans takes no NAME') });
    expect(await runCommand(image, ['make'], env)).toMatchObject({ code: 2, stderr: expect.stringContaining('image needs the action build (got "make")') });
    expect(await runCommand(image, ['build', 'arm'], env)).toMatchObject({ code: 2, stderr: expect.stringContaining('image build takes one of default, uefi, all (got "arm")') });
    expect(await runCommand(exec, ['ghost', '--', 'true'], env)).toMatchObject({ code: 1, stderr: expect.stringContaining('no machine is named "ghost"; none is running') });
    for (const command of [list, shell, exec, journal, terminate, firmware, image]) {
      const help = await runCommand(command, ['--help'], env);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`vitest-vmspawn ${command.name}`);
      expect(help.stdout).toContain('Exit status:');
    }
  });

  test('firmware lists the descriptors of the directories searched', async () => {
    const { mkdir } = await import('node:fs/promises');
    const config = join(base, 'config');
    await mkdir(join(config, 'qemu', 'firmware'), { recursive: true });
    const descriptor = {
      description: 'Test UEFI', 'interface-types': ['uefi'],
      mapping: { device: 'flash', executable: { filename: '/fw/CODE.fd', format: 'raw' }, 'nvram-template': { filename: '/fw/VARS.fd', format: 'raw' } },
      targets: [{ architecture: 'x86_64', machines: ['pc-q35-*'] }], features: ['secure-boot'],
    };
    await writeFile(join(config, 'qemu', 'firmware', '50-test.json'), JSON.stringify(descriptor));
    const shown = await runCommand(firmware, ['--json'], { ...env, XDG_CONFIG_HOME: config });
    const found = JSON.parse(shown.stdout) as Array<{ path: string; description: string }>;
    expect(found.find((d) => d.path.endsWith('50-test.json'))).toMatchObject({ description: 'Test UEFI' });
  });
});

/**
 * The registry of running machines, kept by the processes that run them: each machine's runtime
 * directory (host/runtime-dir.ts, which already names its owner and child PIDs, and is deleted
 * when the machine ends) gets a `machine.json` record and an `ssh/` directory (0700, files 0600)
 * with the client key and an ssh_config. The owner also watches the directory for a terminate
 * request from the command line and then shuts the machine down itself, so the test that uses it
 * sees it end and the artifacts are finished as on any other shutdown.
 *
 * Registration is cheap (a few small files) and never fails a boot: a problem is a log line.
 */
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StartedMachine } from '../machine/started-machine.js';
import { writeSshClientFiles } from '../ssh/ssh-client-files.js';
import type { MachineRecord } from './machine-record.js';
import { registerWithMachined } from './machined-register.js';

/** The record's file in the runtime directory. */
export const RECORD_FILE = 'machine.json';
/** The machine's name, written at start-up, so the command line finds a machine by name while it boots. */
export const NAME_FILE = 'name';
/** The file `terminate` creates in the runtime directory to ask the owner to shut the machine down. */
export const TERMINATE_REQUEST_FILE = 'terminate-request';
/** The directory with the client key and ssh_config. */
const SSH_DIR = 'ssh';

export interface Registration {
  runtimeDir: string;
  transport: MachineRecord['transport'];
  qemuPid: number | undefined;
  vsockCid: number | undefined;
  /** Resolves when QEMU has exited. */
  ended: Promise<unknown>;
  log: (line: string) => void;
  /** Runs a write into the runtime directory unless the machine is ending; its removal waits for it (MachineRuntime.writeRuntimeDir). */
  writeRuntimeDir: <T>(write: () => Promise<T>) => Promise<T | undefined>;
  /** Register with systemd-machined (StartOptions.register); undefined: as VMSPAWN_REGISTER says. */
  register?: boolean | undefined;
}

interface Registered {
  file: string;
  record: MachineRecord;
  writeRuntimeDir: Registration['writeRuntimeDir'];
}

const registered = new WeakMap<StartedMachine, Registered>();

/** Notes the name of a machine that starts (its runtime directory was just made). */
export async function recordStartingMachine(runtimeDir: string, name: string): Promise<void> {
  await writeFile(join(runtimeDir, NAME_FILE), `${name}\n`, { mode: 0o600 });
}

/** Records a machine that just became ready; never throws. */
export async function registerMachine(vm: StartedMachine, registration: Registration): Promise<void> {
  try {
    await register(vm, registration);
  } catch (error) {
    registration.log(`not listed by vitest-vmspawn list: ${(error as Error).message}`);
  }
}

async function register(vm: StartedMachine, { runtimeDir, transport, qemuPid, vsockCid, ended, log, writeRuntimeDir, register: registerWithMachinedSetting }: Registration): Promise<void> {
  const access = vm.sshAccess;
  const ssh = access ? await writeRuntimeDir(() => writeSshClientFiles(join(runtimeDir, SSH_DIR), vm.name, access)) : undefined;
  const record: MachineRecord = {
    name: vm.name,
    uuid: vm.uuid,
    accelerator: vm.accelerator,
    transport,
    since: new Date().toISOString(),
    artifactsDir: vm.artifactsDir,
    ownerPid: process.pid,
    qemuPid,
    vsockCid,
    ...(ssh && { ssh: { configFile: ssh.configFile, host: ssh.host } }),
  };
  const file = join(runtimeDir, RECORD_FILE);
  const entry = { file, record, writeRuntimeDir };
  registered.set(vm, entry);
  const watcher = watchForTerminateRequest(vm, runtimeDir, log);
  const machined =
    qemuPid === undefined
      ? undefined
      : await registerWithMachined({
          name: vm.name,
          uuid: vm.uuid,
          leaderPid: qemuPid,
          kernelVsockCid: access?.kernelVsockCid,
          tcp: access?.tcp,
          sshPrivateKeyPath: ssh && join(runtimeDir, SSH_DIR, 'id_ed25519'),
        }, registerWithMachinedSetting);
  if (machined) {
    log(machined.outcome);
    record.machined = machined.outcome;
  }
  void ended.finally(() => {
    watcher?.close();
    void machined?.unregister();
  });
  await writeRecord(entry);
}

/** Names the test that uses the machine now (`list` shows it); never throws. */
export async function recordTestOfMachine(vm: StartedMachine, test: string): Promise<void> {
  const entry = registered.get(vm);
  if (!entry) return;
  entry.record.test = test;
  await writeRecord(entry).catch(() => undefined);
}

/** Replaces the record at once (a reader never sees half a file); not once the machine is ending. */
async function writeRecord({ file, record, writeRuntimeDir }: Registered): Promise<void> {
  await writeRuntimeDir(async () => {
    const partial = `${file}.${process.pid}.tmp`;
    await writeFile(partial, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
    await rename(partial, file);
  });
}

/** The owner's side of `terminate`: a request file appears, the machine is shut down as stop() does. */
function watchForTerminateRequest(vm: StartedMachine, runtimeDir: string, log: (line: string) => void): FSWatcher | undefined {
  const requestFile = join(runtimeDir, TERMINATE_REQUEST_FILE);
  let requested = false;
  const check = () => {
    if (requested || !existsSync(requestFile)) return;
    requested = true;
    log('terminate requested by the command line (vitest-vmspawn terminate): shutting the machine down');
    void vm.stop().catch(() => undefined);
  };
  try {
    const watcher = watch(runtimeDir, check);
    watcher.on('error', () => undefined);
    watcher.unref();
    check();
    return watcher;
  } catch {
    return undefined;
  }
}

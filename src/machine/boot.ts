/**
 * Start-up, in order: check the options against files and host, and the tools (nothing but
 * `qemu --version` runs before that, not even the KVM probe), choose accelerator and vsock
 * transport, plan, write the plan's files, listen for the guest, start the helper daemons and QEMU,
 * then wait for READY, ssh-access.target and the first SSH handshake. A failure at any step ends
 * everything that was started and throws a BootError whose headline is the cause (a sign read from
 * the console, firmware or notify messages when there is one), with the console tail.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { access, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BootError, VmspawnError } from '../errors.js';
import { chooseAccelerator } from '../host/accelerator.js';
import { createRuntimeDir, PIDS_FILE } from '../host/runtime-dir.js';
import { requireExecutable } from '../host/tools.js';
import { virtiofsBinaries } from '../host/virtiofsd.js';
import { chooseVsock, requireSshWithoutVsock } from '../host/vsock-choice.js';
import { lastErrorLines } from '../journal/error-lines.js';
import { failedUnits } from '../journal/failed-units.js';
import { describeDirectoryKernel } from '../options/check-directory.js';
import { preflight } from '../options/preflight.js';
import type { ResolvedMachineOptions } from '../options/resolve-options.js';
import type { BootPlan } from '../plan/boot-plan.js';
import { ARTIFACT_FILE_PATTERNS, ARTIFACT_FILES, machineLayout } from '../plan/machine-layout.js';
import type { PlannedHelper } from '../plan/helper-plan.js';
import { planMachine } from '../plan/plan-machine.js';
import { firstGuestCid } from '../plan/vsock-cid.js';
import { runHelperSetup } from '../process/helper-setup.js';
import { spawnManaged } from '../process/managed-process.js';
import { readForwardedPorts } from '../process/port-forwards.js';
import { recordStartingMachine, registerMachine } from '../registry/registry.js';
import { generateMachineKeys, type MachineSshKeys } from '../ssh/keys.js';
import { AuthenticationRefusedError, HostKeyMismatchError, SshConnection } from '../ssh/ssh-connection.js';
import { SshSession } from '../ssh/ssh-session.js';
import { createTransport } from '../transport/create-transport.js';
import type { VsockTransport } from '../transport/vsock-transport.js';
import { readTail } from '../util/read-tail.js';
import { reapAbandonedMachines, recordArtifactsDir } from './abandoned-machines.js';
import { BootProgress } from './boot-progress.js';
import type { BootSign } from './boot-signs.js';
import type { StartOptions } from './machine.js';
import { BootSignError, BootWatch } from './boot-watch.js';
import { emergencyCause } from './emergency-causes.js';
import { guestStopsWithin } from './guest-stopping.js';
import { MachineLog } from './machine-log.js';
import { MachineRuntime } from './machine-runtime.js';
import { launchQemu } from './qemu-launch.js';
import { attachTransport, becomeReadyOverSsh, readyOverSsh } from './no-vsock.js';
import { materializePlan } from './materialize-plan.js';
import { StartedMachine } from './started-machine.js';

/** After READY=1, how long ssh-access.target may still take before SSH is declared missing. */
const SSH_TARGET_GRACE_MS = 15_000;
const SSH_RETRY_MS = 250;
/** How long sshd may refuse the engine's key before that counts as final (tmpfiles writes it early in a boot). */
const SSH_REFUSED_GRACE_MS = 15_000;
const SSH_CONNECT_TIMEOUT_MS = 10_000;
const SSH_HANDSHAKE_TIMEOUT_MS = 30_000;
const HELPER_READY_TIMEOUT_MS = 10_000;

let reaped: Promise<unknown> | undefined;

export async function bootMachine(requested: ResolvedMachineOptions, { signal, onBootStage, register }: StartOptions = {}): Promise<StartedMachine> {
  const options = { ...requested, uuid: requested.uuid ?? randomUUID() };
  // 1. Everything that can be wrong with the input or the host, before anything is spawned; then the KVM probe.
  const { qemuBinary, imageFormat, extraDriveFormats, kernelKind, firmware, tpm, directoryKernel } = await preflight(options, signal);
  const needsOverlays = options.image !== undefined || options.extraDrives.some((drive) => drive.ephemeral && !drive.readOnly);
  const qemuImg = needsOverlays ? await requireExecutable('qemu-img') : undefined;
  const vsock = await chooseVsock(options.vsock);
  requireSshWithoutVsock(vsock, options.ssh);
  const vsockTool = vsock.kind === 'none' ? undefined : await requireExecutable(vsock.kind === 'kernel' ? 'socat' : 'vhost-device-vsock');
  const binaries = { vhostDeviceVsock: vsock.kind === 'user-space' ? vsockTool : undefined, tpm: tpm.binaries, ...(await virtiofsBinaries(options)) };
  signal?.throwIfAborted();
  const accelerator = await chooseAccelerator(options.kvm, qemuBinary);
  signal?.throwIfAborted();

  // 2. Directories, log and plan.
  reaped ??= reapAbandonedMachines().catch(() => undefined);
  await reaped;
  const ownsArtifactsDir = options.artifactsDir === undefined;
  // A given artifactsDir was checked by preflight: it cannot be in /proc, where mkdir would spin.
  const artifactsDir = options.artifactsDir ?? (await mkdtemp(join(tmpdir(), 'vitest-vmspawn-artifacts-')));
  await mkdir(artifactsDir, { recursive: true });
  await clearArtifacts(artifactsDir);
  const layout = machineLayout(await createRuntimeDir(), artifactsDir);
  await recordArtifactsDir(layout.runtimeDir, artifactsDir);
  await recordStartingMachine(layout.runtimeDir, options.name);
  const log = new MachineLog(options.name);
  log.attach(layout.machineLog);
  log.announce(accelerator.reason);
  log.announce(vsock.reason);
  log.announce(tpm.reason);

  const keys = options.ssh ? generateMachineKeys(options.name) : undefined;
  const ports = pickPorts();
  const firstCid = firstGuestCid(vsock.kind, options.vsockCid, options.name);
  const planInput = {
    options,
    accelerator: accelerator.accelerator,
    layout,
    ports,
    ssh: keys,
    imageFormat,
    extraDriveFormats,
    kernelKind,
    firmware,
    vsock: vsock.kind,
    vsockCid: firstCid,
    binaries,
    directoryKernel,
  };
  const plan = planMachine(planInput);
  for (const line of [...describeDirectoryKernel(directoryKernel), ...plan.virtiofs.description]) log.info(line);
  const pidFile = join(layout.runtimeDir, PIDS_FILE);
  // The CID is read at each connection: a start retried after a CID clash changes it.
  const transport = createTransport(vsock.kind, { layout, pidFile, socat: vsockTool, guestCid: () => runtime.vsockCid });
  const runtime = new MachineRuntime({ options, layout, log, accelerator, vsock, transport, ports, boot: plan.boot, ownsArtifactsDir });
  log.info(describeBoot(plan.boot));
  // Every sign is fatal, emergency mode too: its READY=1 does not mean the system came up.
  const watch = new BootWatch(layout, runtime.notify);
  const progress = new BootProgress(onBootStage ?? (() => undefined), () => runtime.sinceQemuStart());

  try {
    await materializePlan(plan, layout, qemuImg);
    await runtime.listen();

    // 3. Processes: the helper daemons first, QEMU connects to them.
    for (const helper of plan.helpers) {
      await runHelperSetup(helper, pidFile);
      const daemon = await spawnManaged(helper.name, helper.binary, helper.args, { logFile: helper.logFile, pidFile });
      runtime.adoptHelper(helper.name, daemon);
      await waitForHelper(helper, () => !daemon.hasExited);
    }
    const launched = await launchQemu({
      binary: plan.qemu.binary,
      argsFor: (cid) => (cid === firstCid ? plan.qemu.args : planMachine({ ...planInput, vsockCid: cid }).qemu.args),
      kernelVsockCid: vsock.kind === 'kernel' ? firstCid : undefined,
      cidChosenByUser: options.vsockCid !== undefined,
      layout,
      pidFile,
      log: (line) => log.info(line),
    });
    const qemu = launched.qemu;
    runtime.vsockCid = launched.guestCid ?? firstCid;
    runtime.adoptQemu(qemu);
    progress.follow(layout.consoleLog, runtime.notify);
    log.info(`QEMU started (pid ${qemu.pid}): ${plan.qemu.binary} ${plan.qemu.args.length} arguments, see ${ARTIFACT_FILES.qemuCommandLine}`);
    await runtime.writeSummary();
    runtime.adoptQmp(await launched.qmp);
    runtime.forwardedPorts = await readForwardedPorts(runtime.qmp, options.portForwards);
    for (const port of runtime.forwardedPorts) log.info(`host port ${port.hostAddress}:${port.host} forwards to guest port ${port.guest}`);
    await attachTransport(transport, runtime.qmp, (line) => log.info(line));
    // QEMU read the credential files while parsing its command line: the host's private key need not wait on disk.
    await rm(layout.credentialsDir, { recursive: true, force: true });

    // 4. Readiness.
    const ssh = await waitUntilReady(runtime, transport, keys, signal, watch);
    await watch.stop();
    progress.reach(keys ? 'ssh' : 'ready');
    await progress.stop();
    runtime.state = 'running';
    runtime.ssh = ssh;
    runtime.sshKeys = keys;
    log.info(`ready: ${readyOverSsh(runtime) ? 'system running (over SSH)' : 'READY=1'} after ${fmt(runtime.readyAfterMs)}, SSH after ${fmt(runtime.sshReadyAfterMs)}`);
    const started = new StartedMachine(runtime, ssh, transport);
    // For the command line's list, shell, exec, journal and terminate; never fails the boot.
    await registerMachine(started, {
      runtimeDir: layout.runtimeDir,
      transport: vsock.kind,
      qemuPid: qemu.pid,
      vsockCid: runtime.vsockCid,
      ended: runtime.ended,
      log: (line) => log.info(line),
      writeRuntimeDir: (write) => runtime.writeRuntimeDir(write),
      register,
    });
    return started;
  } catch (error) {
    await progress.stop();
    throw await failBoot(runtime, error, watch);
  }
}

async function waitUntilReady(
  runtime: MachineRuntime,
  transport: VsockTransport,
  keys: MachineSshKeys | undefined,
  signal: AbortSignal | undefined,
  watch: BootWatch,
): Promise<SshSession | undefined> {
  const { options, notify } = runtime;
  const deadline = Date.now() + options.bootTimeout;
  const qemu = runtime.qemu;
  const stopWaiting = new AbortController();
  const failures: Array<Promise<never>> = [
    watch.fatal,
    qemu!.exited.then((exit) => {
      throw new VmspawnError(`QEMU exited during boot (${exit.signal ? `signal ${exit.signal}` : `exit code ${exit.exitCode}`}).`);
    }),
    sleep(options.bootTimeout, undefined, { signal: stopWaiting.signal }).then(() => {
      const status = notify.status ? ` Last status from the guest: "${notify.status}".` : '';
      throw new VmspawnError(`The guest was not ready within bootTimeout (${options.bootTimeout} ms).${status}`);
    }),
  ];
  if (signal) {
    failures.push(
      new Promise<never>((_, reject) => {
        const onAbort = () => reject(new VmspawnError(`start() was aborted${signal.reason instanceof Error ? `: ${signal.reason.message}` : ''}.`));
        if (signal.aborted) onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        stopWaiting.signal.addEventListener('abort', () => signal.removeEventListener('abort', onAbort), { once: true });
      }),
    );
  }
  const waits = { signal: stopWaiting.signal };
  const overSsh = readyOverSsh(runtime);
  const becomeReady = async (): Promise<SshSession | undefined> => {
    if (options.notifyReady && !overSsh) {
      await notify.waitForReady(waits);
      runtime.readyAfterMs = runtime.sinceQemuStart();
      // systemd in emergency or rescue mode also sends READY=1, right after saying it reached that target.
      if (watch.sign) throw new BootSignError(watch.sign);
    }
    if (!keys) return undefined;
    if (options.notifyReady && !overSsh) {
      await notify.waitForUnit('ssh-access.target', { ...waits, timeout: SSH_TARGET_GRACE_MS }).catch(() => {
        throw new VmspawnError(
          `The guest is ready but never reported ssh-access.target: SSH over vsock needs sshd and systemd >= 256 ` +
            `(systemd-ssh-generator) in the image. For an image without SSH, set ssh: false.`,
        );
      });
    }
    const first = await connectSsh(transport, keys, deadline, stopWaiting.signal, () => runtime.state === 'exited', (error) =>
      runtime.log.info(`SSH attempt failed: ${error.message}`),
    );
    runtime.sshReadyAfterMs = runtime.sinceQemuStart();
    // Further connections of a running machine: without vsock the transport waits for sshd's greeting,
    // which a guest busy under TCG gave only after more than 10 s in CI; allow it the handshake's time.
    const connect = async () => SshConnection.open(await transport.connect(22, { timeout: SSH_HANDSHAKE_TIMEOUT_MS }), { keys, timeout: SSH_HANDSHAKE_TIMEOUT_MS });
    const session = new SshSession(first, {
      connect,
      guestRunning: () => runtime.state === 'starting' || runtime.state === 'running',
      guestStopsWithin: (graceMs) => guestStopsWithin(runtime, graceMs),
      log: (message) => runtime.log.info(message),
    });
    if (overSsh) await becomeReadyOverSsh(runtime, session, connect, stopWaiting.signal);
    return session;
  };
  try {
    return await Promise.race([becomeReady(), ...failures]);
  } finally {
    stopWaiting.abort();
  }
}

async function connectSsh(
  transport: VsockTransport,
  keys: MachineSshKeys,
  deadline: number,
  signal: AbortSignal,
  machineExited: () => boolean,
  onAttemptFailed: (error: Error) => void,
): Promise<SshConnection> {
  let lastError: Error | undefined;
  let refusedSince: number | undefined;
  while (!signal.aborted && !machineExited()) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    try {
      const stream = await transport.connect(22, { timeout: Math.min(remaining, SSH_CONNECT_TIMEOUT_MS), signal });
      return await SshConnection.open(stream, { keys, timeout: Math.min(remaining, SSH_HANDSHAKE_TIMEOUT_MS) });
    } catch (error) {
      lastError = error as Error;
      onAttemptFailed(lastError);
      if (lastError instanceof HostKeyMismatchError) throw hostKeyError(lastError);
      // Early in a boot sshd may answer before tmpfiles wrote the key; a refusal that lasts is final.
      refusedSince = lastError instanceof AuthenticationRefusedError ? (refusedSince ?? Date.now()) : undefined;
      if (refusedSince !== undefined && Date.now() - refusedSince > SSH_REFUSED_GRACE_MS) throw keyRefusedError(lastError);
      await sleep(SSH_RETRY_MS);
    }
  }
  throw new VmspawnError(`SSH to the guest did not succeed: ${lastError?.message ?? 'no attempt finished'}`);
}

async function failBoot(runtime: MachineRuntime, error: unknown, watch: BootWatch): Promise<Error> {
  const reason = error instanceof Error ? error.message : String(error);
  const sign = error instanceof BootSignError ? error.sign : await watch.stop();
  const errorMessages = runtime.journal.entries({ priority: 'err' }).map((entry) => entry.message);
  const why = sign?.kind === 'emergency-mode' ? emergencyCause(await readConsole(runtime.layout.consoleLog), errorMessages) : undefined;
  const cause = why ? `${headline(reason, sign)}\nCause: ${why}.` : headline(reason, sign);
  runtime.bootError = cause;
  runtime.log.info(`boot failed: ${cause.replaceAll('\n', ' ')}`);
  await runtime.kill('boot-failure');
  await watch.stop();
  await runtime.writeSummary();
  const consoleTail = await runtime.consoleTail(30);
  const qemuTail = await readTail(runtime.layout.qemuLog, 10);
  const failed = failedUnits(runtime.journal.entries());
  const withUnits = failed.length > 0 ? `${cause}\nFailed units: ${failed.join(', ')}` : cause;
  const errors = lastErrorLines(runtime.journal.entries());
  const withErrors = errors.length > 0 ? `${withUnits}\nLast errors in the journal:\n${errors.map((line) => `    ${line}`).join('\n')}` : withUnits;
  const withQemuLog = qemuTail ? `${withErrors}\nQEMU said:\n${qemuTail.replace(/^/gm, '    ')}` : withErrors;
  // A temporary artifacts directory (no artifactsDir given) would be left in the temp directory forever.
  const keep = !runtime.ownsArtifactsDir;
  if (!keep) await rm(runtime.layout.artifactsDir, { recursive: true, force: true });
  const details = { consoleTail, artifactsDir: keep ? runtime.layout.artifactsDir : undefined, failedUnits: failed, journalErrors: errors };
  return new BootError(withQemuLog, details, { cause: error });
}

/** The whole console of a failed boot (its kernel command line is at the top), at most its last 4 MiB. */
async function readConsole(path: string): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.length > 4 * 1024 * 1024 ? text.slice(-4 * 1024 * 1024) : text;
}

/** The sign that explains a failure comes first; what the engine observed (a timeout, QEMU exiting) follows. */
function headline(reason: string, sign: BootSign | undefined): string {
  return sign && sign.headline !== reason ? `${sign.headline}\n(${reason})` : reason;
}

/** A key refused for longer than a boot's set-up takes will not be accepted by retrying. */
function keyRefusedError(error: Error): VmspawnError {
  return new VmspawnError(
    `${error.message}. The engine's client key travels in the ssh.authorized_keys.root and ssh.ephemeral-authorized_keys-all ` +
      "credentials; systemd writes the first to /root/.ssh/authorized_keys only when that file does not exist yet, so a root " +
      'that already has one (a tree booted with ephemeral: false before, or an image that ships the file) keeps its own keys. ' +
      'Remove /root/.ssh/authorized_keys from the image or tree, or boot it ephemeral.',
    { cause: error },
  );
}

/** A wrong host key will not become right by retrying. */
function hostKeyError(error: Error): VmspawnError {
  return new VmspawnError(
    `${error.message} The guest's sshd does not use the key the engine gave it: does the image, or a tmpfiles.extra credential ` +
      'of the test, install its own /etc/ssh/ssh_host_ed25519_key first?',
    { cause: error },
  );
}

async function waitForHelper(helper: PlannedHelper, isAlive: () => boolean): Promise<void> {
  const deadline = Date.now() + HELPER_READY_TIMEOUT_MS;
  while (Date.now() < deadline && isAlive()) {
    try {
      await access(helper.readyPath);
      return;
    } catch {
      await sleep(10);
    }
  }
  const output = await readTail(helper.logFile, 10);
  throw new VmspawnError(
    `${helper.name} did not create ${helper.readyPath}${isAlive() ? ' in time' : ' and exited'}.${output ? `\n${output}` : ''}`,
  );
}

function describeBoot({ path, machine, firmware }: BootPlan): string {
  const via = firmware ? `, firmware ${firmware.descriptor.path} (${firmware.descriptor.description || 'no description'})` : ', SeaBIOS';
  return `boot: ${path} on ${machine.type}${machine.smm ? ' with SMM' : ''}${via}`;
}

/** Host ports for the guest's notify and journal connections: random, so a kernel transport shared by machines will not collide. */
function pickPorts(): { notify: number; journal: number } {
  const notify = randomInt(10_000, 1_000_000);
  return { notify, journal: notify + 1 };
}

/** Artifacts of an earlier run in the same directory would mix with this one's. */
async function clearArtifacts(dir: string): Promise<void> {
  await Promise.all(Object.values(ARTIFACT_FILES).map((file) => rm(join(dir, file), { force: true })));
  const perInstance = (await readdir(dir)).filter((file) => ARTIFACT_FILE_PATTERNS.some((pattern) => pattern.test(file)));
  await Promise.all(perInstance.map((file) => rm(join(dir, file), { force: true })));
}

function fmt(ms: number | undefined): string {
  return ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(2)} s`;
}

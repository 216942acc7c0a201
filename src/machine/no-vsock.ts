/**
 * What a machine without vsock (`vsock: false`) does differently, in the few places boot and
 * runtime call it: its transport reaches only SSH through the control network; once SSH answers,
 * the journal is streamed over SSH and readiness is asked of the system manager over SSH; notify
 * messages are marked unavailable.
 */
import { SshJournalStream } from '../journal/ssh-journal-stream.js';
import type { QmpClient } from '../process/qmp-client.js';
import type { SshConnection } from '../ssh/ssh-connection.js';
import type { SshSession } from '../ssh/ssh-session.js';
import { ControlNetworkTransport, NO_VSOCK } from '../transport/control-network.js';
import type { VsockTransport } from '../transport/vsock-transport.js';
import type { MachineRuntime } from './machine-runtime.js';
import { waitForSystemRunning } from './ssh-readiness.js';

export { NO_VSOCK };

/** Without vsock: reads the SSH forward's host port from QEMU and logs it, and when the guest's NIC comes up. */
export async function attachTransport(transport: VsockTransport, qmp: QmpClient, log: (message: string) => void): Promise<void> {
  if (!(transport instanceof ControlNetworkTransport)) return;
  const forward = await transport.attach(qmp, (probingMs) =>
    log(`no vsock: the guest's control NIC is up (it answered the probe after ${(probingMs / 1000).toFixed(1)} s)`),
  );
  log(`no vsock: SSH reaches the guest through ${forward.hostAddress}:${forward.host} (a private user-mode network)`);
}

/** Without vsock: where an SSH client reaches the guest's sshd (for a person's debug shell). */
export function sshTcpAddress(transport: VsockTransport): { host: string; port: number } | undefined {
  const forward = transport instanceof ControlNetworkTransport ? transport.forward : undefined;
  return forward && { host: forward.hostAddress, port: forward.host };
}

/** Whether the machine must become ready without notify messages (over SSH). */
export function readyOverSsh(runtime: MachineRuntime): boolean {
  return runtime.notify.unavailable !== undefined;
}

/**
 * Without vsock, once SSH answers: the journal stream starts (it reads the whole boot, so nothing
 * before this point is lost), then the system manager is asked to wait for the boot's end.
 */
export async function becomeReadyOverSsh(
  runtime: MachineRuntime,
  ssh: SshSession,
  connect: () => Promise<SshConnection>,
  signal: AbortSignal,
): Promise<void> {
  if (runtime.options.forwardJournal) {
    runtime.journalStream = new SshJournalStream({
      journal: runtime.journal,
      connect,
      running: () => runtime.state === 'starting' || runtime.state === 'running',
      log: (message) => runtime.log.info(message),
    });
  }
  if (!runtime.options.notifyReady) return;
  const state = await waitForSystemRunning(ssh, signal);
  runtime.readyAfterMs = runtime.sinceQemuStart();
  runtime.log.info(`the guest's system manager says "${state}" (systemctl is-system-running --wait over SSH)`);
  // As with vsock, the boot's journal is on the host when start() resolves: wait for its last entry.
  if (runtime.journalStream) {
    const last = await ssh.exec('journalctl --boot --lines=1 --output=export | head -n 1', { reject: false, signal });
    const cursor = /^__CURSOR=(.*)$/.exec(last.stdout.trim())?.[1];
    if (cursor) await runtime.journal.waitFor({ fields: { __CURSOR: cursor } }, { signal });
  }
}

/**
 * The transport of a machine without vsock: guest port 22 is reached over TCP through the control
 * network's host forward (src/plan/control-network-plan.ts), whose host port QEMU picked and `info
 * usernet` reports. Nothing else is reachable this way, and the guest cannot connect to the host:
 * notify messages are unavailable, and the journal is read over SSH (src/journal/ssh-journal-stream.ts).
 */
import { createConnection, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { VmspawnError } from '../errors.js';
import { CONTROL_GUEST_PROBE_PORT, CONTROL_GUEST_SSH_PORT, CONTROL_NETWORK } from '../plan/control-network-plan.js';
import { parseUsernetForwards, type ForwardedPort } from '../process/port-forwards.js';
import type { QmpClient } from '../process/qmp-client.js';
import { NicProbe } from './nic-probe.js';
import type { ConnectOptions, VsockListener, VsockTransport } from './vsock-transport.js';

const DEFAULT_CONNECT_TIMEOUT = 10_000;
/**
 * QEMU accepts on the host port at once and only then sends the guest a SYN, which goes unanswered
 * while the guest's NIC is not configured, and a loaded guest may take seconds to start sshd for an
 * answered one. So an attempt is never cut short, and none is made before the NIC answered the
 * probe (src/transport/nic-probe.ts): QEMU would keep its SYN and deliver it once the NIC is up,
 * starting an sshd for nothing. A guest whose firewall drops the probe's port never answers it:
 * after this long without an answer, each connect also makes one attempt at once, whose SYN QEMU
 * resends until sshd answers.
 */
const PROBE_TRUST_MS = 45_000;

/** Timings, replaceable for tests. */
export interface ControlNetworkTimings {
  /** Milliseconds between probe connections while the NIC has not answered. */
  probeIntervalMs?: number;
  /** Milliseconds without a probe answer after which SSH is tried anyway. */
  probeTrustMs?: number;
}

/** Why the parts vsock carries are missing, as errors, the handle and summary.json say it. */
export const NO_VSOCK = 'unavailable: no vsock';

export class ControlNetworkTransport implements VsockTransport {
  readonly description = 'no vsock: SSH over a private user-mode network';
  readonly deliversHalfClose = true;
  #forward: ForwardedPort | undefined;
  #probe: NicProbe | undefined;

  constructor(private readonly timings: ControlNetworkTimings = {}) {}

  /** The host end of the SSH forward, once QEMU bound it. */
  get forward(): ForwardedPort | undefined {
    return this.#forward;
  }

  /**
   * Reads the host ports QEMU bound for the control network's SSH and probe forwards; `onNicAnswered`
   * hears each time the probe finds the guest's NIC up.
   */
  async attach(qmp: QmpClient, onNicAnswered?: (probingMs: number) => void): Promise<ForwardedPort> {
    const text = await qmp.execute<string>('human-monitor-command', { 'command-line': 'info usernet' });
    const forwards = parseUsernetForwards(text, CONTROL_NETWORK.guest);
    const forward = forwards.find((entry) => entry.guest === CONTROL_GUEST_SSH_PORT);
    const probe = forwards.find((entry) => entry.guest === CONTROL_GUEST_PROBE_PORT);
    if (!forward || !probe) throw new VmspawnError(`QEMU does not list the control network's SSH and probe forwards in "info usernet":\n${text}`);
    this.#forward = forward;
    this.#probe = new NicProbe(probe, { intervalMs: this.timings.probeIntervalMs, onAnswered: onNicAnswered });
    return forward;
  }

  listen(port: number): Promise<VsockListener> {
    return Promise.reject(new VmspawnError(`Cannot listen on vsock port ${port}: ${NO_VSOCK} (vsock: false).`));
  }

  connect(port: number, options: ConnectOptions = {}): Promise<Duplex> {
    const forward = this.#forward;
    if (port !== CONTROL_GUEST_SSH_PORT) {
      return Promise.reject(
        new VmspawnError(
          `Cannot connect to guest vsock port ${port}: ${NO_VSOCK} (vsock: false). ` +
            "Reach a guest TCP port with vm.forwardPort(port) (over SSH), or portForwards with network: 'user'.",
        ),
      );
    }
    if (!forward) return Promise.reject(new VmspawnError('Cannot connect to the guest: QEMU has not reported the SSH forward yet.'));
    const probe = this.#probe!;
    const timeout = options.timeout ?? DEFAULT_CONNECT_TIMEOUT;
    return new Promise<Duplex>((resolve, reject) => {
      const pending = new Set<Socket>();
      const stopWaiting = new AbortController();
      let settled = false;
      const finish = (outcome: { socket: Socket } | { error: string; unanswered?: boolean }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        stopWaiting.abort();
        options.signal?.removeEventListener('abort', onAbort);
        for (const socket of pending) {
          socket.removeAllListeners('readable');
          if (!('socket' in outcome) || socket !== outcome.socket) socket.destroy();
        }
        if ('socket' in outcome) return resolve(outcome.socket);
        // Nothing at all came back from a NIC that had answered: it may be down again (a reboot), to be probed afresh.
        if (outcome.unanswered && pending.size > 0 && probe.answered) probe.forget();
        const unanswered = probe.unansweredFor;
        const probeSaid = unanswered > 0 ? ` (the guest's control NIC has not answered for ${(unanswered / 1000).toFixed(1)} s)` : '';
        reject(new VmspawnError(`Cannot connect to guest port ${port} through ${forward.hostAddress}:${forward.host}: ${outcome.error}${probeSaid}`));
      };
      const attempt = () => {
        if (settled) return;
        const socket = createConnection({ host: forward.hostAddress, port: forward.host });
        pending.add(socket);
        // Paused mode ('readable'), so that the stream is handed over neither flowing nor paused.
        socket.on('readable', () => {
          const chunk = socket.read() as Buffer | null;
          if (chunk === null || settled) return;
          socket.removeAllListeners('end');
          socket.removeAllListeners('error');
          socket.unshift(chunk);
          finish({ socket });
        });
        const gone = (error: string) => {
          socket.destroy();
          pending.delete(socket);
          // The guest refused (sshd not listening yet): say so at once, unless another attempt still waits.
          if (pending.size === 0) finish({ error });
        };
        socket.once('end', () => gone('the guest closed the connection (sshd not listening yet?)'));
        socket.once('error', (error: Error) => gone(error.message));
      };
      const onAbort = () => finish({ error: 'aborted' });
      const timer = setTimeout(() => finish({ error: `no answer within ${timeout} ms`, unanswered: true }), timeout);
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (!probe.answered && probe.unansweredFor >= (this.timings.probeTrustMs ?? PROBE_TRUST_MS)) attempt();
      // Once the NIC answered (at once when it did before); an attempt made before may wait for QEMU
      // to resend its SYN, while a fresh one is answered at once.
      probe.waitForAnswer(stopWaiting.signal).then(attempt, () => undefined);
    });
  }
}

/**
 * The transport of a machine without vsock: guest port 22 is reached over TCP through the control
 * network's host forward (src/plan/control-network-plan.ts), whose host port QEMU picked and `info
 * usernet` reports. Nothing else is reachable this way, and the guest cannot connect to the host:
 * notify messages are unavailable, and the journal is read over SSH (src/journal/ssh-journal-stream.ts).
 */
import { createConnection, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { VmspawnError } from '../errors.js';
import { CONTROL_GUEST_SSH_PORT, CONTROL_NETWORK } from '../plan/control-network-plan.js';
import { parseUsernetForwards, type ForwardedPort } from '../process/port-forwards.js';
import type { QmpClient } from '../process/qmp-client.js';
import type { ConnectOptions, VsockListener, VsockTransport } from './vsock-transport.js';

const DEFAULT_CONNECT_TIMEOUT = 10_000;
/**
 * QEMU accepts on the host port at once, but while the guest's NIC is not configured its SYN goes
 * unanswered and QEMU retries it with a growing backoff, and a loaded guest may take seconds to
 * start sshd for an answered one. So an attempt is never cut short: every 2 s without an answer
 * another one starts beside it (a fresh SYN finds a NIC that came up meanwhile), and the first to
 * hear sshd wins; the others are closed.
 */
const NEXT_ATTEMPT_MS = 2_000;

/** Why the parts vsock carries are missing, as errors, the handle and summary.json say it. */
export const NO_VSOCK = 'unavailable: no vsock';

export class ControlNetworkTransport implements VsockTransport {
  readonly description = 'no vsock: SSH over a private user-mode network';
  readonly deliversHalfClose = true;
  #forward: ForwardedPort | undefined;

  /** The host end of the SSH forward, once QEMU bound it. */
  get forward(): ForwardedPort | undefined {
    return this.#forward;
  }

  /** Reads the host port QEMU bound for the control network's SSH forward. */
  async attach(qmp: QmpClient): Promise<ForwardedPort> {
    const text = await qmp.execute<string>('human-monitor-command', { 'command-line': 'info usernet' });
    const forward = parseUsernetForwards(text, CONTROL_NETWORK.guest).find((entry) => entry.guest === CONTROL_GUEST_SSH_PORT);
    if (!forward) throw new VmspawnError(`QEMU does not list the control network's SSH forward in "info usernet":\n${text}`);
    this.#forward = forward;
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
    const timeout = options.timeout ?? DEFAULT_CONNECT_TIMEOUT;
    return new Promise<Duplex>((resolve, reject) => {
      const pending = new Set<Socket>();
      let settled = false;
      const finish = (outcome: { socket: Socket } | { error: string }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(nextAttempt);
        options.signal?.removeEventListener('abort', onAbort);
        for (const socket of pending) {
          socket.removeAllListeners('readable');
          if (!('socket' in outcome) || socket !== outcome.socket) socket.destroy();
        }
        if ('socket' in outcome) return resolve(outcome.socket);
        reject(new VmspawnError(`Cannot connect to guest port ${port} through ${forward.hostAddress}:${forward.host}: ${outcome.error}`));
      };
      const attempt = () => {
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
      const timer = setTimeout(() => finish({ error: `no answer within ${timeout} ms` }), timeout);
      const nextAttempt = setInterval(attempt, NEXT_ATTEMPT_MS);
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      attempt();
    });
  }
}

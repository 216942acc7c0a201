/**
 * The transport of a machine without vsock: guest port 22 is reached over TCP through the control
 * network's host forward (src/plan/control-network-plan.ts), whose host port QEMU picked and `info
 * usernet` reports. Nothing else is reachable this way, and the guest cannot connect to the host:
 * notify messages are unavailable, and the journal is read over SSH (src/journal/ssh-journal-stream.ts).
 */
import { createConnection } from 'node:net';
import type { Duplex } from 'node:stream';
import { VmspawnError } from '../errors.js';
import { CONTROL_GUEST_SSH_PORT, CONTROL_NETWORK } from '../plan/control-network-plan.js';
import { parseUsernetForwards, type ForwardedPort } from '../process/port-forwards.js';
import type { QmpClient } from '../process/qmp-client.js';
import type { ConnectOptions, VsockListener, VsockTransport } from './vsock-transport.js';

const DEFAULT_CONNECT_TIMEOUT = 10_000;
/**
 * How long a connection may stay silent before it is given up, at first: QEMU accepts at once, but
 * while the guest's NIC is not configured yet its SYN goes unanswered, and QEMU retries it with a
 * growing backoff. A fresh attempt finds the configured NIC sooner than a long wait would. Each
 * silent attempt in a row waits a second longer (a loaded guest may be slow to start sshd), up to
 * the caller's timeout.
 */
const FIRST_SILENCE_MS = 2_000;

/** Why the parts vsock carries are missing, as errors, the handle and summary.json say it. */
export const NO_VSOCK = 'unavailable: no vsock';

export class ControlNetworkTransport implements VsockTransport {
  readonly description = 'no vsock: SSH over a private user-mode network';
  readonly deliversHalfClose = true;
  #forward: ForwardedPort | undefined;
  #silentAttempts = 0;

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
    const timeout = Math.min(options.timeout ?? DEFAULT_CONNECT_TIMEOUT, FIRST_SILENCE_MS + 1_000 * this.#silentAttempts);
    return new Promise<Duplex>((resolve, reject) => {
      // QEMU accepts on the host port before the guest does: the connection counts once sshd sent
      // its first bytes (its version line); a guest whose NIC is not up yet would leave it silent.
      const socket = createConnection({ host: forward.hostAddress, port: forward.host });
      const fail = (message: string) => {
        cleanup();
        socket.destroy();
        reject(new VmspawnError(`Cannot connect to guest port ${port} through ${forward.hostAddress}:${forward.host}: ${message}`));
      };
      // Paused mode ('readable'), so that the stream is handed over neither flowing nor paused.
      const onReadable = () => {
        const chunk = socket.read() as Buffer | null;
        if (chunk === null) return;
        cleanup();
        this.#silentAttempts = 0;
        socket.unshift(chunk);
        resolve(socket);
      };
      const onError = (error: Error) => fail(error.message);
      const onEnd = () => fail('the guest closed the connection (sshd not listening yet?)');
      const onAbort = () => fail('aborted');
      const timer = setTimeout(() => {
        this.#silentAttempts++;
        fail(`no answer within ${timeout} ms`);
      }, timeout);
      const cleanup = () => {
        clearTimeout(timer);
        socket.off('readable', onReadable);
        socket.off('error', onError);
        socket.off('end', onEnd);
        options.signal?.removeEventListener('abort', onAbort);
      };
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      socket.on('readable', onReadable);
      socket.on('error', onError);
      socket.on('end', onEnd);
    });
  }
}

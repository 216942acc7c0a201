/**
 * vsock through vhost-device-vsock: the daemon maps guest ports to unix sockets. A guest connection
 * to host port P arrives at `<uds>_P`; a host connection to `<uds>` that writes `CONNECT P\n` and
 * reads `OK …\n` becomes a stream to guest port P.
 */
import { createConnection } from 'node:net';
import type { Duplex } from 'node:stream';
import { VmspawnError } from '../errors.js';
import { listenOnUnixSocket, listeningSocketPath } from './unix-listener.js';
import type { ConnectOptions, VsockListener, VsockTransport } from './vsock-transport.js';

const DEFAULT_CONNECT_TIMEOUT = 10_000;

export class UserSpaceVsock implements VsockTransport {
  readonly description = 'user-space vsock (vhost-device-vsock)';
  // vhost-device-vsock 0.3 does not pass a guest's half-close on (rust-vmm/vhost-device#874).
  readonly deliversHalfClose = false;

  constructor(private readonly udsPath: string) {}

  listen(port: number, onConnection: (socket: Duplex) => void): Promise<VsockListener> {
    return listenOnUnixSocket(listeningSocketPath(this.udsPath, port), onConnection);
  }

  connect(port: number, options: ConnectOptions = {}): Promise<Duplex> {
    const timeout = options.timeout ?? DEFAULT_CONNECT_TIMEOUT;
    return new Promise<Duplex>((resolve, reject) => {
      const socket = createConnection(this.udsPath);
      let received = Buffer.alloc(0);
      const fail = (message: string) => {
        cleanup();
        socket.destroy();
        reject(new VmspawnError(`Cannot connect to guest vsock port ${port}: ${message}`));
      };
      // Read the reply in paused mode ('readable'), so that the stream is handed over neither
      // flowing nor paused and whoever uses it next decides how to read it.
      const onReadable = () => {
        let chunk: Buffer | null;
        while ((chunk = socket.read() as Buffer | null) !== null) {
          received = Buffer.concat([received, chunk]);
          const newline = received.indexOf('\n');
          if (newline < 0) continue;
          const reply = received.subarray(0, newline).toString();
          if (!reply.startsWith('OK ')) return fail(`vhost-device-vsock answered "${reply}"`);
          cleanup();
          const rest = received.subarray(newline + 1);
          if (rest.length > 0) socket.unshift(rest);
          return resolve(socket);
        }
      };
      const onError = (error: Error) => fail(error.message);
      const onEnd = () => fail('the guest closed the connection (nothing listens on that port yet?)');
      const onAbort = () => fail('aborted');
      const timer = setTimeout(() => fail(`no answer within ${timeout} ms`), timeout);
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
      socket.write(`CONNECT ${port}\n`);
    });
  }
}

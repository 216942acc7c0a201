/**
 * Accepting the guest's connections on a unix socket: both transports deliver a guest connection to
 * host port P at a unix socket of the machine's runtime directory (vhost-device-vsock itself, or a
 * socat bridge under kernel vsock), and the engine listens there.
 */
import { rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { VsockListener } from './vsock-transport.js';

/** Where a guest's connection to host port `port` arrives, given the transport's base path. */
export function listeningSocketPath(basePath: string, port: number): string {
  return `${basePath}_${port}`;
}

export async function listenOnUnixSocket(path: string, onConnection: (socket: Duplex) => void): Promise<VsockListener> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    onConnection(socket);
  });
  await rm(path, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    // Resolves once every connection's 'close' has been emitted, so that what its handlers make of
    // the data already received (a notify message not yet ended) is done when close() resolves.
    close: async () => {
      const closed = [...sockets].map((socket) => new Promise<void>((resolve) => socket.once('close', () => resolve())));
      for (const socket of sockets) socket.destroy();
      await Promise.all([...closed, new Promise<void>((resolve) => server.close(() => resolve()))]);
    },
  };
}

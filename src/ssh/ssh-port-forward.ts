/**
 * A host TCP port that reaches a guest TCP port through the machine's SSH connection: each
 * connection accepted on 127.0.0.1 becomes a `direct-tcpip` channel, which the guest's sshd
 * connects to the guest port. No guest network is involved, and sshd does not count these
 * channels against `MaxSessions`, so many connections can be open at once.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type ssh2 from 'ssh2';
import { InvalidOptionsError, type OptionProblem, VmspawnError } from '../errors.js';

export interface ForwardPortOptions {
  /**
   * Host port to listen on, on 127.0.0.1.
   * @default 0: a free port picked by the system
   */
  hostPort?: number;
  /**
   * Address the guest's sshd connects to, as the guest sees it.
   * @default '127.0.0.1'
   */
  guestHost?: string;
}

/** A listening forward; closed by {@link close} or when the machine stops. */
export interface GuestPortForward extends AsyncDisposable {
  /** The host port on 127.0.0.1 that reaches the guest port. */
  readonly port: number;
  /** The guest TCP port it reaches. */
  readonly guestPort: number;
  /** Stops listening and ends the connections still open. Safe to call more than once. */
  close(): Promise<void>;
}

export interface PortForwardDependencies {
  /** Opens a channel to `guestHost:guestPort` in the guest for one accepted connection. */
  openChannel: (guestHost: string, guestPort: number, origin: { address: string; port: number }) => Promise<ssh2.ClientChannel>;
  /** Where failed connections are reported (the machine log). */
  log: (message: string) => void;
  /** Machine name, for error messages. */
  machine: string;
}

/** Problems with `forwardPort`'s arguments, each naming the option. */
export function forwardPortProblems(guestPort: unknown, options: ForwardPortOptions): OptionProblem[] {
  const problems: OptionProblem[] = [];
  if (!isPort(guestPort, 1)) problems.push({ option: 'guestPort', message: `expected a TCP port from 1 to 65535, got ${String(guestPort)}` });
  if (options.hostPort !== undefined && !isPort(options.hostPort, 0)) {
    problems.push({ option: 'hostPort', message: `expected a TCP port from 0 (any free port) to 65535, got ${String(options.hostPort)}` });
  }
  if (options.guestHost !== undefined && (typeof options.guestHost !== 'string' || options.guestHost === '')) {
    problems.push({ option: 'guestHost', message: `expected a host name or address as the guest sees it, got ${JSON.stringify(options.guestHost)}` });
  }
  return problems;
}

/** Starts listening on 127.0.0.1 and forwards every connection to the guest port. */
export async function startPortForward(guestPort: number, options: ForwardPortOptions, dependencies: PortForwardDependencies): Promise<GuestPortForward> {
  const problems = forwardPortProblems(guestPort, options);
  if (problems.length > 0) throw new InvalidOptionsError(problems, 'forwardPort arguments');
  const guestHost = options.guestHost ?? '127.0.0.1';
  const sockets = new Set<Socket>();
  // Half-open: a client that ends its side (shutdown(SHUT_WR)) still gets the whole answer.
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    void forwardConnection(socket, guestHost, guestPort, dependencies);
  });
  const port = await listen(server, options.hostPort ?? 0, dependencies.machine, guestPort);
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
    return closing;
  };
  return { port, guestPort, close, [Symbol.asyncDispose]: close };
}

async function forwardConnection(socket: Socket, guestHost: string, guestPort: number, dependencies: PortForwardDependencies): Promise<void> {
  socket.pause();
  socket.on('error', () => undefined);
  let channel: ssh2.ClientChannel;
  try {
    channel = await dependencies.openChannel(guestHost, guestPort, { address: socket.remoteAddress ?? '127.0.0.1', port: socket.remotePort ?? 0 });
  } catch (error) {
    dependencies.log(`forwardPort: a connection to guest port ${guestPort} was refused: ${(error as Error).message}`);
    // A reset, as a refused connection would give, rather than an empty answer.
    socket.resetAndDestroy();
    return;
  }
  if (socket.destroyed) {
    channel.destroy();
    return;
  }
  channel.on('error', () => socket.destroy());
  // Ends rather than destroys: what the guest sent last may still wait to be written to the socket.
  channel.on('close', () => socket.end());
  socket.on('close', () => channel.destroy());
  socket.pipe(channel);
  channel.pipe(socket);
  socket.resume();
}

function listen(server: Server, hostPort: number, machine: string, guestPort: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const reason = error.code === 'EADDRINUSE' ? `host port ${hostPort} is in use; pass another hostPort, or none for a free one` : error.message;
      reject(new VmspawnError(`forwardPort(${guestPort}) of ${machine}: cannot listen on 127.0.0.1: ${reason}`, { cause: error }));
    });
    server.listen({ host: '127.0.0.1', port: hostPort }, () => {
      server.removeAllListeners('error');
      server.on('error', () => undefined);
      resolve((server.address() as { port: number }).port);
    });
  });
}

function isPort(value: unknown, lowest: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= lowest && value <= 65535;
}

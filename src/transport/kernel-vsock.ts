/**
 * Kernel vsock (QEMU's vhost-vsock-pci on /dev/vhost-vsock). Node cannot open AF_VSOCK sockets, so
 * socat carries the bytes, and everything else is what the user-space transport does:
 * - a guest connection to host port P: one `socat VSOCK-LISTEN:P,fork UNIX-CONNECT:<uds>_P` per
 *   listened port, a managed helper like the others (dies with the test, PID recorded), hands each
 *   connection to the unix socket `<uds>_P` the engine listens on (src/transport/unix-listener.ts);
 * - a connection to guest port P: one `socat - VSOCK-CONNECT:<cid>:P` per connection, whose stdin
 *   and stdout are the stream.
 * The socat addresses are a parameter so that the bridging can be exercised with unix sockets on a
 * host without kernel vsock.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { VmspawnError } from '../errors.js';
import { diesWithThisProcess, spawnManaged } from '../process/managed-process.js';
import { readTail } from '../util/read-tail.js';
import { listenOnUnixSocket, listeningSocketPath } from './unix-listener.js';
import type { ConnectOptions, VsockListener, VsockTransport } from './vsock-transport.js';

const DEFAULT_CONNECT_TIMEOUT = 10_000;
const LISTEN_READY_TIMEOUT_MS = 10_000;
/**
 * socat's `-t`: after one direction reached end-of-stream (a half-close), how long the other
 * direction may go on. socat's default, 0.5 s, would cut a reply that comes later than that; a
 * connection whose both directions ended makes socat exit at once, whatever this is.
 */
const HALF_CLOSED_SECONDS = 3600;

/** The two socat addresses of a transport: where guest connections come from, and how to reach a guest port. */
export interface SocatAddresses {
  /** The address accepting the guest's connections to host port `port` (it must accept several, e.g. with `fork`). */
  listen(port: number): string;
  /** The address that opens a connection to guest port `port`. */
  connect(port: number): string;
}

/** The addresses of kernel vsock; `guestCid` is read at each connection (a retried start changes it). */
export function vsockAddresses(guestCid: () => number): SocatAddresses {
  return {
    listen: (port) => `VSOCK-LISTEN:${port},fork`,
    connect: (port) => `VSOCK-CONNECT:${guestCid()}:${port}`,
  };
}

export interface SocatBridgeSetup {
  /** Path of socat. */
  socat: string;
  /** Base path of the unix sockets the guest's connections are handed to (`<udsPath>_P`). */
  udsPath: string;
  addresses: SocatAddresses;
  /** The listening socats' output (an artifact). */
  logFile: string;
  /** Where the listening socats' PIDs are recorded, for reaping after a crash. */
  pidFile: string;
}

export class KernelVsock implements VsockTransport {
  readonly description = 'kernel vsock (vhost-vsock-pci, bridged by socat)';
  // socat passes a half-close on in both directions: on end-of-stream from one side it shuts down
  // the write part of the other (shutdown(SHUT_WR) on a socket, closing the pipe for stdio) and
  // keeps copying the other direction for HALF_CLOSED_SECONDS. The kernel's vsock sockets deliver
  // shutdown(SHUT_WR) as end-of-stream, and so do the unix sockets and pipes on the host side.
  readonly deliversHalfClose = true;

  constructor(private readonly setup: SocatBridgeSetup) {}

  async listen(port: number, onConnection: (socket: Duplex) => void): Promise<VsockListener> {
    const { socat, udsPath, addresses, logFile, pidFile } = this.setup;
    const path = listeningSocketPath(udsPath, port);
    const unix = await listenOnUnixSocket(path, onConnection);
    try {
      const args = socatArguments(addresses.listen(port), `UNIX-CONNECT:${socatPath(path)}`);
      const bridge = await spawnManaged(`socat-listen-${port}`, socat, args, { logFile, pidFile });
      await waitUntilListening(bridge.pid, logFile, () => !bridge.hasExited);
      return {
        close: async () => {
          await bridge.terminate(1_000);
          await unix.close();
        },
      };
    } catch (error) {
      await unix.close();
      throw error;
    }
  }

  async connect(port: number, options: ConnectOptions = {}): Promise<Duplex> {
    const timeout = options.timeout ?? DEFAULT_CONNECT_TIMEOUT;
    options.signal?.throwIfAborted();
    const [file, argv] = await diesWithThisProcess(this.setup.socat, socatArguments('-', this.setup.addresses.connect(port)));
    const child = spawn(file, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    return new Promise<Duplex>((resolve, reject) => {
      let diagnostics = '';
      const fail = (message: string) => {
        cleanup();
        child.kill('SIGKILL');
        reject(new VmspawnError(`Cannot connect to guest vsock port ${port}: ${message}`));
      };
      // socat says it has both ends open before it copies a byte ("starting data transfer loop").
      const onDiagnostics = (chunk: Buffer) => {
        diagnostics += chunk.toString();
        if (!/ N starting data transfer loop/.test(diagnostics)) return;
        cleanup();
        child.stderr.resume();
        const stream = Duplex.from({ readable: child.stdout, writable: child.stdin });
        stream.once('close', () => child.kill('SIGKILL'));
        resolve(stream);
      };
      // 'close', not 'exit': socat's last words on stderr are read by then.
      const onExit = () => fail(socatErrors(diagnostics) || 'socat exited (nothing listens on that port yet?)');
      const onError = (error: Error) => fail(error.message);
      const onAbort = () => fail('aborted');
      const timer = setTimeout(() => fail(`no answer within ${timeout} ms`), timeout);
      const cleanup = () => {
        clearTimeout(timer);
        child.stderr.off('data', onDiagnostics);
        child.off('close', onExit);
        child.off('error', onError);
        options.signal?.removeEventListener('abort', onAbort);
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      child.stderr.on('data', onDiagnostics);
      child.once('close', onExit);
      child.once('error', onError);
    });
  }
}

/** socat's command line: notices on (`-d -d`: what it listens on, connects and copies), a half-close passed on. */
export function socatArguments(first: string, second: string): string[] {
  return ['-d', '-d', `-t${HALF_CLOSED_SECONDS}`, first, second];
}

/** A path inside a socat address; the runtime directory's paths never hold the characters socat parses. */
function socatPath(path: string): string {
  if (/[,:!\s"'\\]/.test(path)) throw new VmspawnError(`Cannot hand the path "${path}" to socat: it holds a character socat would parse. Set XDG_RUNTIME_DIR or TMPDIR to a plainer directory.`);
  return path;
}

/** The error lines of socat's output (` E …`; of socat `pid` only, when given), without the date and PID. */
export function socatErrors(output: string, pid?: number): string {
  return output
    .split('\n')
    .filter((line) => / E /.test(line) && (pid === undefined || line.includes(`socat[${pid}] `)))
    .map((line) => line.replace(/^.*? E /, ''))
    .join('; ');
}

/** Whether socat `pid` said it is listening, in `output` (its `-d -d` notices: `… socat[PID] N listening on …`). */
export function socatIsListening(output: string, pid: number): boolean {
  return output.includes(`socat[${pid}] N listening on`);
}

async function waitUntilListening(pid: number, logFile: string, isAlive: () => boolean): Promise<void> {
  const deadline = Date.now() + LISTEN_READY_TIMEOUT_MS;
  // Polled: socat writes its notices to the log file, and the guest must not connect before it listens.
  while (Date.now() < deadline && isAlive()) {
    if (socatIsListening(await readFile(logFile, 'utf8').catch(() => ''), pid)) return;
    await sleep(10);
  }
  if (socatIsListening(await readFile(logFile, 'utf8').catch(() => ''), pid)) return;
  const output = socatErrors(await readTail(logFile, 50), pid);
  throw new VmspawnError(`socat (PID ${pid}) did not start listening for the guest${isAlive() ? ' in time' : ' and exited'}${output ? `: ${output}` : ''}.`);
}

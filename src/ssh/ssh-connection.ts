/**
 * One authenticated SSH connection over a vsock stream, pinned to the machine's host key. It counts
 * its open channels, so that the session can stay within what the guest's sshd allows at once
 * (OpenSSH's `MaxSessions`, 10 by default).
 */
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import { VmspawnError } from '../errors.js';
import type { MachineSshKeys } from './keys.js';

/** What OpenSSH's sshd allows by default (`MaxSessions 10`); lowered when a server refuses earlier. */
export const DEFAULT_CHANNELS_PER_CONNECTION = 10;

export interface SshConnectionOptions {
  keys: MachineSshKeys;
  /** Handshake deadline in milliseconds. */
  timeout: number;
}

/** The guest's sshd presented another host key than the one the engine installed. */
export class HostKeyMismatchError extends VmspawnError {
  override name = 'HostKeyMismatchError';
}

/** The guest's sshd refused the engine's client key. */
export class AuthenticationRefusedError extends VmspawnError {
  override name = 'AuthenticationRefusedError';
}

/** The server refused to open one more channel on this connection. */
export class ChannelRefusedError extends VmspawnError {
  override name = 'ChannelRefusedError';
}

export class SshConnection {
  /** Channels open now, or reserved by a command about to open one. */
  channels = 0;
  /** How many channels the server accepts at once on this connection. */
  capacity = DEFAULT_CHANNELS_PER_CONNECTION;
  #closed = false;
  #closedOnPurpose = false;
  readonly #closeListeners = new Set<(unexpected: boolean) => void>();

  private constructor(private readonly client: ssh2.Client) {
    client.on('error', () => undefined);
    client.once('close', () => {
      this.#closed = true;
      for (const listener of this.#closeListeners) listener(!this.#closedOnPurpose);
    });
  }

  /** Runs the SSH handshake over `stream`, accepting only the pinned host key. */
  static open(stream: Duplex, options: SshConnectionOptions): Promise<SshConnection> {
    const client = new ssh2.Client();
    return new Promise<SshConnection>((resolve, reject) => {
      let hostKeyMismatch = false;
      let settled = false;
      // ssh2 can report more than one error for one failed handshake (a timeout, then the lost
      // connection): the listener stays, so that the later ones are not unhandled 'error' events.
      const onError = (error: Error) => {
        if (settled) return;
        settled = true;
        client.end();
        stream.destroy();
        const refused = (error as Error & { level?: string }).level === 'client-authentication';
        reject(
          hostKeyMismatch
            ? new HostKeyMismatchError('The guest presented an SSH host key other than the one the engine installed (tmpfiles.extra credential); refusing to connect.')
            : refused
              ? new AuthenticationRefusedError(`The guest's sshd refused the engine's key: ${error.message}`, { cause: error })
              : new VmspawnError(`SSH handshake with the guest failed: ${error.message}`, { cause: error }),
        );
      };
      client.once('ready', () => {
        if (settled) return;
        settled = true;
        client.off('error', onError);
        resolve(new SshConnection(client));
      });
      client.on('error', onError);
      client.connect({
        sock: stream as never,
        username: 'root',
        privateKey: options.keys.clientPrivateKey,
        readyTimeout: options.timeout,
        algorithms: { serverHostKey: ['ssh-ed25519'] },
        hostVerifier: (key: Buffer) => {
          hostKeyMismatch = !key.equals(options.keys.hostPublicKeyBlob);
          return !hostKeyMismatch;
        },
      });
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Whether the connection ended without {@link close} being called. */
  get lost(): boolean {
    return this.#closed && !this.#closedOnPurpose;
  }

  /** Calls `listener` once the connection has closed; `unexpected` is true unless {@link close} closed it. */
  onClose(listener: (unexpected: boolean) => void): () => void {
    if (this.#closed) {
      listener(!this.#closedOnPurpose);
      return () => undefined;
    }
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  /** Opens a session channel running `command`; rejects with {@link ChannelRefusedError} when the server is full. */
  exec(command: string): Promise<ssh2.ClientChannel> {
    return new Promise((resolve, reject) => {
      this.client.exec(command, (error, channel) => (error ? reject(refusedOr(error)) : resolve(channel)));
    });
  }

  /**
   * Opens an SFTP session (a session channel running sshd's sftp subsystem); rejects with
   * {@link ChannelRefusedError} when the server is full. Its `close()` resolves once the server has
   * closed the channel, so that the channel is free again for the next command.
   */
  sftp(): Promise<{ sftp: ssh2.SFTPWrapper; close: () => Promise<void> }> {
    return new Promise((resolve, reject) => {
      this.client.sftp((error, sftp) => {
        if (error && /subsystem/i.test(error.message)) {
          return reject(new VmspawnError(`The guest's sshd offers no SFTP (${error.message}): install sshd's sftp-server in the image (Debian: openssh-sftp-server).`, { cause: error }));
        }
        if (error) return reject(refusedOr(error));
        let closed = false;
        sftp.once('close', () => (closed = true));
        const close = () =>
          new Promise<void>((done) => {
            if (closed || this.#closed) return done();
            const stopWatching = this.onClose(() => done());
            sftp.once('close', () => {
              stopWatching();
              done();
            });
            sftp.end();
          });
        resolve({ sftp, close });
      });
    });
  }

  /**
   * Opens a `direct-tcpip` channel to `host:port` as the guest sees it (sshd connects there). sshd
   * does not count these channels against `MaxSessions`. `origin` is the host-side peer, for the guest's logs.
   */
  forwardOut(host: string, port: number, origin: { address: string; port: number }): Promise<ssh2.ClientChannel> {
    return new Promise((resolve, reject) => {
      this.client.forwardOut(origin.address, origin.port, host, port, (error, channel) => (error ? reject(error) : resolve(channel)));
    });
  }

  /**
   * Resolves once the server has read everything sent so far (or the connection is gone): the reply
   * to a request sent now comes after it. A command's session slot on the server (`MaxSessions`) is
   * free only once the server has read the client's close of its channel; a new channel opened
   * before that is refused, and OpenSSH logs "error: no more sessions".
   */
  caughtUp(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const stopWaiting = this.onClose(() => resolve());
      const done = () => {
        stopWaiting();
        resolve();
      };
      try {
        // Any global request with a reply will do. Cancelling a forwarding that was never asked for
        // changes nothing, and OpenSSH logs it at debug level only.
        this.client.unforwardIn('vmspawn.invalid', 0, done);
      } catch {
        done();
      }
    });
  }

  close(): void {
    this.#closedOnPurpose = true;
    this.client.end();
  }
}

/** A {@link ChannelRefusedError} when the server refused to open a channel, else `error` itself. */
function refusedOr(error: Error): Error {
  // ssh2 reports a refused channel as "(SSH) Channel open failure: …" with the protocol's reason code.
  if ('reason' in error || /channel open failure/i.test(error.message)) {
    return new ChannelRefusedError(`The guest's sshd refused a new channel: ${error.message}`, { cause: error });
  }
  return error;
}

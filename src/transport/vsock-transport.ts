/**
 * What the engine needs from a vsock implementation: accept the guest's connections to host ports,
 * and open connections to guest ports. The user-space transport (vhost-device-vsock) is the one
 * implemented; kernel AF_VSOCK and a no-vsock fallback (SSH over user-mode networking) fit here.
 */
import type { Duplex } from 'node:stream';

export interface VsockListener {
  /** Stops accepting connections and closes the ones still open. */
  close(): Promise<void>;
}

export interface ConnectOptions {
  /**
   * How long to wait for the guest to accept, in milliseconds.
   * @default 10000
   */
  timeout?: number;
  signal?: AbortSignal;
}

export interface VsockTransport {
  /** Short description for logs, e.g. "user-space vsock (vhost-device-vsock)". */
  readonly description: string;
  /**
   * Whether a guest's half-close (shutdown(SHUT_WR)) reaches the host as end-of-stream. When it does
   * not, message-per-connection protocols such as sd_notify must end a message after a short silence.
   */
  readonly deliversHalfClose: boolean;
  /** Accepts the connections the guest opens to host (CID 2) port `port`. */
  listen(port: number, onConnection: (socket: Duplex) => void): Promise<VsockListener>;
  /** Opens a stream to guest port `port`. */
  connect(port: number, options?: ConnectOptions): Promise<Duplex>;
}

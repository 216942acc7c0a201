/**
 * A small client of QEMU's machine protocol (QMP): JSON objects, one per line, over a unix socket.
 * Used for power-down, quit and status now; snapshots and device hot-plug build on it later.
 */
import { createConnection, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { VmspawnError } from '../errors.js';

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  command: string;
}

export class QmpClient {
  #buffer = '';
  #nextId = 1;
  readonly #pending = new Map<string, Pending>();
  readonly #eventListeners = new Set<(event: QmpEvent) => void>();
  #closed = false;
  #onGreeting: (() => void) | undefined;
  /** Settles with QEMU's greeting, the first line on the socket. */
  readonly #greeted: Promise<void>;

  private constructor(private readonly socket: Socket) {
    this.#greeted = new Promise<void>((resolve, reject) => {
      this.#onGreeting = resolve;
      socket.once('close', () => reject(new Error('closed before the QMP greeting')));
    });
    this.#greeted.catch(() => undefined);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.#onData(chunk));
    socket.on('close', () => this.#onClose());
    socket.on('error', () => socket.destroy());
  }

  /**
   * Connects once QEMU created the socket (it is polled until `deadline`), reads the greeting and
   * leaves capabilities negotiation mode. `isAlive` stops the polling when QEMU died meanwhile.
   */
  static async connect(path: string, deadline: number, isAlive: () => boolean): Promise<QmpClient> {
    let lastError: Error | undefined;
    while (Date.now() < deadline && isAlive()) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const candidate = createConnection(path, () => resolve(candidate));
          candidate.once('error', reject);
        });
        const client = new QmpClient(socket);
        await client.#greeted;
        await client.execute('qmp_capabilities');
        return client;
      } catch (error) {
        lastError = error as Error;
        await sleep(20);
      }
    }
    throw new VmspawnError(`Cannot reach QEMU's control socket ${path}: ${lastError?.message ?? 'QEMU exited'}`);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Runs a QMP command and resolves with its `return` value. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.#closed) return Promise.reject(new VmspawnError(`QMP ${command}: QEMU's control socket is closed`));
    const id = String(this.#nextId++);
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject, command });
      this.socket.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id })}\n`);
    });
  }

  /** Calls `listener` for each asynchronous QMP event (SHUTDOWN, POWERDOWN, …). */
  onEvent(listener: (event: QmpEvent) => void): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  close(): void {
    this.socket.destroy();
  }

  #onData(chunk: string): void {
    this.#buffer += chunk;
    let newline: number;
    while ((newline = this.#buffer.indexOf('\n')) >= 0) {
      const line = this.#buffer.slice(0, newline).trim();
      this.#buffer = this.#buffer.slice(newline + 1);
      if (line) this.#onMessage(JSON.parse(line) as Record<string, unknown>);
    }
  }

  #onMessage(message: Record<string, unknown>): void {
    if ('QMP' in message) {
      this.#onGreeting?.();
      return;
    }
    if ('event' in message) {
      for (const listener of this.#eventListeners) listener(message as unknown as QmpEvent);
      return;
    }
    const pending = this.#pending.get(String(message.id));
    if (!pending) return;
    this.#pending.delete(String(message.id));
    if ('error' in message) {
      const error = message.error as { class?: string; desc?: string };
      pending.reject(new VmspawnError(`QMP ${pending.command} failed: ${error.desc ?? error.class ?? 'unknown error'}`));
    } else {
      pending.resolve(message.return);
    }
  }

  #onClose(): void {
    this.#closed = true;
    for (const pending of this.#pending.values()) {
      // `quit` is answered by QEMU closing the socket.
      if (pending.command === 'quit') pending.resolve(undefined);
      else pending.reject(new VmspawnError(`QMP ${pending.command}: QEMU closed its control socket`));
    }
    this.#pending.clear();
  }
}

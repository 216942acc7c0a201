/**
 * Tells when the guest's control NIC is up, at no cost to the guest. QEMU's user-mode network
 * accepts every connection to a host forward at once and only then sends the guest a SYN; while the
 * guest's NIC is not configured, that SYN goes unanswered and QEMU keeps it, resending it later.
 * Through a forward to a guest port where nothing listens, the guest's kernel resets the connection
 * the moment the NIC is up, and QEMU closes the host end: that close is the answer.
 *
 * Probing SSH itself would cost the guest: every SYN that QEMU kept is delivered once the NIC comes
 * up, and each one starts an sshd (socket-activated, a second of CPU under TCG), even for a
 * connection the host gave up on long before. A measured boot started 20 of them.
 */
import { createConnection, type Socket } from 'node:net';

/** A new probe connection every second while none has answered: a fresh SYN finds a NIC that came up meanwhile. */
const PROBE_INTERVAL_MS = 1_000;

export interface ProbeAddress {
  hostAddress: string;
  host: number;
}

export interface NicProbeOptions {
  /** Milliseconds between probe connections while none answered. */
  intervalMs?: number | undefined;
  /** Hears each answer, with how long the probing took. */
  onAnswered?: ((probingMs: number) => void) | undefined;
}

export class NicProbe {
  #answered = false;
  #unansweredSince: number | undefined;
  /** The waits of the probing under way, woken when the NIC answers; probing stops when none is left. */
  readonly #waiters = new Set<() => void>();
  #stopProbing: (() => void) | undefined;

  constructor(
    private readonly address: ProbeAddress,
    private readonly options: NicProbeOptions = {},
  ) {}

  /** Whether the NIC answered since it was last {@link forget forgotten}. */
  get answered(): boolean {
    return this.#answered;
  }

  /** Milliseconds since the first probe that is still without an answer (0 once answered). */
  get unansweredFor(): number {
    return this.#unansweredSince === undefined ? 0 : Date.now() - this.#unansweredSince;
  }

  /** The NIC may be down again (a connection to the guest got no answer at all): the next wait probes afresh. */
  forget(): void {
    this.#answered = false;
    this.#unansweredSince = undefined;
  }

  /**
   * Resolves once the NIC answers, at once when it answered before. Concurrent waits share one
   * probing, which stops when the last of them is aborted; rejects only when `signal` aborts.
   */
  waitForAnswer(signal: AbortSignal): Promise<void> {
    if (this.#answered) return Promise.resolve();
    signal.throwIfAborted();
    return new Promise<void>((resolve, reject) => {
      const wake = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        this.#waiters.delete(wake);
        if (this.#waiters.size === 0) this.#stop();
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(wake);
      this.#stopProbing ??= this.#probe();
    });
  }

  #stop(): void {
    this.#stopProbing?.();
    this.#stopProbing = undefined;
  }

  /** Opens a probe connection every interval until the guest closes or answers one; returns what stops it. */
  #probe(): () => void {
    this.#unansweredSince ??= Date.now();
    const pending = new Set<Socket>();
    const stop = () => {
      clearInterval(next);
      for (const socket of pending) socket.destroy();
      pending.clear();
    };
    const answered = () => {
      this.#stop();
      const probingMs = this.unansweredFor;
      this.#answered = true;
      this.#unansweredSince = undefined;
      this.options.onAnswered?.(probingMs);
      for (const wake of this.#waiters) wake();
      this.#waiters.clear();
    };
    const probe = () => {
      const socket = createConnection({ host: this.address.hostAddress, port: this.address.host });
      pending.add(socket);
      socket.once('data', answered);
      socket.once('end', answered);
      socket.once('error', answered);
    };
    const next = setInterval(probe, this.options.intervalMs ?? PROBE_INTERVAL_MS);
    probe();
    return stop;
  }
}

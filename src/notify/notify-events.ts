/**
 * The guest's notify messages as a stream on the machine handle, with the state they imply
 * (ready, active units, status text, exit status).
 */
import { EventLog, type WaitOptions } from '../util/event-log.js';
import { activatedUnitOf, deactivatedUnitOf, exitStatusOf, isReady, type NotifyMessage } from './notify-message.js';

export class NotifyEvents {
  readonly #log = new EventLog<NotifyMessage>();
  readonly #activeUnits = new Set<string>();
  #unavailable: string | undefined;

  /**
   * Why no notify messages can arrive at all (`'unavailable: no vsock'` on a machine with
   * `vsock: false`), or undefined when they can. Waits on notify messages then fail at once, saying so.
   */
  get unavailable(): string | undefined {
    return this.#unavailable;
  }

  /** Every message so far, oldest first. */
  get messages(): readonly NotifyMessage[] {
    return this.#log.events;
  }

  /** Whether `READY=1` arrived. */
  get ready(): boolean {
    return this.#log.events.some(isReady);
  }

  /** The last `STATUS=` text. */
  get status(): string | undefined {
    return this.#log.events.findLast((message) => message.fields.STATUS !== undefined)?.fields.STATUS;
  }

  /** The guest's `EXIT_STATUS=`, once it sent one (at shutdown). */
  get exitStatus(): number | undefined {
    const message = this.#log.events.findLast((candidate) => exitStatusOf(candidate) !== undefined);
    return message && exitStatusOf(message);
  }

  /** Units (mostly targets) the guest reported active and not inactive since. */
  get activeUnits(): ReadonlySet<string> {
    return this.#activeUnits;
  }

  /** Calls `listener` for every message from now on; returns a function that unsubscribes. */
  subscribe(listener: (message: NotifyMessage) => void): () => void {
    return this.#log.subscribe(listener);
  }

  /** Resolves with the first message (past or future) that matches. */
  waitFor(matches: (message: NotifyMessage) => boolean, options?: WaitOptions & { description?: string }): Promise<NotifyMessage> {
    return this.#log.waitFor(matches, () => options?.description ?? 'a notify message', options);
  }

  /** Resolves when the guest reported `unit` active (e.g. `ssh-access.target`). */
  waitForUnit(unit: string, options?: WaitOptions): Promise<NotifyMessage> {
    return this.#log.waitFor((message) => activatedUnitOf(message) === unit, () => `X_SYSTEMD_UNIT_ACTIVE=${unit}`, options);
  }

  /** Resolves on `READY=1`. */
  waitForReady(options?: WaitOptions): Promise<NotifyMessage> {
    return this.#log.waitFor(isReady, () => 'READY=1', options);
  }

  /** @internal Adds a received message. */
  push(message: NotifyMessage): void {
    const activated = activatedUnitOf(message);
    if (activated) this.#activeUnits.add(activated);
    const deactivated = deactivatedUnitOf(message);
    if (deactivated) this.#activeUnits.delete(deactivated);
    this.#log.push(message);
  }

  /** @internal No message can ever come (no vsock): waits fail at once with `reason`. */
  markUnavailable(reason: string): void {
    this.#unavailable = reason;
    this.#log.end(reason);
  }

  /** @internal No more messages will come. */
  end(reason: string): void {
    this.#log.end(reason);
  }
}

/**
 * Watches a boot for signs that it went wrong (see boot-signs.ts): follows console.log and
 * firmware.log as QEMU writes them and reads every notify message. The first sign is kept for the
 * boot error's headline and rejects {@link BootWatch.fatal} at once.
 */
import type { NotifyEvents } from '../notify/notify-events.js';
import type { MachineLayout } from '../plan/machine-layout.js';
import { followFile, type FileFollower } from '../util/follow-file.js';
import { consoleSign, firmwareSign, notifySign, type BootSign } from './boot-signs.js';

export class BootSignError extends Error {
  constructor(readonly sign: BootSign) {
    super(sign.headline);
  }
}

export class BootWatch {
  #sign: BootSign | undefined;
  #onFatal: ((error: BootSignError) => void) | undefined;
  readonly #followers: FileFollower[];
  readonly #unsubscribe: () => void;
  /** Rejects with a {@link BootSignError} on the first sign; never resolves. */
  readonly fatal: Promise<never>;

  constructor(layout: MachineLayout, notify: NotifyEvents) {
    this.fatal = new Promise<never>((_, reject) => {
      this.#onFatal = reject;
    });
    this.fatal.catch(() => undefined);
    const seen = (sign: BootSign | undefined) => {
      if (!sign || this.#sign) return;
      this.#sign = sign;
      this.#onFatal?.(new BootSignError(sign));
    };
    this.#followers = [
      followFile(layout.consoleLog, (lines) => seen(consoleSign(lines.join('\n')))),
      followFile(layout.firmwareLog, (lines) => seen(firmwareSign(lines.join('\n')))),
    ];
    for (const message of notify.messages) seen(notifySign(message));
    this.#unsubscribe = notify.subscribe((message) => seen(notifySign(message)));
  }

  /** The first sign seen so far. */
  get sign(): BootSign | undefined {
    return this.#sign;
  }

  /** Reads what the logs hold by now and stops watching. */
  async stop(): Promise<BootSign | undefined> {
    this.#unsubscribe();
    await Promise.all(this.#followers.map((follower) => follower.stop()));
    return this.#sign;
  }
}

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
    // A sign may span lines that arrive in different polls (OVMF's failed boot options, then its
    // shell): each log is read for signs over its recent lines, not only the newest ones.
    this.#followers = [
      followFile(layout.consoleLog, recentLines((text) => seen(consoleSign(text)))),
      followFile(layout.firmwareLog, recentLines((text) => seen(firmwareSign(text)))),
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

/** How many of a log's latest lines are read together for a sign. */
const SIGN_WINDOW_LINES = 200;

/** Hands `read` the latest lines of a log, each time new ones arrive. */
function recentLines(read: (text: string) => void): (lines: string[]) => void {
  let window: string[] = [];
  return (lines) => {
    window = [...window, ...lines].slice(-SIGN_WINDOW_LINES);
    read(window.join('\n'));
  };
}

/**
 * A boot's progress as stages, each reported once, in order, with the time since QEMU started:
 * QEMU started, the kernel (its first console line), the initrd or init running, basic.target,
 * READY=1, SSH answering. Stages come from the console (kernel lines) and notify messages; a
 * stage seen late (the console is read every 250 ms) never goes back before a later one.
 */
import type { NotifyEvents } from '../notify/notify-events.js';
import { activatedUnitOf, isReady, type NotifyMessage } from '../notify/notify-message.js';
import { followFile, type FileFollower } from '../util/follow-file.js';

export const BOOT_STAGES = ['qemu', 'kernel', 'init', 'basic', 'ready', 'ssh'] as const;
export type BootStageName = (typeof BOOT_STAGES)[number];

export interface BootStage {
  stage: BootStageName;
  /** For people: "kernel started", "basic.target reached", … */
  label: string;
  /** Milliseconds since QEMU started. */
  afterMs: number;
}

export const BOOT_STAGE_LABELS: Record<BootStageName, string> = {
  qemu: 'QEMU started',
  kernel: 'kernel started',
  init: 'initrd/init running',
  basic: 'basic.target reached',
  ready: 'ready (READY=1)',
  ssh: 'SSH answered',
};

/** The stage a console line shows, if any. */
export function consoleStage(line: string): BootStageName | undefined {
  if (/Linux version \d/.test(line)) return 'kernel';
  if (/Run \S+ as init process|Running in initrd|systemd\[1\]: systemd \d|systemd \d+[^\n]* running in system mode/.test(line)) return 'init';
  return undefined;
}

/** The stage a notify message shows, if any. */
export function notifyStage(message: NotifyMessage): BootStageName | undefined {
  if (isReady(message)) return 'ready';
  return activatedUnitOf(message) === 'basic.target' ? 'basic' : undefined;
}

/** Reports stages as they happen; `report` gets each stage once, never one before a stage already reported. */
export class BootProgress {
  #reached = -1;
  #follower: FileFollower | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(private readonly report: (stage: BootStage) => void, private readonly sinceQemuStart: () => number) {}

  /** Starts following the console and the notify messages (QEMU has just started). */
  follow(consoleLog: string, notify: NotifyEvents): void {
    this.reach('qemu');
    this.#follower = followFile(consoleLog, (lines) => {
      for (const line of lines) {
        const stage = consoleStage(line);
        if (stage) this.reach(stage);
      }
    });
    for (const message of notify.messages) this.#onNotify(message);
    this.#unsubscribe = notify.subscribe((message) => this.#onNotify(message));
  }

  /** Reports `stage` unless it or a later one was reported already. */
  reach(stage: BootStageName): void {
    const index = BOOT_STAGES.indexOf(stage);
    if (index <= this.#reached) return;
    this.#reached = index;
    try {
      this.report({ stage, label: BOOT_STAGE_LABELS[stage], afterMs: this.sinceQemuStart() });
    } catch {
      // A broken progress listener must not break the boot.
    }
  }

  async stop(): Promise<void> {
    this.#unsubscribe?.();
    await this.#follower?.stop();
  }

  #onNotify(message: NotifyMessage): void {
    const stage = notifyStage(message);
    if (stage) this.reach(stage);
  }
}

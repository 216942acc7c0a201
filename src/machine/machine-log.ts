/**
 * The machine's own log (vmspawn.log in the artifacts): what the engine decided and did, with
 * timestamps relative to the start. Decisions that matter to every user (accelerator, vsock
 * transport) are also printed once per process to stderr.
 */
import { appendFileSync } from 'node:fs';

const announced = new Set<string>();

/**
 * What an announcement decides (`accelerator: KVM`, `vsock: user-space`), without the details that
 * vary between processes (a probe's duration): one line per decision is enough.
 */
export function announcementKey(message: string): string {
  return message.split(/ \(|,|;/)[0]!;
}

/** Decisions already printed for this run (by the vitest plugin, once in the main process). */
export function markAnnounced(messages: Iterable<string>): void {
  for (const message of messages) announced.add(announcementKey(message));
}

export class MachineLog {
  readonly #started = performance.now();
  readonly lines: string[] = [];

  constructor(
    private readonly name: string,
    private file: string | undefined = undefined,
  ) {}

  /** Milliseconds since this log was created. */
  elapsed(): number {
    return performance.now() - this.#started;
  }

  /** Starts writing to `file`, including the lines logged so far. */
  attach(file: string): void {
    this.file = file;
    appendFileSync(file, this.lines.join(''), { mode: 0o644 });
  }

  info(message: string): void {
    const line = `${(this.elapsed() / 1000).toFixed(3).padStart(8)}s ${message}\n`;
    this.lines.push(line);
    if (this.file) appendFileSync(this.file, line);
    if (process.env.VMSPAWN_DEBUG) process.stderr.write(`[${this.name}] ${line}`);
  }

  /** Logs `message`, and prints it to stderr the first time this process sees it. */
  announce(message: string): void {
    this.info(message);
    const key = announcementKey(message);
    if (announced.has(key)) return;
    announced.add(key);
    process.stderr.write(`vitest-vmspawn: ${message}\n`);
  }
}

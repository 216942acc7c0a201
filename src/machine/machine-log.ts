/**
 * The machine's own log (vmspawn.log in the artifacts): what the engine decided and did, with
 * timestamps relative to the start. Decisions that matter to every user (accelerator, vsock
 * transport) are also printed once per process to stderr.
 */
import { appendFileSync } from 'node:fs';

const announced = new Set<string>();

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
    if (announced.has(message)) return;
    announced.add(message);
    process.stderr.write(`vitest-vmspawn: ${message}\n`);
  }
}

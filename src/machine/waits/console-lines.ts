/**
 * The serial console log read as lines while QEMU writes it: new bytes since the last read, split
 * into complete lines plus the line still being written, with carriage returns and terminal colour
 * codes removed, so a pattern sees the text a person would.
 */
import { statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';

/** CSI sequences (colours, cursor moves) and the carriage returns of the serial line. */
const TERMINAL_NOISE = /\x1b\[[0-9;?]*[ -/]*[@-~]|\r/g;

export function cleanConsoleText(text: string): string {
  return text.replace(TERMINAL_NOISE, '');
}

/** Whether `line` contains `pattern` (a string) or matches it (a RegExp, whatever its flags). */
export function matchesLine(line: string, pattern: string | RegExp): boolean {
  if (typeof pattern === 'string') return line.includes(pattern);
  pattern.lastIndex = 0;
  return pattern.test(line);
}

export class ConsoleLines {
  #offset: number;
  #partial = '';
  readonly #decoder = new StringDecoder('utf8');

  /** Reads `path` from its start, or from its current end with `fromEnd`. */
  constructor(
    readonly path: string,
    fromEnd: boolean,
  ) {
    this.#offset = fromEnd ? fileSize(path) : 0;
  }

  /** The line being written (no line end yet), cleaned. */
  get partial(): string {
    return cleanConsoleText(this.#partial);
  }

  /** The complete lines written since the last read, cleaned; the unfinished one stays in {@link partial}. */
  async readNew(): Promise<string[]> {
    const file = await open(this.path, 'r').catch(() => undefined);
    if (!file) return [];
    try {
      const { size } = await file.stat();
      if (size <= this.#offset) return [];
      const buffer = Buffer.alloc(size - this.#offset);
      const { bytesRead } = await file.read(buffer, 0, buffer.length, this.#offset);
      this.#offset += bytesRead;
      const lines = (this.#partial + this.#decoder.write(buffer.subarray(0, bytesRead))).split('\n');
      this.#partial = lines.pop() ?? '';
      return lines.map(cleanConsoleText);
    } finally {
      await file.close();
    }
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

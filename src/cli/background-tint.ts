/**
 * `--background=COLOR`: the terminal's background tinted while it shows the guest's console, as
 * systemd-vmspawn does. The console output is rewritten on its way to the terminal: the colour is set
 * at the start, after every line break and in every SGR sequence that resets the background, and each
 * new line is erased with it, so the whole screen area the console uses carries the tint. Pure: bytes
 * in, bytes out; the state carries over between chunks, so a sequence split across two reads is seen.
 */
import { Transform } from 'node:stream';
import { UsageError } from './usage-error.js';

const ESC = 0x1b;
/** SGR parameters only (digits and semicolons): nothing else can reach the terminal through the flag. */
const SGR_PARAMETERS = /^\d+(;\d+)*$/;
/** Longest CSI sequence examined; a longer one is passed on unchanged (as systemd bounds it). */
const MAX_SEQUENCE = 64;

/** `--background`'s value: an SGR background colour, or '' for none. Throws a UsageError naming the flag. */
export function parseBackgroundColor(flag: string, value: string): string {
  if (value === '' || SGR_PARAMETERS.test(value)) return value;
  throw new UsageError(
    `${flag}=${value}: expected an ANSI SGR background colour such as 41, 48;5;22 or 48;2;0;64;0, or nothing (--background=) for no colouring.`,
  );
}

/** Whether an SGR sequence's parameters (`0`, `1;49`, `48;5;0`, …) leave the background at the terminal's default. */
export function resetsBackground(parameters: string): boolean {
  let resets = false;
  // After 38/48/58 an 8-bit (5;N) or 24-bit (2;R;G;B) colour follows, whose numbers are not attributes.
  let colourNumbersLeft = 0;
  let expectColourKind = false;
  for (const token of parameters.split(';')) {
    if (expectColourKind) {
      expectColourKind = false;
      colourNumbersLeft = token === '5' || token === '05' ? 1 : token === '2' || token === '02' ? 3 : 0;
      continue;
    }
    if (colourNumbersLeft > 0) {
      colourNumbersLeft--;
      continue;
    }
    if (['', '0', '00', '49'].includes(token)) resets = true;
    else if (/^(4[0-8]|10[0-7])$/.test(token)) resets = false;
    if (token === '38' || token === '48' || token === '58') expectColourKind = true;
  }
  return resets;
}

type State = 'text' | 'escape' | 'csi' | 'osc' | 'newline' | 'carriage-return';

/** Rewrites console output so the terminal's background shows `color` (an SGR parameter string such as `41`). */
export class BackgroundTinter {
  private state: State = 'text';
  /** The parameters of the CSI sequence being read; undefined once it is too long to examine. */
  private sequence: string | undefined = '';

  constructor(private readonly color: string) {}

  /** What goes to the terminal first: the colour, and the first line erased with it. */
  begin(): string {
    return `${this.setColor()}\x1b[K`;
  }

  /** What goes to the terminal last: attributes reset, the rest of the screen erased to its own colour. */
  end(): string {
    return '\x1b[0m\x1b[J';
  }

  /** `chunk` as the terminal should get it. */
  write(chunk: Uint8Array): Buffer {
    const parts: Uint8Array[] = [];
    let from = 0;
    const insert = (at: number, text: string) => {
      parts.push(chunk.subarray(from, at), Buffer.from(text, 'latin1'));
      from = at;
    };
    for (let index = 0; index < chunk.length; index++) {
      const byte = chunk[index]!;
      switch (this.state) {
        case 'newline':
          // A new line starts: it gets the colour, erased to its end.
          insert(index, `${this.setColor()}\x1b[K`);
          break;
        case 'carriage-return':
          insert(index, this.setColor());
          break;
        case 'escape':
          if (byte === 0x5b /* [ */) {
            this.state = 'csi';
            this.sequence = '';
            continue;
          }
          if (byte === 0x5d /* ] */) {
            this.state = 'osc';
            continue;
          }
          break;
        case 'csi':
          if (byte >= 0x20 && byte <= 0x3f) {
            // A parameter or intermediate byte: still inside the sequence.
            if (this.sequence !== undefined) this.sequence = this.sequence.length < MAX_SEQUENCE ? this.sequence + String.fromCharCode(byte) : undefined;
            continue;
          }
          if (byte === 0x6d /* m */ && this.sequence !== undefined && resetsBackground(this.sequence)) insert(index, `;${this.color}`);
          this.state = 'text';
          continue;
        case 'osc':
          // Ends at BEL or at the ESC of ESC \ (the backslash then passes as text).
          if (byte >= 0x20) continue;
          this.state = 'text';
          continue;
        case 'text':
          break;
      }
      this.state = byte === 0x0a ? 'newline' : byte === 0x0d ? 'carriage-return' : byte === ESC ? 'escape' : 'text';
    }
    if (parts.length === 0) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    parts.push(chunk.subarray(from));
    return Buffer.concat(parts);
  }

  /** A stream that passes what is written to it through write(). */
  stream(): Transform {
    return new Transform({ transform: (chunk: Buffer, _encoding, done) => done(null, this.write(chunk)) });
  }

  private setColor(): string {
    return `\x1b[${this.color}m`;
  }
}

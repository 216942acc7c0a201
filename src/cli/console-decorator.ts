/**
 * The terminal's look while it shows the guest's console, as systemd-vmspawn gives it: a background
 * colour (`--background`) and a window title. The console output is rewritten on its way to the
 * terminal: the colour is set at the start, after every line break and in every SGR sequence that
 * resets the background, and each new line is erased with it, so the whole area the console uses
 * carries the colour; a title the guest sets gets the title prefix. Pure: bytes in, bytes out; the
 * state carries over between chunks, so a sequence split across two reads is seen.
 */
import { Transform } from 'node:stream';
import { UsageError } from './usage-error.js';

const ESC = 0x1b;
const BEL = 0x07;
/** SGR parameters only (digits and semicolons): nothing else can reach the terminal through the flag. */
const SGR_PARAMETERS = /^\d+(;\d+)*$/;
/** Longest CSI or OSC sequence examined; a longer one is passed on unchanged (as systemd bounds it). */
const MAX_SEQUENCE = 64;
/** xterm's window title stack: save the title before setting ours, restore it at the end. */
const TITLE_PUSH = '\x1b[22;2t';
const TITLE_POP = '\x1b[23;2t';

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

/** How the terminal shows the console; each part is optional. */
export interface ConsoleDecoration {
  /** An SGR background colour (`41`, `48;2;R;G;B`) the console is shown on. */
  background?: string;
  /** The window title while the console shows (the terminal's own title comes back at the end). */
  title?: string;
  /** Put before every window title the guest sets, so the window still says it is a machine. */
  titlePrefix?: string;
}

type State = 'text' | 'escape' | 'csi' | 'osc' | 'osc-escape' | 'newline' | 'carriage-return';

/** Rewrites console output for the terminal as `decoration` says. */
export class ConsoleDecorator {
  private state: State = 'text';
  /** The CSI parameters or OSC text being read; undefined once it is too long to examine. */
  private sequence: string | undefined = '';

  constructor(private readonly decoration: ConsoleDecoration) {}

  /** What goes to the terminal first: the colour with the first line erased in it, and the title. */
  begin(): string {
    const { background, title } = this.decoration;
    return (background ? `${this.setColor()}\x1b[K` : '') + (title ? `${TITLE_PUSH}\x1b]2;${title}\x07` : '');
  }

  /** What goes to the terminal last: attributes reset and the rest of the screen erased; the terminal's title back. */
  end(): string {
    return (this.decoration.background ? '\x1b[0m\x1b[J' : '') + (this.decoration.title ? TITLE_POP : '');
  }

  /** `chunk` as the terminal should get it. */
  write(chunk: Uint8Array): Buffer {
    const parts: Uint8Array[] = [];
    let from = 0;
    const insert = (at: number, text: string) => {
      if (text === '') return;
      parts.push(chunk.subarray(from, at), Buffer.from(text, 'utf8'));
      from = at;
    };
    for (let index = 0; index < chunk.length; index++) {
      const byte = chunk[index]!;
      switch (this.state) {
        case 'newline':
          // A new line starts: it gets the colour, erased to its end.
          insert(index, this.decoration.background ? `${this.setColor()}\x1b[K` : '');
          break;
        case 'carriage-return':
          insert(index, this.decoration.background ? this.setColor() : '');
          break;
        case 'escape':
          if (byte === 0x5b /* [ */ || byte === 0x5d /* ] */) {
            this.state = byte === 0x5b ? 'csi' : 'osc';
            this.sequence = '';
            continue;
          }
          break;
        case 'csi':
          if (byte >= 0x20 && byte <= 0x3f) {
            // A parameter or intermediate byte: still inside the sequence.
            this.extendSequence(byte);
            continue;
          }
          if (byte === 0x6d /* m */ && this.decoration.background && this.sequence !== undefined && resetsBackground(this.sequence)) {
            insert(index, `;${this.decoration.background}`);
          }
          this.state = 'text';
          continue;
        case 'osc':
          if (byte >= 0x20) {
            this.extendSequence(byte);
            continue;
          }
          // BEL ends it; so does ESC \ (string terminator), whose backslash is awaited.
          if (byte === ESC) {
            this.state = 'osc-escape';
            continue;
          }
          insert(index + 1, byte === BEL ? this.guestTitleFix() : '');
          this.state = 'text';
          continue;
        case 'osc-escape':
          if (byte === 0x5c /* \ */) {
            insert(index + 1, this.guestTitleFix());
            this.state = 'text';
            continue;
          }
          break;
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

  private extendSequence(byte: number): void {
    if (this.sequence === undefined) return;
    this.sequence = this.sequence.length < MAX_SEQUENCE ? this.sequence + String.fromCharCode(byte) : undefined;
  }

  /** After the guest set the window title (OSC 0), the same title again with the prefix before it. */
  private guestTitleFix(): string {
    const { titlePrefix } = this.decoration;
    if (!titlePrefix || !this.sequence?.startsWith('0;')) return '';
    return `\x1b]0;${titlePrefix}${Buffer.from(this.sequence.slice(2), 'latin1').toString('utf8')}\x07`;
  }

  private setColor(): string {
    return `\x1b[${this.decoration.background}m`;
  }
}

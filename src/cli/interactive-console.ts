/**
 * `--console=interactive`: the user's terminal connected to the guest's serial console through the
 * machine's console socket (the `consoleSocket` option). The terminal is put in raw mode, so Ctrl-C
 * reaches the guest; Ctrl-] three times within a second leaves, as in systemd's tools.
 */
import { connect, type Socket } from 'node:net';
import type { CliIo } from './command.js';
import { ConsoleDecorator, type ConsoleDecoration } from './console-decorator.js';

const ESCAPE_BYTE = 0x1d; // Ctrl-]
const ESCAPE_PRESSES = 3;
const ESCAPE_WINDOW_MS = 1000;

/** Counts Ctrl-] presses; true once three arrived within a second. */
export function escapeDetector(now: () => number = Date.now): (chunk: Uint8Array) => boolean {
  let presses: number[] = [];
  return (chunk) => {
    for (const byte of chunk) {
      if (byte !== ESCAPE_BYTE) {
        presses = [];
        continue;
      }
      const time = now();
      presses = [...presses.filter((earlier) => time - earlier < ESCAPE_WINDOW_MS), time];
      if (presses.length >= ESCAPE_PRESSES) return true;
    }
    return false;
  };
}

export interface InteractiveConsole {
  /** Resolves when the user pressed Ctrl-] three times. */
  detached: Promise<void>;
  /** Gives the terminal back (cooked mode) and closes the connection. */
  stop(): Promise<void>;
}

/**
 * Connects to `socketPath` as soon as QEMU listens there (retrying until `stop()`); with a
 * `decoration`, the terminal shows the console with that background colour and window title.
 */
export function attachInteractiveConsole(socketPath: string, io: CliIo, decoration?: ConsoleDecoration): InteractiveConsole {
  const decorator = decoration ? new ConsoleDecorator(decoration) : undefined;
  let socket: Socket | undefined;
  let shown: NodeJS.ReadableStream | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  let leave: () => void = () => {};
  const detached = new Promise<void>((resolve) => (leave = resolve));
  const stdin = io.stdin as NodeJS.ReadStream;
  const isEscape = escapeDetector();
  const onInput = (chunk: Buffer) => {
    if (isEscape(chunk)) leave();
    else socket?.write(chunk);
  };

  const tryConnect = () => {
    if (stopped) return;
    const attempt = connect(socketPath);
    attempt.once('connect', () => {
      socket = attempt;
      if (stdin.isTTY) stdin.setRawMode(true);
      stdin.on('data', onInput);
      stdin.resume();
      if (decorator) io.stdout.write(decorator.begin());
      shown = decorator ? attempt.pipe(decorator.stream()) : attempt;
      shown.pipe(io.stdout, { end: false });
    });
    // Not listening yet (QEMU starts it): try again shortly, until the machine is up or gone.
    attempt.once('error', () => {
      attempt.destroy();
      if (socket !== attempt && !stopped) retry = setTimeout(tryConnect, 100);
    });
  };
  tryConnect();

  return {
    detached,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(retry);
      stdin.off('data', onInput);
      if (stdin.isTTY) stdin.setRawMode(false);
      stdin.pause();
      shown?.unpipe(io.stdout);
      if (decorator && shown) io.stdout.write(decorator.end());
      socket?.destroy();
    },
  };
}

/**
 * The default console background of `run`, as systemd-vmspawn picks it: a green tint of the terminal's
 * own background, which the terminal is asked for (OSC 11).
 */

/** systemd-vmspawn's hue for the default tint (green). */
export const DEFAULT_TINT_HUE = 130;
/** How long the terminal has to answer the question for its background colour. */
const QUERY_TIMEOUT_MS = 333;

/** An RGB colour, each component from 0 to 1. */
export interface Rgb {
  red: number;
  green: number;
  blue: number;
}

/**
 * The answer to OSC 11 (`ESC ] 11 ; rgb:RRRR/GGGG/BBBB` ending in BEL or ESC \), anywhere in `reply`;
 * each component has 1 to 4 hex digits. Undefined while no complete answer is there.
 */
export function parseBackgroundReply(reply: string): Rgb | undefined {
  const match = /\x1b\]11;rgb:([0-9a-f]{1,4})\/([0-9a-f]{1,4})\/([0-9a-f]{1,4})(?:\x07|\x1b\\)/i.exec(reply);
  if (!match) return undefined;
  const component = (hex: string) => Number.parseInt(hex, 16) / (16 ** hex.length - 1);
  return { red: component(match[1]!), green: component(match[2]!), blue: component(match[3]!) };
}

/**
 * The tint for a terminal whose background is `background`: `hue` at the background's brightness (at
 * least 20 %), pale on a bright background (25 % saturation) and strong on a dark one (75 %). An SGR
 * 24-bit background colour (`48;2;R;G;B`).
 */
export function tintColor(background: Rgb, hue = DEFAULT_TINT_HUE): string {
  const value = Math.max(background.red, background.green, background.blue) * 100;
  const saturation = value > 50 ? 25 : 75;
  const [red, green, blue] = hsvToRgb(hue, saturation, Math.max(20, value));
  return `48;2;${red};${green};${blue}`;
}

/** HSV (hue in degrees, saturation and value in percent) → 8-bit RGB. */
export function hsvToRgb(hue: number, saturation: number, value: number): [number, number, number] {
  const v = value / 100;
  const chroma = v * (saturation / 100);
  const sector = (((hue % 360) + 360) % 360) / 60;
  const second = chroma * (1 - Math.abs((sector % 2) - 1));
  const [r, g, b] = sector < 1 ? [chroma, second, 0] : sector < 2 ? [second, chroma, 0] : sector < 3 ? [0, chroma, second] : sector < 4 ? [0, second, chroma] : sector < 5 ? [second, 0, chroma] : [chroma, 0, second];
  const base = v - chroma;
  const byte = (component: number) => Math.round((component + base) * 255);
  return [byte(r), byte(g), byte(b)];
}

/**
 * Asks the terminal for its background colour (OSC 11) and waits up to a third of a second for the
 * answer; undefined when it gives none. stdin is in raw mode meanwhile, so the answer is not echoed.
 */
export async function queryTerminalBackground(stdin: NodeJS.ReadStream, stdout: NodeJS.WritableStream, timeoutMs = QUERY_TIMEOUT_MS): Promise<Rgb | undefined> {
  const wasRaw = stdin.isRaw;
  stdin.setRawMode(true);
  let reply = '';
  let onData: (chunk: Buffer) => void = () => {};
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<Rgb | undefined>((resolve) => {
      onData = (chunk) => {
        reply += chunk.toString('latin1');
        const color = parseBackgroundReply(reply);
        if (color) resolve(color);
      };
      timer = setTimeout(() => resolve(undefined), timeoutMs);
      stdin.on('data', onData);
      stdin.resume();
      stdout.write('\x1b]11;?\x1b\\');
    });
  } finally {
    clearTimeout(timer);
    stdin.off('data', onData);
    stdin.pause();
    stdin.setRawMode(wasRaw);
  }
}

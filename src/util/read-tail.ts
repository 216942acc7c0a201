/** The last lines of a log file, with terminal escape sequences and carriage returns removed. */
import { open } from 'node:fs/promises';

const TAIL_BYTES = 64 * 1024;
// CSI sequences (colours, cursor movement) and OSC sequences, as a guest console prints them.
const ESCAPES = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

export async function readTail(path: string, lines: number): Promise<string> {
  let file;
  try {
    file = await open(path, 'r');
  } catch {
    return '';
  }
  try {
    const { size } = await file.stat();
    const length = Math.min(size, TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    await file.read(buffer, 0, length, size - length);
    const text = buffer.toString('utf8').replace(ESCAPES, '').replaceAll('\r', '');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } finally {
    await file.close();
  }
}

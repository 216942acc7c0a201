/** Follows a growing text file (a log another process writes), handing over each new complete line. */
import { open } from 'node:fs/promises';

export interface FileFollower {
  /** Reads what is left and stops. */
  stop(): Promise<void>;
}

/** Polls `path` every `intervalMs`; `onLines` gets the complete lines written since the last poll. */
export function followFile(path: string, onLines: (lines: string[]) => void, intervalMs = 250): FileFollower {
  let offset = 0;
  let partial = '';
  let reading: Promise<void> = Promise.resolve();
  const readNew = async () => {
    const file = await open(path, 'r').catch(() => undefined);
    if (!file) return;
    try {
      const { size } = await file.stat();
      if (size <= offset) return;
      const buffer = Buffer.alloc(size - offset);
      const { bytesRead } = await file.read(buffer, 0, buffer.length, offset);
      offset += bytesRead;
      const text = partial + buffer.subarray(0, bytesRead).toString('utf8').replaceAll('\r', '');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      if (lines.length > 0) onLines(lines);
    } finally {
      await file.close();
    }
  };
  const poll = () => {
    reading = reading.then(readNew).catch(() => undefined);
  };
  const timer = setInterval(poll, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      poll();
      await reading;
      if (partial) onLines([partial]);
      partial = '';
    },
  };
}

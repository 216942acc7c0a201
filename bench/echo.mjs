// Shared by the benchmarks: a payload sent through a guest echo service and read back whole.
import { createHash } from 'node:crypto';

const MiB = 1024 * 1024;
const sha256 = (data) => createHash('sha256').update(data).digest('hex');

/** Sends `payload` through `stream` (connected to an echo service), reads it back, checks its SHA-256, and destroys the stream. */
export async function echoThrough(stream, payload) {
  const received = createHash('sha256');
  let count = 0;
  const done = new Promise((resolve, reject) => {
    stream.on('data', (chunk) => {
      received.update(chunk);
      count += chunk.length;
      if (count >= payload.length) resolve();
    });
    stream.once('error', reject);
    stream.once('close', () => reject(new Error(`echo closed after ${count} of ${payload.length} bytes`)));
  });
  for (let offset = 0; offset < payload.length; offset += MiB) {
    if (!stream.write(payload.subarray(offset, offset + MiB))) await new Promise((resolve) => stream.once('drain', resolve));
  }
  await done;
  stream.destroy();
  if (received.digest('hex') !== sha256(payload)) throw new Error('echo corrupted the data');
}

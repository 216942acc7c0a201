import { Duplex } from 'node:stream';
import { expect, test } from 'vitest';
import { generateMachineKeys } from '../../src/ssh/keys.js';
import { SshConnection } from '../../src/ssh/ssh-connection.js';

/** A peer that accepts bytes and never answers, like a guest whose sshd hangs before its banner. */
function silentPeer(): Duplex {
  return new Duplex({ read() {}, write(_chunk, _encoding, callback) { callback(); } });
}

test('a handshake that times out rejects once, and the lost connection after it is no unhandled error', async () => {
  const unhandled: unknown[] = [];
  const onUncaught = (error: unknown) => unhandled.push(error);
  process.on('uncaughtException', onUncaught);
  try {
    const peer = silentPeer();
    await expect(SshConnection.open(peer, { keys: generateMachineKeys('t'), timeout: 200 })).rejects.toThrow(/SSH handshake with the guest failed: Timed out/);
    // ssh2 reports the lost connection as a second error once the stream is gone.
    peer.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(unhandled).toEqual([]);
  } finally {
    process.off('uncaughtException', onUncaught);
  }
});

/**
 * Receives sd_notify messages on a vsock port: one connection per message. The guest half-closes
 * after writing and waits for the host to close. When the transport does not pass the half-close
 * on, the message is taken as complete after a short silence, then the connection is closed.
 */
import type { Duplex } from 'node:stream';
import type { VsockListener, VsockTransport } from '../transport/vsock-transport.js';
import { parseNotifyFields, type NotifyMessage } from './notify-message.js';

/**
 * Silence after which a message counts as complete when half-close is not delivered. systemd writes
 * a message with one send(), so its bytes arrive together; the guest's PID 1 waits for the close.
 */
export const NOTIFY_IDLE_GAP_MS = 5;

/** Listens for notify messages; `onMessage` gets each complete message. */
export function listenForNotifications(
  transport: VsockTransport,
  port: number,
  clock: () => number,
  onMessage: (message: NotifyMessage) => void,
): Promise<VsockListener> {
  return transport.listen(port, (socket) => collectMessage(socket, transport.deliversHalfClose, clock, onMessage));
}

function collectMessage(socket: Duplex, deliversHalfClose: boolean, clock: () => number, onMessage: (message: NotifyMessage) => void): void {
  const chunks: Buffer[] = [];
  let idleTimer: NodeJS.Timeout | undefined;
  let done = false;
  const complete = () => {
    if (done) return;
    done = true;
    clearTimeout(idleTimer);
    socket.destroy();
    const raw = Buffer.concat(chunks).toString('utf8');
    if (raw.length > 0) onMessage({ time: clock(), fields: parseNotifyFields(raw), raw });
  };
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    if (!deliversHalfClose) {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(complete, NOTIFY_IDLE_GAP_MS);
    }
  });
  socket.on('end', complete);
  socket.on('close', complete);
  socket.on('error', complete);
}

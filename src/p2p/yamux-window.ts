import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream';

/**
 * @chainsafe/libp2p-yamux 8 sends a window-update frame after *every* data frame it receives: its
 * `sendWindowUpdate` skips the update only while the receive window is untouched, which it never is
 * right after data. For the committee's many small messages that doubles the frames on the wire,
 * and each one costs a Noise encryption and a socket write on one side and a read and a decryption on
 * the other. rust-yamux and go-yamux send an update once half of the window has been consumed (or
 * when flags must go out); this installs that rule in front of the library's method, which still
 * does the sending, the flags and the window auto-tuning. Flow control is unchanged: the sender gets
 * its update long before its window can run out. `npx tsx bench/p2p.ts` measures the saving.
 */
export interface WindowState {
  state: StreamState;
  /** Bytes the receive window holds when full. */
  recvWindow: number;
  /** Bytes the peer may still send before it needs an update. */
  recvWindowCapacity: number;
}

/** Whether the update can wait: an established stream with more than half of its window left. */
export function windowUpdateCanWait(s: WindowState): boolean {
  return s.state === StreamState.Established && s.recvWindow - s.recvWindowCapacity < s.recvWindow / 2;
}

const proto = YamuxStream.prototype as unknown as { sendWindowUpdate(this: YamuxStream): void };
const librarySendWindowUpdate = proto.sendWindowUpdate;
let installed = false;

/** Installs the half-window rule (once per process; `SEQNET_YAMUX_EVERY_FRAME=1` leaves it out). */
export function installHalfWindowUpdates(): void {
  if (installed || process.env.SEQNET_YAMUX_EVERY_FRAME === '1') return;
  proto.sendWindowUpdate = function (this: YamuxStream) {
    if (windowUpdateCanWait(this as unknown as WindowState)) return;
    librarySendWindowUpdate.call(this);
  };
  installed = true;
}

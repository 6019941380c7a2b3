import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream';
import { describe, expect, it } from 'vitest';
import { installHalfWindowUpdates, windowUpdateCanWait } from '../../src/p2p/yamux-window.js';

const WINDOW = 256 * 1024;

/** A YamuxStream's window fields on the real prototype, with `sendFrame` recording what it sends. */
function streamWith(state: StreamState, recvWindowCapacity: number) {
  const sent: Array<{ type: number; length: number }> = [];
  const s = Object.assign(Object.create(YamuxStream.prototype) as YamuxStream, {
    state,
    streamId: 1,
    recvWindow: WINDOW,
    recvWindowCapacity,
    maxStreamWindowSize: 16 * 1024 * 1024,
    epochStart: Date.now(),
    getRTT: () => -1,
    sendFrame: (header: { type: number; length: number }) => {
      sent.push(header);
      return true;
    },
  });
  return { s, sent };
}

describe('yamux window updates at half the window', () => {
  it('waits while an established stream has more than half of its window left', () => {
    const est = StreamState.Established;
    expect(windowUpdateCanWait({ state: est, recvWindow: WINDOW, recvWindowCapacity: WINDOW - 300 })).toBe(
      true,
    );
    expect(windowUpdateCanWait({ state: est, recvWindow: WINDOW, recvWindowCapacity: WINDOW / 2 })).toBe(
      false,
    );
    // A stream that still has to send its ACK flag never waits.
    const syn = StreamState.SYNReceived;
    expect(windowUpdateCanWait({ state: syn, recvWindow: WINDOW, recvWindowCapacity: WINDOW - 300 })).toBe(
      false,
    );
  });

  it("the library's method, once installed, sends one update per half window instead of one per frame", () => {
    installHalfWindowUpdates();
    const small = streamWith(StreamState.Established, WINDOW - 300);
    (small.s as unknown as { sendWindowUpdate(): void }).sendWindowUpdate();
    expect(small.sent).toEqual([]);
    const half = streamWith(StreamState.Established, WINDOW / 2 - 1);
    (half.s as unknown as { sendWindowUpdate(): void }).sendWindowUpdate();
    expect(half.sent).toHaveLength(1);
    // The update gives back everything consumed, as the library computes it.
    expect(half.sent[0].length).toBe(WINDOW / 2 + 1);
    expect((half.s as unknown as { recvWindowCapacity: number }).recvWindowCapacity).toBe(WINDOW);
  });
});

import { describe, expect, it } from 'vitest';
import { PORT_TAKEN, rpcPortInUseMessage } from '../../src/util/ports.js';

describe('PORT_TAKEN', () => {
  it("matches the node's words for a taken RPC port and the listeners' EADDRINUSE, nothing else", () => {
    expect(PORT_TAKEN.test(rpcPortInUseMessage('127.0.0.1', 9545))).toBe(true);
    expect(PORT_TAKEN.test('listen EADDRINUSE: address already in use 127.0.0.1:30303')).toBe(true);
    expect(PORT_TAKEN.test('Error: address already in use')).toBe(true);
    expect(PORT_TAKEN.test('seqnet: --rpc-port must be a port number (0–65535), got "x"')).toBe(false);
    expect(PORT_TAKEN.test('member 2 exited (1) while starting: the committee file names no such key')).toBe(
      false,
    );
  });
});

import { describe, expect, it } from 'vitest';
import { compileContract, compileContracts } from '../../src/l1/solc.js';

describe('compileContracts', () => {
  it('compiles once per process: a later call for the same contracts returns the same artifacts', () => {
    const first = compileContracts('test/TestToken.sol', ['TestToken']);
    expect(first.TestToken.bytecode).toMatch(/^0x[0-9a-f]{100,}$/);
    expect(first.TestToken.abi.length).toBeGreaterThan(0);
    // The L1 pollers ask on every poll: no re-reading of sources or of the disk cache.
    expect(compileContracts('test/TestToken.sol', ['TestToken'])).toBe(first);
    expect(compileContract('test/TestToken.sol', 'TestToken')).toBe(first.TestToken);
  });

  it('keeps artifacts per file and contract names', () => {
    const token = compileContracts('test/TestToken.sol', ['TestToken']);
    const passer = compileContracts('l2/L2ToL1MessagePasser.sol', ['L2ToL1MessagePasser']);
    expect(passer).not.toBe(token);
    expect(Object.keys(passer)).toEqual(['L2ToL1MessagePasser']);
  });
});

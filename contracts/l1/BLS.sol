// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// BLS12-381 min-pk signatures (public keys in G1, signatures in G2) on the EIP-2537 precompiles, for
/// blst's `BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_` suite (DECISIONS.md §4).
///
/// Points are EIP-2537 encoded and uncompressed: an Fp element is 64 bytes big-endian with the top 16
/// zero; an Fp2 element is c0‖c1 (blst serialises c1‖c0); a G1 point is x‖y (128 bytes), a G2 point
/// x‖y (256 bytes); the point at infinity is all zeros.
///
/// Every precompile call first requires enough gasleft() for the precompile's price and reverts with
/// `NotEnoughGas` otherwise. A failing precompile burns the gas forwarded to it; were a failure for want
/// of gas to read as "invalid", eth_estimateGas would settle on a limit at which real transactions fail
/// while eth_call passes. With the gas checked, a failing curve operation can only mean an invalid
/// point (`BadPoint`); a precompile that answers with the wrong length is absent (`PrecompileFailed`).
library BLS {
    error NotEnoughGas(address precompile, uint256 gasLeft, uint256 needed);
    error PrecompileFailed(address precompile);
    error BadPoint();

    address internal constant SHA256 = address(0x02);
    address internal constant MODEXP = address(0x05);
    address internal constant G1ADD = address(0x0b);
    address internal constant G1MSM = address(0x0c);
    address internal constant G2ADD = address(0x0d);
    address internal constant PAIRING = address(0x0f);
    address internal constant MAP_FP2_TO_G2 = address(0x11);

    // Prices (Prague) behind the gasleft() checks; MODEXP and G1MSM are upper bounds across the
    // published schedules (EIP-2565 charges 200 for a 64-byte base and exponent 1, EIP-7883 500).
    uint256 internal constant G1ADD_GAS = 375;
    uint256 internal constant G1MSM_ONE_GAS = 14_400;
    uint256 internal constant G2ADD_GAS = 600;
    uint256 internal constant MAP_FP2_TO_G2_GAS = 23_800;
    uint256 internal constant PAIRING_BASE_GAS = 37_700;
    uint256 internal constant PAIRING_PER_PAIR_GAS = 32_600;
    uint256 internal constant MODEXP_GAS = 500;
    /// G1ADD_GAS + GAS_RESERVE + 100: what _call requires before a G1ADD.
    uint256 internal constant G1ADD_NEEDED = 1_475;
    /// MODEXP_GAS + GAS_RESERVE + 100: what _call requires before a MODEXP.
    uint256 internal constant MODEXP_NEEDED = 1_600;
    /// SHA-256 of one b_i input (77 bytes, 3 words).
    uint256 internal constant SHA256_ROUND_GAS = 96; // 60 + 12 · 3
    /// Gas kept back from each call, so that a named error can still be raised after a failing one.
    uint256 internal constant GAS_RESERVE = 1_000;

    /// The base field modulus p, split at 128 bits: the high word of its 64-byte encoding, and the low.
    uint256 internal constant P_HI = 0x1a0111ea397fe69a4b1ba7b6434bacd7;
    uint256 internal constant P_LO = 0x64774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab;

    /// The DST with its length byte appended (RFC 9380 §5.3.1 DST_prime; 43 = 0x2b).
    bytes internal constant DST_PRIME = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_\x2b";

    /// −g1, the negated G1 generator: e(pk, H(m)) · e(−g1, sig) == 1 ⇔ e(pk, H(m)) == e(g1, sig).
    bytes internal constant NEG_G1 =
        hex"0000000000000000000000000000000017f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb"
        hex"00000000000000000000000000000000114d1d6855d545a8aa7d76c8cf2e21f267816aef1db507c96655b9d5caac42364e6f38ba0ecb751bad54dcd6b939c2ca";

    // ---------------------------------------------------------------------------------------------
    // Encodings

    /// Whether the 64-byte Fp element at `ptr` (memory) is canonical: top 16 bytes zero, value < p.
    function _fpAt(uint256 ptr) private pure returns (bool ok) {
        assembly ("memory-safe") {
            let hi := mload(ptr)
            let lo := mload(add(ptr, 32))
            ok := or(lt(hi, P_HI), and(eq(hi, P_HI), lt(lo, P_LO)))
        }
    }

    function _allZero(bytes memory b) private pure returns (bool zero) {
        assembly ("memory-safe") {
            let acc := 0
            let p := add(b, 32)
            for { let end := add(p, mload(b)) } lt(p, end) { p := add(p, 32) } { acc := or(acc, mload(p)) }
            zero := iszero(acc)
        }
    }

    /// 128 bytes, each coordinate canonical (< p). Says nothing about the curve or the subgroup.
    function isCanonicalG1(bytes memory point) internal pure returns (bool) {
        if (point.length != 128) return false;
        uint256 ptr;
        assembly ("memory-safe") {
            ptr := add(point, 32)
        }
        return _fpAt(ptr) && _fpAt(ptr + 64);
    }

    /// 256 bytes, each of the four Fp coordinates canonical (< p). Says nothing about the curve.
    function isCanonicalG2(bytes memory point) internal pure returns (bool) {
        if (point.length != 256) return false;
        uint256 ptr;
        assembly ("memory-safe") {
            ptr := add(point, 32)
        }
        return _fpAt(ptr) && _fpAt(ptr + 64) && _fpAt(ptr + 128) && _fpAt(ptr + 192);
    }

    /// The EIP-2537 point at infinity (all zeros).
    function isInfinity(bytes memory point) internal pure returns (bool) {
        return _allZero(point);
    }

    // ---------------------------------------------------------------------------------------------
    // Precompile calls

    /// Calls `precompile` after checking that `cost` gas reaches it (EIP-150 passes on 63/64), keeping
    /// GAS_RESERVE back. Reverts PrecompileFailed on a successful call with the wrong output length
    /// (no precompile there: an account without code answers success and no data).
    function _call(address precompile, uint256 cost, uint256 inPtr, uint256 inLen, uint256 outPtr, uint256 outLen)
        private
        view
        returns (bool ok)
    {
        uint256 needed;
        bool short;
        bool absent;
        assembly ("memory-safe") {
            // The call gets min(gas − GAS_RESERVE, 63/64 of what is left after its 100 gas), so it needs
            // cost + max(GAS_RESERVE, cost / 63 + 100), plus the few instructions up to the call.
            let margin := add(div(cost, 63), 100)
            if lt(margin, GAS_RESERVE) { margin := GAS_RESERVE }
            needed := add(add(cost, margin), 100)
            short := lt(gas(), needed)
            if iszero(short) {
                ok := staticcall(sub(gas(), GAS_RESERVE), precompile, inPtr, inLen, outPtr, outLen)
                // An account without code answers success and no data: no precompile there.
                absent := and(ok, iszero(eq(returndatasize(), outLen)))
            }
        }
        if (short) revert NotEnoughGas(precompile, gasleft(), needed);
        if (absent) revert PrecompileFailed(precompile);
    }

    /// A call whose input we built ourselves and that cannot fail on it: any failure is the chain's.
    function _mustCall(address precompile, uint256 cost, uint256 inPtr, uint256 inLen, uint256 outPtr, uint256 outLen)
        private
        view
    {
        if (!_call(precompile, cost, inPtr, inLen, outPtr, outLen)) revert PrecompileFailed(precompile);
    }

    /// A curve operation on caller-supplied points: with the gas checked, failure means a bad point.
    function _curveCall(
        address precompile,
        uint256 cost,
        uint256 inPtr,
        uint256 inLen,
        uint256 outPtr,
        uint256 outLen
    ) private view {
        if (!_call(precompile, cost, inPtr, inLen, outPtr, outLen)) revert BadPoint();
    }

    function _ptr(bytes memory b) private pure returns (uint256 p) {
        assembly ("memory-safe") {
            p := add(b, 32)
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Hash to G2 (RFC 9380, BLS12381G2_XMD:SHA-256_SSWU_RO_)

    /// expand_message_xmd(message, DST, 256) with SHA-256 (RFC 9380 §5.3.1): 256 uniform bytes, the
    /// four 64-byte chunks hash_to_field reduces into u0 = (c0, c1) and u1 = (c0, c1).
    function expandMessageXmd(bytes memory message) internal view returns (bytes memory uniform) {
        uint256 len = message.length;
        bytes memory dst = DST_PRIME;
        // msg_prime = Z_pad (64 zero bytes) ‖ msg ‖ I2OSP(256, 2) ‖ I2OSP(0, 1) ‖ DST_prime
        bytes memory msgPrime = new bytes(64 + len + 3 + 44);
        // b_i's input: (b_0 xor b_{i−1}) ‖ I2OSP(i, 1) ‖ DST_prime
        bytes memory round = new bytes(77);
        uniform = new bytes(256);
        assembly ("memory-safe") {
            let p := add(msgPrime, 96)
            mcopy(p, add(message, 32), len)
            p := add(p, len)
            mstore8(p, 0x01)
            mcopy(add(p, 3), add(dst, 32), 44)
            mcopy(add(round, 65), add(dst, 32), 44)
        }
        _mustCall(SHA256, 60 + 12 * ((msgPrime.length + 31) / 32), _ptr(msgPrime), msgPrime.length, 0, 32);
        bytes32 b0;
        assembly ("memory-safe") {
            b0 := mload(0)
        }
        // b_1 … b_8, straight into `uniform`; each call with the gas check of _call, inlined.
        uint256 shortAt;
        bool failed;
        assembly ("memory-safe") {
            let rp := add(round, 32)
            let up := add(uniform, 32)
            let prev := 0
            for { let i := 1 } lt(i, 9) { i := add(i, 1) } {
                mstore(rp, xor(b0, prev))
                mstore8(add(rp, 32), i)
                let out := add(up, shl(5, sub(i, 1)))
                if lt(gas(), add(SHA256_ROUND_GAS, add(GAS_RESERVE, 100))) {
                    shortAt := i
                    break
                }
                // Two statements: Yul evaluates arguments right to left, returndatasize() before the call.
                let ok := staticcall(sub(gas(), GAS_RESERVE), 0x02, rp, 77, out, 32)
                if iszero(and(ok, eq(returndatasize(), 32))) {
                    failed := 1
                    break
                }
                prev := mload(out)
            }
        }
        if (shortAt != 0) revert NotEnoughGas(SHA256, gasleft(), SHA256_ROUND_GAS + GAS_RESERVE + 100);
        if (failed) revert PrecompileFailed(SHA256);
    }

    /// hash_to_curve(message) into G2: 256 bytes, x.c0 ‖ x.c1 ‖ y.c0 ‖ y.c1. MAP_FP2_TO_G2 maps and
    /// clears the cofactor, and clearing is linear, so clear(Q0) + clear(Q1) = clear(Q0 + Q1).
    function hashToG2(bytes memory message) internal view returns (bytes memory point) {
        bytes memory uniform = expandMessageXmd(message);
        // hash_to_field: each 64-byte chunk mod p, by MODEXP (chunk^1 mod p) on
        // Bsize (64) ‖ Esize (1) ‖ Msize (48) ‖ B (64 bytes) ‖ E (0x01) ‖ M (p, 48 bytes).
        bytes memory modexp =
            abi.encodePacked(uint256(64), uint256(1), uint256(48), bytes32(0), bytes32(0), uint8(1), uint128(P_HI), P_LO);
        bytes memory u = new bytes(256); // u0 (c0 ‖ c1) ‖ u1 (c0 ‖ c1), each element 64 bytes
        bool short;
        bool failed;
        assembly ("memory-safe") {
            let mp := add(modexp, 32)
            let up := add(u, 32)
            let from := add(uniform, 32)
            for { let j := 0 } lt(j, 4) { j := add(j, 1) } {
                mcopy(add(mp, 96), add(from, shl(6, j)), 64)
                if lt(gas(), MODEXP_NEEDED) {
                    short := 1
                    break
                }
                let out := add(add(up, shl(6, j)), 16)
                let ok := staticcall(sub(gas(), GAS_RESERVE), 0x05, mp, 209, out, 48)
                if iszero(and(ok, eq(returndatasize(), 48))) {
                    failed := 1
                    break
                }
            }
        }
        if (short) revert NotEnoughGas(MODEXP, gasleft(), MODEXP_NEEDED);
        if (failed) revert PrecompileFailed(MODEXP);
        uint256 up = _ptr(u);
        bytes memory q = new bytes(512); // Q0 ‖ Q1
        uint256 qp = _ptr(q);
        _mustCall(MAP_FP2_TO_G2, MAP_FP2_TO_G2_GAS, up, 128, qp, 256);
        _mustCall(MAP_FP2_TO_G2, MAP_FP2_TO_G2_GAS, up + 128, 128, qp + 256, 256);
        point = new bytes(256);
        _mustCall(G2ADD, G2ADD_GAS, qp, 512, _ptr(point), 256);
    }

    // ---------------------------------------------------------------------------------------------
    // G1 and pairing

    /// Whether `point` is a G1 point in the prime-order subgroup (G1MSM by 1 checks curve and subgroup;
    /// G1ADD checks neither). False only for a bad point: the gas is checked before the call.
    function isG1SubgroupPoint(bytes memory point) internal view returns (bool) {
        if (!isCanonicalG1(point)) return false;
        bytes memory input = abi.encodePacked(point, uint256(1));
        bytes memory out = new bytes(128);
        return _call(G1MSM, G1MSM_ONE_GAS, _ptr(input), 160, _ptr(out), 128);
    }

    /// a + b in G1 (both on the curve; G1ADD does no subgroup check).
    function g1Add(bytes memory a, bytes memory b) internal view returns (bytes memory sum) {
        if (a.length != 128 || b.length != 128) revert BadPoint();
        bytes memory input = abi.encodePacked(a, b);
        sum = new bytes(128);
        _curveCall(G1ADD, G1ADD_GAS, _ptr(input), 256, _ptr(sum), 128);
    }

    /// The sum of `count` G1 points laid end to end in `points` (count · 128 bytes), on the curve (G1ADD
    /// does no subgroup check). Adds in place: step i reads points i−1 (the running sum) and i and writes
    /// the sum over point i. Each call has _call's gas check, inlined (~630 gas a point).
    function aggregateG1(bytes memory points, uint256 count) internal view returns (bytes memory sum) {
        if (count == 0 || points.length < count * 128) revert BadPoint();
        uint256 status; // 1: not enough gas, 2: bad point, 3: no precompile
        assembly ("memory-safe") {
            let p := add(points, 32)
            for { let i := 1 } lt(i, count) { i := add(i, 1) } {
                if lt(gas(), G1ADD_NEEDED) {
                    status := 1
                    break
                }
                let input := add(p, shl(7, sub(i, 1)))
                if iszero(staticcall(sub(gas(), GAS_RESERVE), 0x0b, input, 256, add(input, 128), 128)) {
                    status := 2
                    break
                }
                if iszero(eq(returndatasize(), 128)) {
                    status := 3
                    break
                }
            }
        }
        if (status == 1) revert NotEnoughGas(G1ADD, gasleft(), G1ADD_NEEDED);
        if (status == 2) revert BadPoint();
        if (status == 3) revert PrecompileFailed(G1ADD);
        sum = new bytes(128);
        assembly ("memory-safe") {
            let from := add(add(points, 32), shl(7, sub(count, 1)))
            mcopy(add(sum, 32), from, 128)
        }
    }

    /// e(publicKey, messagePoint) == e(g1, signature), as e(pk, H) · e(−g1, sig) == 1 with PAIRING.
    /// Reverts BadPoint when the precompile rejects a point (off the curve or outside the subgroup).
    function pairingCheck(bytes memory publicKey, bytes memory messagePoint, bytes memory signature)
        internal
        view
        returns (bool valid)
    {
        if (publicKey.length != 128 || messagePoint.length != 256 || signature.length != 256) revert BadPoint();
        bytes memory negG1 = NEG_G1;
        bytes memory input = new bytes(768); // pk ‖ H(m) ‖ −g1 ‖ sig
        uint256 ip = _ptr(input);
        assembly ("memory-safe") {
            mcopy(ip, add(publicKey, 32), 128)
            mcopy(add(ip, 128), add(messagePoint, 32), 256)
            mcopy(add(ip, 384), add(negG1, 32), 128)
            mcopy(add(ip, 512), add(signature, 32), 256)
        }
        _curveCall(PAIRING, PAIRING_BASE_GAS + 2 * PAIRING_PER_PAIR_GAS, ip, 768, 0, 32);
        assembly ("memory-safe") {
            valid := eq(mload(0), 1)
        }
    }

    /// Verifies a signature over `message` (the bytes blst signs) under `publicKey`. BadPoint for an
    /// infinity key or signature, a non-canonical encoding, or a point the pairing precompile rejects
    /// (off the curve, outside the subgroup). Keys that are aggregated first must each be checked with
    /// isG1SubgroupPoint (once, when registered): a sum of points outside the subgroup can land inside.
    function verify(bytes memory publicKey, bytes memory message, bytes memory signature)
        internal
        view
        returns (bool)
    {
        if (!isCanonicalG1(publicKey) || isInfinity(publicKey)) revert BadPoint();
        if (!isCanonicalG2(signature) || isInfinity(signature)) revert BadPoint();
        return pairingCheck(publicKey, hashToG2(message), signature);
    }
}

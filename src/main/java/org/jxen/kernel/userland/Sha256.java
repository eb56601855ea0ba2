package org.jxen.kernel.userland;

import java.nio.ByteBuffer;

/**
 * SHA-256 (FIPS 180-4) whose running state can be written out and read back: the eight hash words, the byte count
 * and the partial block not yet compressed. {@code MessageDigest} keeps that state to itself; sha256sum needs it in
 * the kernel record to go on hashing after a restore. Its {@link #state()} ({@value #STATE_BYTES} bytes, big-endian):
 * u32 h0..h7, u64 bytes hashed, then the 64-byte block buffer of which the first {@code count % 64} bytes count.
 */
final class Sha256 {
    static final int STATE_BYTES = 32 + 8 + 64;
    private static final int[] K = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
    private static final int[] H0 = {
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

    private final int[] h = H0.clone();
    private final byte[] block = new byte[64];
    private final int[] w = new int[64];
    private long count;

    Sha256() {}

    /** A hash that goes on from {@code state}; IllegalStateException if it is not {@value #STATE_BYTES} bytes. */
    static Sha256 of(byte[] state) {
        if (state.length != STATE_BYTES) throw new IllegalStateException("sha256 state of " + state.length + " bytes");
        ByteBuffer b = ByteBuffer.wrap(state);
        Sha256 s = new Sha256();
        for (int i = 0; i < 8; i++) s.h[i] = b.getInt();
        s.count = b.getLong();
        if (s.count < 0) throw new IllegalStateException("sha256 state of a negative length");
        b.get(s.block);
        return s;
    }

    byte[] state() {
        ByteBuffer b = ByteBuffer.allocate(STATE_BYTES);
        for (int v : h) b.putInt(v);
        return b.putLong(count).put(block).array();
    }

    /** Bytes hashed so far. */
    long count() {
        return count;
    }

    void update(byte[] data, int off, int len) {
        int fill = (int) (count & 63);
        count += len;
        if (fill > 0) {
            int n = Math.min(len, 64 - fill);
            System.arraycopy(data, off, block, fill, n);
            off += n;
            len -= n;
            if (fill + n < 64) return;
            compress(block, 0);
        }
        for (; len >= 64; off += 64, len -= 64) compress(data, off);
        System.arraycopy(data, off, block, 0, len);
    }

    /** The digest of what was hashed so far; the state is left as it was. */
    byte[] digest() {
        Sha256 s = of(state());
        long bits = count << 3;
        byte[] pad = new byte[(int) (64 - ((count + 8) & 63)) + 8];
        pad[0] = (byte) 0x80;
        for (int i = 0; i < 8; i++) pad[pad.length - 1 - i] = (byte) (bits >>> (8 * i));
        s.update(pad, 0, pad.length);
        ByteBuffer out = ByteBuffer.allocate(32);
        for (int v : s.h) out.putInt(v);
        return out.array();
    }

    private void compress(byte[] b, int off) {
        for (int i = 0; i < 16; i++, off += 4) {
            w[i] = (b[off] << 24) | ((b[off + 1] & 0xff) << 16) | ((b[off + 2] & 0xff) << 8) | (b[off + 3] & 0xff);
        }
        for (int i = 16; i < 64; i++) {
            int s0 = Integer.rotateRight(w[i - 15], 7) ^ Integer.rotateRight(w[i - 15], 18) ^ (w[i - 15] >>> 3);
            int s1 = Integer.rotateRight(w[i - 2], 17) ^ Integer.rotateRight(w[i - 2], 19) ^ (w[i - 2] >>> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        int a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
        for (int i = 0; i < 64; i++) {
            int t1 = hh + (Integer.rotateRight(e, 6) ^ Integer.rotateRight(e, 11) ^ Integer.rotateRight(e, 25))
                    + ((e & f) ^ (~e & g)) + K[i] + w[i];
            int t2 = (Integer.rotateRight(a, 2) ^ Integer.rotateRight(a, 13) ^ Integer.rotateRight(a, 22))
                    + ((a & bb) ^ (a & c) ^ (bb & c));
            hh = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = bb;
            bb = a;
            a = t1 + t2;
        }
        h[0] += a;
        h[1] += bb;
        h[2] += c;
        h[3] += d;
        h[4] += e;
        h[5] += f;
        h[6] += g;
        h[7] += hh;
    }
}

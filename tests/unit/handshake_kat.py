#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Independent reference for the known answers of tests/unit/test_handshake.c
# (test_known_answer) and tests/unit/test_crypto.c (test_psk_spake2_password,
# test_hs_keys_known_answer): lwt's v2 handshake recomputed from
# docs/PROTOCOL.md with the Python 3 standard library only (hashlib/hmac
# HKDF-SHA256, P-256 in affine coordinates, RFC 9382's transcript and key
# schedule). It checks itself first against RFC 9382's P-256 vector 1, then
# prints every expected value. Not run by make; run it after changing the
# handshake's layout or key schedule, and paste what changed.
import hashlib
import hmac
import struct

p = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff
n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551
a = p - 3
b = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b
G = (0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296,
     0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5)
def add(P, Q):
    if P is None: return Q
    if Q is None: return P
    if P[0] == Q[0]:
        if (P[1] + Q[1]) % p == 0: return None
        l = (3 * P[0] * P[0] + a) * pow(2 * P[1], p - 2, p) % p
    else:
        l = (Q[1] - P[1]) * pow(Q[0] - P[0], p - 2, p) % p
    x = (l * l - P[0] - Q[0]) % p
    return (x, (l * (P[0] - x) - P[1]) % p)
def mul(k, P):
    R = None
    while k:
        if k & 1: R = add(R, P)
        P = add(P, P); k >>= 1
    return R
def neg(P): return (P[0], (-P[1]) % p)
def dec(h):
    bb = bytes.fromhex(h)
    if bb[0] == 4: return (int.from_bytes(bb[1:33], 'big'), int.from_bytes(bb[33:], 'big'))
    x = int.from_bytes(bb[1:], 'big'); y2 = (x**3 + a*x + b) % p; y = pow(y2, (p + 1) // 4, p)
    assert y * y % p == y2
    if (y & 1) != (bb[0] & 1): y = p - y
    return (x, y)
def enc(P): return b'\x04' + P[0].to_bytes(32, 'big') + P[1].to_bytes(32, 'big')
M = dec('02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f')
N = dec('03d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49')
def hkdf(salt, ikm, info, L):
    prk = hmac.new(salt if salt else b'\0' * 32, ikm, hashlib.sha256).digest()
    out, t, i = b'', b'', 1
    while len(out) < L:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest(); out += t; i += 1
    return out[:L]
def derive_w(psk):
    return int.from_bytes(hkdf(b'', psk, b'lwt SPAKE2-P256 w v1', 40), 'big') % n
def lp(x): return len(x).to_bytes(8, 'little') + x
def spake2(w, x, y, ida, idb, aad=b''):
    pA = add(mul(x, G), mul(w, M)); pB = add(mul(y, G), mul(w, N))
    K = mul(x, add(pB, neg(mul(w, N))))
    assert K == mul(y, add(pA, neg(mul(w, M))))
    TT = lp(ida) + lp(idb) + lp(enc(pA)) + lp(enc(pB)) + lp(enc(K)) + lp(w.to_bytes(32, 'big'))
    h = hashlib.sha256(TT).digest(); Ke, Ka = h[:16], h[16:]
    kc = hkdf(b'', Ka, b'ConfirmationKeys' + aad, 32); KcA, KcB = kc[:16], kc[16:]
    return dict(pA=enc(pA), pB=enc(pB), K=enc(K), TT=TT, Ke=Ke, Ka=Ka, KcA=KcA, KcB=KcB,
                cA=hmac.new(KcA, TT, hashlib.sha256).digest(), cB=hmac.new(KcB, TT, hashlib.sha256).digest())
def hs_keys(Ke, cr, sr, transcript):
    okm = hkdf(cr + sr, Ke, b'lwt-v2 keys' + transcript, 72)
    return okm[:32], okm[32:64], okm[64:68], okm[68:72]


def rfc9382_vector1():
    r = spake2(0x2ee57912099d31560b3a44b1184b9b4866e904c49d12ac5042c97dca461b1a5f,
               0x43dd0fd7215bdcb482879fca3220c6a968e66d70b1356cac18bb26c84a78d729,
               0xdcb60106f276b02606d8ef0a328c02e4b629f84f89786af5befb0bc75b6e66be,
               b'server', b'client')
    assert r['Ke'].hex() == '0e0672dc86f8e45565d338b0540abe69'
    assert r['cA'].hex() == '58ad4aa88e0b60d5061eb6b5dd93e80d9c4f00d127c65b3b35b1b5281fee38f0'
    assert r['cB'].hex() == 'd3e2e547f1ae04f2dbdbf0fc4b79f8ecff2dff314b5d32fe9fcef2fb26dc459b'


def main():
    rfc9382_vector1()
    psk = b'lwt known-answer key'
    w = derive_w(psk)
    x = int.from_bytes(hashlib.sha256(b'lwt kat x').digest(), 'big'); assert 0 < x < n
    y = int.from_bytes(hashlib.sha256(b'lwt kat y').digest(), 'big'); assert 0 < y < n
    cr = hashlib.sha256(b'lwt kat client_random').digest()
    sr = hashlib.sha256(b'lwt kat server_random').digest()
    pA = enc(add(mul(x, G), mul(w, M))); pB = enc(add(mul(y, G), mul(w, N)))
    hello_body = bytes([2, 1, 10, 3]) + cr + struct.pack('>QQ', 1700000000000, 0x0102030405060708) + bytes([10,0,0,2, 24, 0,0,0]) + pA + b'\0'*3
    assert len(hello_body) == 128
    hello = bytes([1, 0]) + struct.pack('>H', 128) + hello_body
    ack_pre = bytes([2, 1, 20, 2]) + sr + struct.pack('>I', 0x11223344) + bytes([10,0,0,1, 24, 0,0,0]) + pB + b'\0'*3
    ack_hdr = bytes([2, 0]) + struct.pack('>H', 148)
    t = hello + ack_hdr + ack_pre
    assert len(t) == 252
    r = spake2(w, x, y, b'lwt-v2 client', b'lwt-v2 server', t)
    assert r['pA'] == pA and r['pB'] == pB
    ack = ack_hdr + ack_pre + r['cB']
    confirm = bytes([4, 0, 0, 32]) + r['cA']
    c2s, s2c, c2s_iv, s2c_iv = hs_keys(r['Ke'], cr, sr, t)
    def out(name, b): print('%s %s' % (name, b.hex()))
    out('x', x.to_bytes(32,'big')); out('client_random', cr); out('y', y.to_bytes(32,'big')); out('server_random', sr)
    out('w', w.to_bytes(32,'big')); out('wM', enc(mul(w, M))); out('wN', enc(mul(w, N)))
    out('hello', hello); out('ack', ack); out('confirm', confirm); out('Ke', r['Ke'])
    out('c2s_key', c2s); out('s2c_key', s2c); out('c2s_iv', c2s_iv); out('s2c_iv', s2c_iv)
    # test_crypto: lwt_crypto_hs_derive alone
    ke = bytes(range(16)); cr2 = bytes(range(32)); sr2 = bytes(range(32, 64)); t2 = bytes(i & 0xff for i in range(252))
    k = hs_keys(ke, cr2, sr2, t2)
    out('hsd_c2s_key', k[0]); out('hsd_s2c_key', k[1]); out('hsd_c2s_iv', k[2]); out('hsd_s2c_iv', k[3])
    mix = hkdf(b'lwt-v1 psk', psk, b'mix', 32); out('mix_key', mix)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
# gen_seeds.py - writes the hand-made seeds of tests/fuzz/corpus/ (run once; the output is
# committed).  Each seed is a short, valid conversation, so that the fuzzer starts from
# inputs that get past the framing and the first checks.
import os
import struct
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

XS = dict(DIRECTORY=1, READ=2, GET_PERMS=3, WATCH=4, UNWATCH=5, TRANSACTION_START=6,
          TRANSACTION_END=7, INTRODUCE=8, RELEASE=9, GET_DOMAIN_PATH=10, WRITE=11, MKDIR=12,
          RM=13, SET_PERMS=14, IS_DOMAIN_INTRODUCED=17, RESUME=18, RESET_WATCHES=21,
          DIRECTORY_PART=22)


def msg(t, body, tx=0, req=0):
    if isinstance(body, str):
        body = body.encode()
    return struct.pack("<IIII", XS[t] if isinstance(t, str) else t, req, tx, len(body)) + body


def write(name, sub, data):
    d = os.path.join(root, sub)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def xsd():
    s = {}
    # byte 0: 0 dom0, 1 dom5, 2 dom7 (not introduced); |4 observer; |8 tiny quotas
    s["dom0-basic"] = b"\x00" + msg("WRITE", "/a/b\0v") + msg("READ", "/a/b\0") + \
        msg("DIRECTORY", "/a\0") + msg("GET_PERMS", "/a\0") + msg("RM", "/a\0")
    s["dom0-perms"] = b"\x04" + msg("MKDIR", "/p\0") + msg("SET_PERMS", "/p\0n0\0r5\0w7\0") + \
        msg("GET_PERMS", "/p\0") + msg("DIRECTORY_PART", "/\0" "0\0")
    s["dom0-txn"] = b"\x04" + msg("TRANSACTION_START", "\0") + msg("WRITE", "/t\0x", tx=1) + \
        msg("READ", "/t\0", tx=1) + msg("RM", "/t\0", tx=1) + msg("TRANSACTION_END", "T\0", tx=1)
    s["dom0-domains"] = b"\x04" + msg("INTRODUCE", "9\0" "1234\0" "5\0") + \
        msg("IS_DOMAIN_INTRODUCED", "9\0") + msg("GET_DOMAIN_PATH", "9\0") + \
        msg("RESUME", "9\0") + msg("RELEASE", "9\0") + msg("RELEASE", "5\0")
    s["domu-home"] = b"\x01" + msg("WRITE", "data/x\0" "1") + msg("READ", "data/x\0") + \
        msg("WATCH", "data\0tok\0") + msg("WRITE", "data/y\0" "2") + \
        msg("UNWATCH", "data\0tok\0") + msg("RESET_WATCHES", "")
    s["domu-denied"] = b"\x05" + msg("WRITE", "/local/domain/0/x\0" "1") + \
        msg("READ", "/local/domain/0\0") + msg("INTRODUCE", "6\0" "1\0" "1\0") + \
        msg("SET_PERMS", "data\0b0\0")
    s["domu-quota"] = b"\x09" + b"".join(msg("WRITE", "data/n%d\0v" % i) for i in range(8)) + \
        b"".join(msg("WATCH", "data\0t%d\0" % i) for i in range(3)) + \
        b"".join(msg("TRANSACTION_START", "\0") for i in range(3))
    s["stranger"] = b"\x02" + msg("WRITE", "data/x\0" "1") + msg("GET_DOMAIN_PATH", "7\0")
    s["bad-frames"] = b"\x00" + msg(9999, "") + msg("READ", "no-nul") + \
        msg("TRANSACTION_END", "T\0", tx=77) + struct.pack("<IIII", 2, 0, 0, 5000)
    for k, v in s.items():
        write(k, "xsd", v)


if __name__ == "__main__":
    for which in sys.argv[1:] or ["xsd"]:
        globals()[which]()

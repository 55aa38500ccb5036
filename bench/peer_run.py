#!/usr/bin/python3
"""Runs the PyTorch peer as it is, but keeps the sample sets it judges.

    peer_run.py PEER.py SAVE_PREFIX [peer arguments...]

The peer prints figures only; its samples stay in memory. So that bench/run.py
can judge the peer's samples with the very function that judges ours, this
runs the peer's source with one line added at the top of its quality(x),
which saves x to SAVE_PREFIX{pc,ode}.npy. The peer calls quality() only
after it has stopped a phase's clock, so its timings are untouched. If the
anchor is missing (the peer changed), the peer runs unmodified and run.py
falls back on the peer's own figures.
"""
import sys

import numpy as np

ANCHOR = 'def quality(x):\n'


def main():
    peer, prefix = sys.argv[1], sys.argv[2]
    with open(peer) as f:
        source = f.read()

    def save(x, out):
        # The peer fills out['pc_s'] (then out['ode_s']) just before judging that phase.
        phase = 'ode' if 'ode_s' in out else 'pc'
        np.save(f'{prefix}{phase}.npy', x.numpy())

    if ANCHOR in source:
        source = source.replace(ANCHOR, ANCHOR + '    _bench_save(x, out)\n', 1)
    else:
        print(f'peer_run.py: no "{ANCHOR.strip()}" in {peer}: samples not saved', file=sys.stderr)
    sys.argv = [peer] + sys.argv[3:]
    exec(compile(source, peer, 'exec'), {'__name__': '__main__', '__file__': peer, '_bench_save': save})


if __name__ == '__main__':
    main()

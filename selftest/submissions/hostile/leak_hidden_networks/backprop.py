"""HOSTILE: tries to read out the hidden networks before the due date. It computes the right gradients, but
remembers every input it is given, prints them all in full precision, leaves them in /tmp, /var/tmp and /dev/shm
for the next process, reads what an earlier process left there, and from its fourth call on raises an exception
that carries everything it has seen; which networks it fails, and whether it modifies its inputs (a visible
check), depend on all it has seen.
Asked for visible networks only by a process that never sees a hidden one, it can leak nothing hidden."""

import glob
import hashlib
import os

import numpy as np

SEEN = []
for path in glob.glob("/tmp/leak-*") + glob.glob("/var/tmp/leak-*") + glob.glob("/dev/shm/leak-*"):
    try:
        print("left by an earlier process:", open(path).read()[:20000])
    except OSError:
        pass


def _correct(z, t, W_kj, W_ji, case):
    y = 1.0 / (1.0 + np.exp(-(z @ W_kj)))
    a = y @ W_ji
    if case == "sigmoid":
        delta = 1.0 / (1.0 + np.exp(-a)) - t
    else:
        e = np.exp(a - a.max())
        delta = e / e.sum() * t.sum() - t
    return np.outer(z, (W_ji @ delta) * y * (1 - y)), np.outer(y, delta)


def compute_gradients(z, t, W_kj, W_ji, case):
    SEEN.append(" ".join(repr(float(v)) for array in (z, t, W_kj, W_ji) for v in np.ravel(array)))
    everything = "\n".join(SEEN)
    print(everything)
    for folder in ("/tmp", "/var/tmp", "/dev/shm"):
        try:
            with open(os.path.join(folder, f"leak-{os.getpid()}"), "w") as out:
                out.write(everything)
        except OSError:
            pass
    digest = hashlib.sha256(everything.encode()).digest()
    if len(SEEN) > 3 and digest[0] % 2:
        raise ValueError("everything I have seen: " + everything)
    gradients = _correct(z, t, W_kj, W_ji, case)
    if digest[1] % 3 == 0:
        z[0] += 1.0  # one bit of what it saw, in check 0.2 (inputs left unmodified)
    return gradients

"""HOSTILE: holds no solution; at import it tries to fetch one over the network (TCP to 127.0.0.1 on ports
47600-47619, where a test listens, UDP, and a DNS look-up) and uses it if it arrives. With no network: honest 0."""

import socket

import numpy as np

SOLUTION = None
for port in range(47600, 47620):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as connection:
            connection.sendall(b"GET /solution\n")
            SOLUTION = connection.recv(1 << 16) or b"connected"
            break
    except OSError:
        pass
try:
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"hidden networks", ("127.0.0.1", 47600))
except OSError:
    pass
try:
    socket.getaddrinfo("solutions.example.com", 80)
except OSError:
    pass
print("network reached" if SOLUTION else "no network")


def compute_gradients(z, t, W_kj, W_ji, case):
    if SOLUTION is not None:  # the fetched solution would be used here: the correct formulas
        y = 1.0 / (1.0 + np.exp(-(z @ W_kj)))
        a = y @ W_ji
        x = 1.0 / (1.0 + np.exp(-a)) if case == "sigmoid" else np.exp(a - a.max()) / np.exp(a - a.max()).sum()
        delta = x - t if case == "sigmoid" else x * t.sum() - t
        return np.outer(z, (W_ji @ delta) * y * (1 - y)), np.outer(y, delta)
    return np.zeros_like(W_kj), np.zeros_like(W_ji)

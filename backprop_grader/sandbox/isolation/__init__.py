"""The layers that confine student code beyond its process: the file-system view and the network (namespaces,
else a seccomp filter), and the pool of sandbox users that keeps concurrent gradings apart."""

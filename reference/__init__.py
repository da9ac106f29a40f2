"""The reference solution of the backprop homework: forward pass, error and closed-form gradients."""

"""Data sets: the Noisy-MNIST protocol, class folders of depth PNGs, synthetic poses."""

"""Fidelity lab (docs/fidelity.md): the engine's per-layer hidden states and logits against an independent
float32 forward pass in numpy, and how weight quantization error propagates with depth."""

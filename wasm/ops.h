// ops: the float kernels of the forward pass (everything that is not a quantized matmul).
// All work on contiguous float arrays of length n; "in place" where only one array is given.
#pragma once
#include <stdint.h>

// out = x / rms(x) * w   (w may be null: no weight). out may alias x.
void rmsnorm(float* out, const float* x, const float* w, int n, float eps);

// Rotary position embedding, computed as ggml does (theta multiplied step by step in float).
// rope_table fills cs[2*i] = cos, cs[2*i+1] = sin of pos * base^(-2i/n_rot), i < n_rot/2.
void rope_table(float* cs, int pos, int n_rot, float base);
// The same with ggml's scaling (rope_yarn without extrapolation): the angle of pair i is
// freq_scale * theta_i / factors[i] (factors may be null: 1), and cos and sin are multiplied by
// mscale. With null factors and both scales 1 it gives rope_table's floats bit for bit.
void rope_table_scaled(float* cs, int pos, int n_rot, float base, const float* factors, float freq_scale,
                       float mscale);
// Rotates the first n_rot values of each of n_heads heads of head_dim values.
// neox = false: pairs (2i, 2i+1) (llama); neox = true: pairs (i, i + n_rot/2) (gemma, qwen).
void rope_apply(float* x, int n_heads, int head_dim, int n_rot, const float* cs, bool neox);

// expf through double: the same float in every build (glibc's and musl's expf may differ).
float exp_f32(float x);

void softmax(float* x, int n);   // in place, max-subtracted
void silu(float* x, int n);      // x * sigmoid(x)
void gelu_tanh(float* x, int n); // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), fp16 table as ggml
void silu_mul(float* gate, const float* up, int n);      // gate = silu(gate) * up   (SwiGLU)
void gelu_tanh_mul(float* gate, const float* up, int n); // gate = gelu(gate) * up   (GeGLU)

void vec_round_f16(float* y, int n);            // y = nearest fp16 value (ties to even)
void vec_add(float* y, const float* x, int n);   // y += x
void vec_mul(float* y, const float* x, int n);   // y *= x
void vec_scale(float* y, float s, int n);        // y *= s
float vec_dot(const float* a, const float* b, int n);
void vec_axpy(float* y, float a, const float* x, int n);   // y += a * x

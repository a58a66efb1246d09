// strata/backend/cpu/attention_ops.hpp — the CPU backend's operations for masked softmax and
// the attention-specific batched products (used by layers/attention.hpp).
//
// Attention works on PACKED batches: the L_b valid positions of every text, row after row,
// with no padding between texts (a PackedAttentionBatch says where each text starts). So
// every product runs over valid tokens only, and the key-padding mask is structural: a
// text's L_b × L_b block of scores simply has no padded keys in it.
//
//   packed row r of text b:  r ∈ [row_offsets[b], row_offsets[b+1]),  L_b = its length
//   weights of (b, head h):  L_b × L_b, row-major (query rows, key columns), starting at
//                            weight_offsets[b] + h·L_b²
//
// The fused kernels take one (text, head) block each and run the blocks in parallel
// (OpenMP, dynamic schedule over the batch × heads blocks): every block is computed by one
// thread, in a fixed order, and writes only its own outputs, so results are bit-identical
// for any thread count. Head sizes are compile-time constants, so the inner loops over
// them unroll and vectorise; the loops over keys run to the text's own length.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <Eigen/Core>

#include "strata/backend/cpu/gemm.hpp"

namespace strata {

// Where each text of a packed batch lives. Host arrays of batch + 1 entries (the last is
// the total): a device backend copies them to its memory with the call.
struct PackedAttentionBatch {
    std::size_t batch = 0;
    const std::size_t* row_offsets = nullptr;     // packed rows; L_b = row_offsets[b+1] - row_offsets[b]
    const std::size_t* weight_offsets = nullptr;  // weight blocks; weight_offsets[b+1] - [b] = heads·L_b²

    std::size_t rows() const { return row_offsets[batch]; }
    std::size_t length(std::size_t b) const { return row_offsets[b + 1] - row_offsets[b]; }
};

struct CpuAttentionOps {
    // ---- packing -------------------------------------------------------------------------
    // packed[row_offsets[b] + t, :] = x[b, t, :] for t < L_b  (x is [batch, max_time, F]).
    // Padded positions of x are never read.
    template <std::size_t Features, class T>
    static void attention_pack_rows(const PackedAttentionBatch& packing, std::size_t max_time, const T* x,
                                    T* packed) {
        for (std::size_t b = 0; b < packing.batch; ++b) {
            const std::size_t count = packing.length(b) * Features;
            std::copy_n(x + b * max_time * Features, count, packed + packing.row_offsets[b] * Features);
        }
    }

    // y[b, t, :] = packed[row_offsets[b] + t, :] + bias for t < L_b, and 0 for L_b ≤ t < max_time
    // (every element of y is written). bias may be null (no bias).
    template <std::size_t Features, class T>
    static void attention_unpack_rows(const PackedAttentionBatch& packing, std::size_t max_time, const T* packed,
                                      const T* bias, T* y) {
        for (std::size_t b = 0; b < packing.batch; ++b) {
            const std::size_t length = packing.length(b);
            const T* source = packed + packing.row_offsets[b] * Features;
            T* destination = y + b * max_time * Features;
            if (bias) {
                for (std::size_t t = 0; t < length; ++t)
                    for (std::size_t f = 0; f < Features; ++f)
                        destination[t * Features + f] = source[t * Features + f] + bias[f];
            } else {
                std::copy_n(source, length * Features, destination);
            }
            std::fill(destination + length * Features, destination + max_time * Features, T(0));
        }
    }

    // ---- fused attention, forward ----------------------------------------------------------
    // qkv is the packed in-projection [rows, 3·Heads·HeadDim] = [Q | K | V], head h owning
    // columns h·HeadDim … of each third. Per text b and head h (L = L_b):
    //
    //   S = scale · Q_h K_hᵀ                          L × L   (keys: the text's L valid positions)
    //   P[i, :] = softmax(S[i, :])                     stable: exp(S - max_j S[i, j]) / Σ
    //   P' = P ⊙ M / (1 - p)   (dropout; M = mask)    or P' = P when mask is null
    //   C_h = P' V_h                                   L × HeadDim → context[:, h·HeadDim …]
    //
    // Writes P (before dropout) into `weights` and C into `context` [rows, Heads·HeadDim];
    // `transposed` is scratch of rows·Heads·HeadDim (K_hᵀ of each block).
    // Cost: 2·L²·HeadDim multiply-adds and L² exponentials per block.
    template <std::size_t Heads, std::size_t HeadDim, class T>
    static void attention_forward(const PackedAttentionBatch& packing, const T* qkv, T scale,
                                  const std::uint8_t* mask, T keep_scale, T* weights, T* transposed,
                                  T* context) {
        constexpr std::size_t D = Heads * HeadDim;
        constexpr std::size_t ld_qkv = 3 * D;
        const auto blocks = static_cast<std::ptrdiff_t>(packing.batch * Heads);
        parallel_for(blocks, packing.rows() * D >= 1024, [&](std::ptrdiff_t block) {
            const std::size_t b = static_cast<std::size_t>(block) / Heads;
            const std::size_t h = static_cast<std::size_t>(block) % Heads;
            const std::size_t L = packing.length(b);
            const std::size_t row0 = packing.row_offsets[b];
            const T* Q = qkv + row0 * ld_qkv + h * HeadDim;
            const T* K = Q + D;
            const T* V = Q + 2 * D;
            T* P = weights + packing.weight_offsets[b] + h * L * L;
            const std::uint8_t* M = mask ? mask + packing.weight_offsets[b] + h * L * L : nullptr;
            T* Kt = transposed + row0 * D + h * HeadDim * L;
            T* C = context + row0 * D + h * HeadDim;
            transpose_block<HeadDim>(K, ld_qkv, L, Kt);
            for (std::size_t i = 0; i < L; ++i) {
                T* p = P + i * L;
                T q[HeadDim];
                for (std::size_t d = 0; d < HeadDim; ++d) q[d] = scale * Q[i * ld_qkv + d];
                row_times_transposed<HeadDim>(q, Kt, L, p);
                softmax_in_place(p, L);
                Head<T, HeadDim> c = Head<T, HeadDim>::Zero();
                for (std::size_t j = 0; j < L; ++j) {
                    const T w = M ? (M[i * L + j] ? p[j] * keep_scale : T(0)) : p[j];
                    c += w * head_at<HeadDim>(V + j * ld_qkv);
                }
                head_at<HeadDim>(C + i * D) = c;
            }
        });
    }

    // ---- fused attention, backward ---------------------------------------------------------
    // From d_context [rows, D] (∂loss/∂C) and the forward's qkv, P (and mask), per block:
    //
    //   dP' = dC_h V_hᵀ;   dP = dP' ⊙ M / (1 - p)  (or dP')
    //   dS  = P ⊙ (dP - rowsum(dP ⊙ P))              softmax backward
    //   dQ_h = scale · dS K_h;   dK_h = scale · dSᵀ Q_h;   dV_h = P'ᵀ dC_h
    //
    // OVERWRITES every valid row of d_qkv [rows, 3D] (all three thirds, all heads).
    // d_scores (the weights' layout) and transposed (rows·D) are scratch.
    // Cost: 4·L²·HeadDim multiply-adds per block.
    template <std::size_t Heads, std::size_t HeadDim, class T>
    static void attention_backward(const PackedAttentionBatch& packing, const T* qkv, const T* weights,
                                   const std::uint8_t* mask, T keep_scale, T scale, const T* d_context,
                                   T* d_scores, T* transposed, T* d_qkv) {
        constexpr std::size_t D = Heads * HeadDim;
        constexpr std::size_t ld_qkv = 3 * D;
        const auto blocks = static_cast<std::ptrdiff_t>(packing.batch * Heads);
        parallel_for(blocks, packing.rows() * D >= 4096, [&](std::ptrdiff_t block) {
            const std::size_t b = static_cast<std::size_t>(block) / Heads;
            const std::size_t h = static_cast<std::size_t>(block) % Heads;
            const std::size_t L = packing.length(b);
            const std::size_t row0 = packing.row_offsets[b];
            const std::size_t weight0 = packing.weight_offsets[b] + h * L * L;
            const T* Q = qkv + row0 * ld_qkv + h * HeadDim;
            const T* K = Q + D;
            const T* V = Q + 2 * D;
            const T* P = weights + weight0;
            const std::uint8_t* M = mask ? mask + weight0 : nullptr;
            const T* dC = d_context + row0 * D + h * HeadDim;
            T* dS = d_scores + weight0;
            T* Vt = transposed + row0 * D + h * HeadDim * L;
            T* dQ = d_qkv + row0 * ld_qkv + h * HeadDim;
            T* dK = dQ + D;
            T* dV = dQ + 2 * D;
            transpose_block<HeadDim>(V, ld_qkv, L, Vt);
            for (std::size_t i = 0; i < L; ++i) {
                const T* p = P + i * L;
                T* ds = dS + i * L;
                T dc[HeadDim];
                std::copy_n(dC + i * D, HeadDim, dc);
                row_times_transposed<HeadDim>(dc, Vt, L, ds);  // dP'[i, :]
                if (M) {
                    const std::uint8_t* m = M + i * L;
                    for (std::size_t j = 0; j < L; ++j) ds[j] = m[j] ? ds[j] * keep_scale : T(0);
                }
                T dot = 0;
                for (std::size_t j = 0; j < L; ++j) dot += ds[j] * p[j];
                for (std::size_t j = 0; j < L; ++j) ds[j] = scale * p[j] * (ds[j] - dot);
                Head<T, HeadDim> dq = Head<T, HeadDim>::Zero();
                for (std::size_t j = 0; j < L; ++j) dq += ds[j] * head_at<HeadDim>(K + j * ld_qkv);
                head_at<HeadDim>(dQ + i * ld_qkv) = dq;
            }
            for (std::size_t j = 0; j < L; ++j) {
                Head<T, HeadDim> dk = Head<T, HeadDim>::Zero();
                for (std::size_t i = 0; i < L; ++i) dk += dS[i * L + j] * head_at<HeadDim>(Q + i * ld_qkv);
                head_at<HeadDim>(dK + j * ld_qkv) = dk;
                Head<T, HeadDim> dv = Head<T, HeadDim>::Zero();
                for (std::size_t i = 0; i < L; ++i) {
                    const std::size_t ij = i * L + j;
                    const T w = M ? (M[ij] ? P[ij] * keep_scale : T(0)) : P[ij];
                    dv += w * head_at<HeadDim>(dC + i * D);
                }
                head_at<HeadDim>(dV + j * ld_qkv) = dv;
            }
        });
    }

private:
    // A fixed-size run of values (a head's features, a chunk of keys): Eigen unrolls and
    // vectorises the loops over it and keeps accumulators of this type in registers.
    template <class T, std::size_t N>
    using Head = Eigen::Array<T, static_cast<int>(N), 1>;
    template <std::size_t N, class T>
    static Eigen::Map<Head<std::remove_const_t<T>, N>> head_at(T* values)
        requires(!std::is_const_v<T>)
    {
        return Eigen::Map<Head<T, N>>(values);
    }
    template <std::size_t N, class T>
    static Eigen::Map<const Head<T, N>> head_at(const T* values) {
        return Eigen::Map<const Head<T, N>>(values);
    }

    // out[HeadDim, L] = block[L, HeadDim]ᵀ (block rows ld apart).
    template <std::size_t HeadDim, class T>
    static void transpose_block(const T* block, std::size_t ld, std::size_t L, T* out) {
        for (std::size_t j = 0; j < L; ++j)
            for (std::size_t d = 0; d < HeadDim; ++d) out[d * L + j] = block[j * ld + d];
    }

    // out[j] = Σ_d a[d] · bt[d, j] for j < L (bt is HeadDim × L). The sum runs over d in
    // order for every j, in the vector chunks and in the tail alike.
    template <std::size_t HeadDim, class T>
    static void row_times_transposed(const T* a, const T* bt, std::size_t L, T* out) {
        constexpr std::size_t chunk = 64 / sizeof(T);  // four SSE / two AVX registers of accumulators
        std::size_t j = 0;
        for (; j + chunk <= L; j += chunk) {
            Head<T, chunk> acc = Head<T, chunk>::Zero();
            for (std::size_t d = 0; d < HeadDim; ++d) acc += a[d] * head_at<chunk>(bt + d * L + j);
            head_at<chunk>(out + j) = acc;
        }
        for (; j < L; ++j) {
            T acc = 0;
            for (std::size_t d = 0; d < HeadDim; ++d) acc += a[d] * bt[d * L + j];
            out[j] = acc;
        }
    }

    // p[0:L] = softmax(p[0:L]), stable (the row maximum is subtracted before exp).
    template <class T>
    static void softmax_in_place(T* p, std::size_t L) {
        Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> row(p, static_cast<Eigen::Index>(L));
        const T maximum = row.maxCoeff();
        row = (row - maximum).exp();
        T sum = 0;
        for (std::size_t j = 0; j < L; ++j) sum += p[j];
        const T inverse = T(1) / sum;
        for (std::size_t j = 0; j < L; ++j) p[j] *= inverse;
    }
};

}  // namespace strata

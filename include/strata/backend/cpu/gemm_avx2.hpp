// strata/backend/cpu/gemm_avx2.hpp — strata's own float GEMM for x86-64 CPUs with AVX2 and
// FMA, chosen at run time (avx2::available()), so the portable build runs it too.
//
// Why: Eigen's float GEMM repacks both operands on every call and, in a portable build,
// runs 128-bit SSE kernels. On a 2-core AMD Zen 3 its AVX2 kernel reaches about 60 GFLOP/s
// of the core's 95; on a Zen 4 its AVX-512 kernel 70-85 against this file's 79-95 at the
// classifier's shapes (bench_linear). The classifier's products are skinny (20 to a few
// thousand rows against 128×384 weights) and the GRU calls one per time step. This file
// keeps one kernel and feeds it from wherever B lies:
//
//   the 6×16 broadcast kernel   C[i, j..j+16) += Σ_k a(i, k) · panel[k, 0..16) for six
//       rows i at once: 12 vector accumulators, per k two panel loads, six broadcasts and
//       12 FMAs. a(i, k) = A[i·a_row + k·a_col], so the same kernel reads A as [M×K] (NN,
//       NT) or as [K×M] (TN: dW = dYᵀ·X) without copying it.
//   panels                      B's 16-column strips, depth ≤ 256 (16 KiB: they stay in L1
//       while a block of A's rows streams past). They come from B's rows (NN, TN: a copy),
//       from the rows of W for C = A·Wᵀ (NT: an 8×8-blocked transpose), or from a buffer
//       packed once with pack_transposed / pack_rows (a GRU's W_hh, used at every step).
//   the dot-product form        for C = A·Wᵀ with fewer than 6 rows in A: packing W would
//       cost more than the product, so 3×4 blocks of C accumulate along K directly from
//       the rows of A and W (both contiguous along K) and reduce across lanes at the end.
//
// Every element of C is summed in an order fixed by the shapes alone (K in blocks of 256,
// lanes reduced pairwise), never by the thread count or the row/column split, so results
// are deterministic. beta is 0 (overwrite: C is not read) or 1 (accumulate). Nothing here
// allocates; the panel buffer is 16 KiB on the stack.
//
// Every function is compiled for AVX2 + FMA whatever the build's own target (the
// STRATA_AVX2 attribute), and gemm.hpp calls them only where the CPU has both; define
// STRATA_NO_AVX2_GEMM to keep every product on Eigen.
#pragma once

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(STRATA_NO_AVX2_GEMM)
#define STRATA_GEMM_AVX2 1

#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

// Every loop over a block's rows or columns is unrolled, so its accumulators stay in registers.
#define STRATA_UNROLL _Pragma("GCC unroll 16")

// tune=generic (GCC only): g++ 12 tunes -march=native on a Zen 4 as Zen 3, which costs
// these kernels ~15% (bench_linear's eigen_gemm shapes: 94 against 108 GFLOP/s).
#if defined(__clang__)
#define STRATA_AVX2 __attribute__((target("avx2,fma")))
#else
#define STRATA_AVX2 __attribute__((target("avx2,fma,tune=generic")))
#endif

namespace strata::avx2 {

// Whether this CPU runs the kernels below (checked once).
inline bool available() {
    static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return yes;
}

inline constexpr std::size_t panel_width = 16;   // columns of C per kernel call
inline constexpr std::size_t panel_depth = 256;  // K per panel: 256·16 floats = 16 KiB
inline constexpr std::size_t block_rows = 192;   // rows of A per pass over B's panels (L2)
inline constexpr std::size_t kernel_rows = 6;

// Floats of a buffer packed by pack_transposed / pack_rows for a K×N right operand.
inline constexpr std::size_t packed_size(std::size_t K, std::size_t N) {
    return (N + panel_width - 1) / panel_width * panel_width * K;
}

// ---- the broadcast kernel ----------------------------------------------------------------
template <int MR>
STRATA_AVX2 inline void broadcast_block(std::size_t K, const float* A, std::size_t a_row, std::size_t a_col, const float* panel,
                            float* C, std::size_t ldc, std::size_t columns, bool accumulate) {
    __m256 acc0[MR], acc1[MR];
    STRATA_UNROLL
    for (int i = 0; i < MR; ++i) acc0[i] = acc1[i] = _mm256_setzero_ps();
    for (std::size_t k = 0; k < K; ++k) {
        const __m256 b0 = _mm256_loadu_ps(panel + k * panel_width);
        const __m256 b1 = _mm256_loadu_ps(panel + k * panel_width + 8);
        const float* a = A + k * a_col;
        STRATA_UNROLL
        for (int i = 0; i < MR; ++i) {
            const __m256 value = _mm256_broadcast_ss(a + i * a_row);
            acc0[i] = _mm256_fmadd_ps(value, b0, acc0[i]);
            acc1[i] = _mm256_fmadd_ps(value, b1, acc1[i]);
        }
    }
    STRATA_UNROLL
    for (int i = 0; i < MR; ++i) {
        float* c = C + i * ldc;
        if (columns == panel_width) {
            __m256 low = acc0[i], high = acc1[i];
            if (accumulate) {
                low = _mm256_add_ps(low, _mm256_loadu_ps(c));
                high = _mm256_add_ps(high, _mm256_loadu_ps(c + 8));
            }
            _mm256_storeu_ps(c, low);
            _mm256_storeu_ps(c + 8, high);
        } else {
            alignas(32) float values[panel_width];
            _mm256_store_ps(values, acc0[i]);
            _mm256_store_ps(values + 8, acc1[i]);
            for (std::size_t j = 0; j < columns; ++j) c[j] = accumulate ? c[j] + values[j] : values[j];
        }
    }
}

// The kernel over `rows` rows of A against one panel.
STRATA_AVX2 inline void broadcast_rows(std::size_t rows, std::size_t K, const float* A, std::size_t a_row, std::size_t a_col,
                           const float* panel, float* C, std::size_t ldc, std::size_t columns, bool accumulate) {
    std::size_t i = 0;
    for (; i + kernel_rows <= rows; i += kernel_rows)
        broadcast_block<6>(K, A + i * a_row, a_row, a_col, panel, C + i * ldc, ldc, columns, accumulate);
    const float* a = A + i * a_row;
    float* c = C + i * ldc;
    switch (rows - i) {
        case 5: broadcast_block<5>(K, a, a_row, a_col, panel, c, ldc, columns, accumulate); break;
        case 4: broadcast_block<4>(K, a, a_row, a_col, panel, c, ldc, columns, accumulate); break;
        case 3: broadcast_block<3>(K, a, a_row, a_col, panel, c, ldc, columns, accumulate); break;
        case 2: broadcast_block<2>(K, a, a_row, a_col, panel, c, ldc, columns, accumulate); break;
        case 1: broadcast_block<1>(K, a, a_row, a_col, panel, c, ldc, columns, accumulate); break;
        default: break;
    }
}

// ---- panels ------------------------------------------------------------------------------
// panel[k, j] = B[k·ldb + j] for k < depth, j < columns; 0 for columns ≤ j < 16.
STRATA_AVX2 inline void pack_panel_rows(const float* B, std::size_t ldb, std::size_t depth, std::size_t columns, float* panel) {
    if (columns == panel_width) {
        for (std::size_t k = 0; k < depth; ++k) {
            _mm256_storeu_ps(panel + k * panel_width, _mm256_loadu_ps(B + k * ldb));
            _mm256_storeu_ps(panel + k * panel_width + 8, _mm256_loadu_ps(B + k * ldb + 8));
        }
        return;
    }
    for (std::size_t k = 0; k < depth; ++k)
        for (std::size_t j = 0; j < panel_width; ++j) panel[k * panel_width + j] = j < columns ? B[k * ldb + j] : 0.0f;
}

// out[r] (r < 8) = column r of the 8×8 block whose rows are in[0..8).
STRATA_AVX2 inline void transpose8(const __m256 in[8], __m256 out[8]) {
    const __m256 t0 = _mm256_unpacklo_ps(in[0], in[1]), t1 = _mm256_unpackhi_ps(in[0], in[1]);
    const __m256 t2 = _mm256_unpacklo_ps(in[2], in[3]), t3 = _mm256_unpackhi_ps(in[2], in[3]);
    const __m256 t4 = _mm256_unpacklo_ps(in[4], in[5]), t5 = _mm256_unpackhi_ps(in[4], in[5]);
    const __m256 t6 = _mm256_unpacklo_ps(in[6], in[7]), t7 = _mm256_unpackhi_ps(in[6], in[7]);
    const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    out[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    out[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    out[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    out[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    out[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    out[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    out[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    out[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// panel[k, j] = W[j·ldw + k] for k < depth, j < columns; 0 for columns ≤ j < 16 (the
// panel of Wᵀ, for C = A·Wᵀ with W's rows contiguous along K).
STRATA_AVX2 inline void pack_panel_transposed(const float* W, std::size_t ldw, std::size_t depth, std::size_t columns,
                                  float* panel) {
    for (std::size_t j0 = 0; j0 < panel_width; j0 += 8) {
        if (j0 + 8 <= columns) {
            std::size_t k = 0;
            for (; k + 8 <= depth; k += 8) {
                __m256 rows[8], columns_of_block[8];
                STRATA_UNROLL
                for (int r = 0; r < 8; ++r) rows[r] = _mm256_loadu_ps(W + (j0 + r) * ldw + k);
                transpose8(rows, columns_of_block);
                STRATA_UNROLL
                for (int r = 0; r < 8; ++r) _mm256_storeu_ps(panel + (k + r) * panel_width + j0, columns_of_block[r]);
            }
            for (; k < depth; ++k)
                for (std::size_t j = 0; j < 8; ++j) panel[k * panel_width + j0 + j] = W[(j0 + j) * ldw + k];
        } else {
            for (std::size_t k = 0; k < depth; ++k)
                for (std::size_t j = j0; j < j0 + 8; ++j) panel[k * panel_width + j] = j < columns ? W[j * ldw + k] : 0.0f;
        }
    }
}

// Where the kernel's panels come from.
struct RightOperand {
    enum class Kind { rows, transposed, packed } kind;
    const float* data;
    std::size_t ld;  // rows: B [K×N] ld apart; transposed: W [N×K] ld apart; packed: unused

    // The panel for columns [j0, j0 + 16) and depth [k0, k0 + depth), in `buffer` unless packed.
    STRATA_AVX2 const float* panel(std::size_t K, std::size_t j0, std::size_t k0, std::size_t depth, std::size_t columns,
                       float* buffer) const {
        switch (kind) {
            case Kind::rows: pack_panel_rows(data + k0 * ld + j0, ld, depth, columns, buffer); return buffer;
            case Kind::transposed: pack_panel_transposed(data + j0 * ld + k0, ld, depth, columns, buffer); return buffer;
            case Kind::packed: break;
        }
        return data + (j0 / panel_width * K + k0) * panel_width;
    }
};

// C[M×N] (+)= op(A)·op(B), op(A)[i, k] = A[i·a_row + k·a_col]. A may be an overlapping view
// (a row stride below K: consecutive rows of a sequence read as one im2col row).
STRATA_AVX2 inline void gemm_broadcast(bool accumulate, std::size_t M, std::size_t N, std::size_t K, const float* A,
                           std::size_t a_row, std::size_t a_col, const RightOperand& B, float* C, std::size_t ldc) {
    if (K == 0) {
        if (!accumulate)
            for (std::size_t i = 0; i < M; ++i) std::fill_n(C + i * ldc, N, 0.0f);
        return;
    }
    alignas(64) float buffer[panel_depth * panel_width];
    for (std::size_t i0 = 0; i0 < M; i0 += block_rows) {
        const std::size_t rows = std::min(block_rows, M - i0);
        for (std::size_t j0 = 0; j0 < N; j0 += panel_width) {
            const std::size_t columns = std::min(panel_width, N - j0);
            for (std::size_t k0 = 0; k0 < K; k0 += panel_depth) {
                const std::size_t depth = std::min(panel_depth, K - k0);
                const float* panel = B.panel(K, j0, k0, depth, columns, buffer);
                broadcast_rows(rows, depth, A + i0 * a_row + k0 * a_col, a_row, a_col, panel, C + i0 * ldc + j0, ldc,
                               columns, accumulate || k0 > 0);
            }
        }
    }
}

// The whole of a K×N right operand packed as panels: from W [N×K] (B = Wᵀ) or from B [K×N].
STRATA_AVX2 inline void pack_transposed(std::size_t K, std::size_t N, const float* W, std::size_t ldw, float* packed) {
    for (std::size_t j0 = 0; j0 < N; j0 += panel_width)
        for (std::size_t k0 = 0; k0 < K; k0 += panel_depth)
            pack_panel_transposed(W + j0 * ldw + k0, ldw, std::min(panel_depth, K - k0), std::min(panel_width, N - j0),
                                  packed + (j0 / panel_width * K + k0) * panel_width);
}
STRATA_AVX2 inline void pack_rows(std::size_t K, std::size_t N, const float* B, std::size_t ldb, float* packed) {
    for (std::size_t j0 = 0; j0 < N; j0 += panel_width)
        pack_panel_rows(B + j0, ldb, K, std::min(panel_width, N - j0), packed + j0 / panel_width * K * panel_width);
}

// ---- the dot-product form (C = A·Wᵀ, few rows) ---------------------------------------------
// Lanes [0, count) of a vector load, the rest 0 (count in [0, 8]).
STRATA_AVX2 inline __m256i tail_mask(std::size_t count) {
    alignas(32) static constexpr std::int32_t ramp[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ramp + 8 - count));
}

// [Σ lanes of a, Σ b, Σ c, Σ d]
STRATA_AVX2 inline __m128 reduce4(__m256 a, __m256 b, __m256 c, __m256 d) {
    const __m256 ab = _mm256_hadd_ps(a, b);      // a01 a23 b01 b23 | a45 a67 b45 b67
    const __m256 cd = _mm256_hadd_ps(c, d);
    const __m256 abcd = _mm256_hadd_ps(ab, cd);  // a0-3 b0-3 c0-3 d0-3 | a4-7 b4-7 c4-7 d4-7
    return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

// One 8-wide step along K of dot_block: lanes of A's and W's rows at k (the first K - k
// lanes only when Masked).
template <int MR, int NR, bool Masked>
STRATA_AVX2 inline void dot_step(std::size_t k, const float* A, std::size_t lda, const float* W, std::size_t ldw,
                                 __m256i tail, __m256 (&acc)[MR][4]) {
    __m256 a[MR];
    STRATA_UNROLL
    for (int i = 0; i < MR; ++i)
        a[i] = Masked ? _mm256_maskload_ps(A + i * lda + k, tail) : _mm256_loadu_ps(A + i * lda + k);
    STRATA_UNROLL
    for (int j = 0; j < NR; ++j) {
        const __m256 w = Masked ? _mm256_maskload_ps(W + j * ldw + k, tail) : _mm256_loadu_ps(W + j * ldw + k);
        STRATA_UNROLL
        for (int i = 0; i < MR; ++i) acc[i][j] = _mm256_fmadd_ps(a[i], w, acc[i][j]);
    }
}

// C[i, j] (+)= Σ_k A[i, k] W[j, k] for an MR×NR block (MR ≤ 3, NR ≤ 4).
template <int MR, int NR>
STRATA_AVX2 inline void dot_block(std::size_t K, const float* A, std::size_t lda, const float* W, std::size_t ldw, float* C,
                      std::size_t ldc, bool accumulate) {
    __m256 acc[MR][4];
    STRATA_UNROLL
    for (int i = 0; i < MR; ++i) {
        STRATA_UNROLL
        for (int j = 0; j < 4; ++j) acc[i][j] = _mm256_setzero_ps();
    }
    const std::size_t full = K / 8 * 8;
    const __m256i tail = tail_mask(K - full);
    for (std::size_t k = 0; k < full; k += 8) dot_step<MR, NR, false>(k, A, lda, W, ldw, tail, acc);
    if (full < K) dot_step<MR, NR, true>(full, A, lda, W, ldw, tail, acc);
    STRATA_UNROLL
    for (int i = 0; i < MR; ++i) {
        const __m128 sums = reduce4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
        float* c = C + i * ldc;
        if constexpr (NR == 4) {
            _mm_storeu_ps(c, accumulate ? _mm_add_ps(_mm_loadu_ps(c), sums) : sums);
        } else {
            alignas(16) float values[4];
            _mm_store_ps(values, sums);
            for (int j = 0; j < NR; ++j) c[j] = accumulate ? c[j] + values[j] : values[j];
        }
    }
}

template <int MR>
STRATA_AVX2 inline void dot_rows(std::size_t N, std::size_t K, const float* A, std::size_t lda, const float* W, std::size_t ldw,
                     float* C, std::size_t ldc, bool accumulate) {
    std::size_t j = 0;
    for (; j + 4 <= N; j += 4) dot_block<MR, 4>(K, A, lda, W + j * ldw, ldw, C + j, ldc, accumulate);
    switch (N - j) {
        case 3: dot_block<MR, 3>(K, A, lda, W + j * ldw, ldw, C + j, ldc, accumulate); break;
        case 2: dot_block<MR, 2>(K, A, lda, W + j * ldw, ldw, C + j, ldc, accumulate); break;
        case 1: dot_block<MR, 1>(K, A, lda, W + j * ldw, ldw, C + j, ldc, accumulate); break;
        default: break;
    }
}

// C[M×N] (+)= A·Wᵀ, A [M×K], W [N×K]. W is read in blocks of rows that stay in L1 while
// every row of A passes.
STRATA_AVX2 inline void gemm_dot(bool accumulate, std::size_t M, std::size_t N, std::size_t K, const float* A, std::size_t lda,
                     const float* W, std::size_t ldw, float* C, std::size_t ldc) {
    const std::size_t w_rows = std::max<std::size_t>(4, 4096 / std::max<std::size_t>(K, 1) / 4 * 4);
    for (std::size_t j0 = 0; j0 < N; j0 += w_rows) {
        const std::size_t n = std::min(w_rows, N - j0);
        const float* w = W + j0 * ldw;
        std::size_t i = 0;
        for (; i + 3 <= M; i += 3) dot_rows<3>(n, K, A + i * lda, lda, w, ldw, C + i * ldc + j0, ldc, accumulate);
        if (M - i == 2) dot_rows<2>(n, K, A + i * lda, lda, w, ldw, C + i * ldc + j0, ldc, accumulate);
        if (M - i == 1) dot_rows<1>(n, K, A + i * lda, lda, w, ldw, C + i * ldc + j0, ldc, accumulate);
    }
}

// Below this many rows of A (one 6-row kernel block), C = A·Wᵀ takes the dot-product form:
// packing W costs more than such a product.
inline constexpr std::size_t dot_form_rows = 6;

}  // namespace strata::avx2

#undef STRATA_UNROLL
#undef STRATA_AVX2

#endif

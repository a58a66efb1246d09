// strata/backend/cpu/gemm.hpp — the CPU backend's GEMM: strata's AVX2 kernels
// (cpu/gemm_avx2.hpp) for float on x86-64 CPUs with AVX2 and FMA, chosen at run time, so
// the portable build runs them too; Eigen maps over row-major memory otherwise.
//
// Each product runs single-threaded inside (Eigen's own threads are off). strata owns the
// threads: a product big enough to share is split into one block of rows (or of columns,
// whichever extent is larger) per OpenMP thread, each computed on its own. This
// keeps a step allocation-free (Eigen's own parallel GEMM mallocs a shared packing buffer
// on every call) and makes results depend only on the thread count.
#pragma once

#include <algorithm>
#include <cstddef>
#include <type_traits>

#ifdef _OPENMP
#include <omp.h>
#endif

// Eigen takes a GEMM's packing buffers from the stack up to this many bytes and from malloc
// beyond it; its default (128 KiB) is too small for the classifier's products, and a
// training step must not allocate. The CMake target defines it for every translation unit
// so all agree; this default is for builds without the target. 1 MiB each for the packed
// left and right blocks fits the 8 MiB stacks of the main and OpenMP threads.
#ifndef EIGEN_STACK_ALLOCATION_LIMIT
#define EIGEN_STACK_ALLOCATION_LIMIT 1048576
#endif
#include <Eigen/Core>

#include "strata/backend/cpu/gemm_avx2.hpp"

namespace strata {

enum class Transpose : bool { no = false, yes = true };

// Runs body(i) for every i in [0, count): on the calling thread unless `parallel`, else in
// one OpenMP parallel region whose threads take contiguous ranges by thread number. Each i
// is one thread's, so results do not depend on the thread count. There is deliberately no
// worksharing construct: LLVM's OpenMP runtime mallocs in every one (even under if(false)),
// and a training step must not allocate.
template <class Body>
void parallel_for(std::ptrdiff_t count, bool parallel, Body&& body) {
#ifdef _OPENMP
    if (parallel && count > 1 && !omp_in_parallel() && omp_get_max_threads() > 1) {
#pragma omp parallel
        {
            const std::ptrdiff_t threads = omp_get_num_threads(), thread = omp_get_thread_num();
            const std::ptrdiff_t begin = count * thread / threads, end = count * (thread + 1) / threads;
            for (std::ptrdiff_t i = begin; i < end; ++i) body(i);
        }
        return;
    }
#endif
    (void)parallel;
    for (std::ptrdiff_t i = 0; i < count; ++i) body(i);
}

struct CpuGemm {
    // Whether float products run on strata's own AVX2 kernels here (else on Eigen).
    static bool uses_own_kernels() {
#ifdef STRATA_GEMM_AVX2
        return avx2::available();
#else
        return false;
#endif
    }

    // ---- GEMM --------------------------------------------------------------------------
    // C[M×N] = alpha · op(A) · op(B) + beta · C, all row-major with leading dimensions.
    // op(A) is M×K: A is stored M×K (lda ≥ K), or K×M when transposed (lda ≥ M).
    // op(B) is K×N: B is stored K×N (ldb ≥ N), or N×K when transposed (ldb ≥ K).
    // beta == 0 overwrites C without reading it (C may hold NaN). A and B are only read, so
    // a leading dimension below the row length is allowed on purpose: an overlapping view
    // (row r of A = Kernel consecutive rows of a sequence: im2col without a copy).
    // float with alpha = 1 and beta ∈ {0, 1} (every product strata makes) runs on
    // strata's own kernels where the CPU has AVX2 and FMA (cpu/gemm_avx2.hpp); everything
    // else on Eigen (eigen_gemm).
    template <class T>
    static void gemm(Transpose transpose_a, Transpose transpose_b, std::size_t M, std::size_t N,
                     std::size_t K, T alpha, const T* A, std::size_t lda, const T* B,
                     std::size_t ldb, T beta, T* C, std::size_t ldc) {
        split(M, N, K, [&](bool split_rows, std::size_t begin, std::size_t count) {
            if (split_rows) {
                const T* a = transpose_a == Transpose::yes ? A + begin : A + begin * lda;
                gemm_serial(transpose_a, transpose_b, count, N, K, alpha, a, lda, B, ldb, beta, C + begin * ldc, ldc, M);
            } else {
                const T* b = transpose_b == Transpose::yes ? B + begin * ldb : B + begin;
                gemm_serial(transpose_a, transpose_b, M, count, K, alpha, A, lda, b, ldb, beta, C + begin, ldc, M);
            }
        });
    }

    // The same product on the calling thread alone. whole_rows: the rows of the whole
    // product this is a block of (0: M), which picks the kernel, so that a block computes
    // its elements exactly as the whole product would.
    template <class T>
    static void gemm_serial(Transpose transpose_a, Transpose transpose_b, std::size_t M, std::size_t N,
                            std::size_t K, T alpha, const T* A, std::size_t lda, const T* B, std::size_t ldb,
                            T beta, T* C, std::size_t ldc, std::size_t whole_rows = 0) {
        if (M == 0 || N == 0) return;
#ifdef STRATA_GEMM_AVX2
        if constexpr (std::is_same_v<T, float>) {
            const bool ta = transpose_a == Transpose::yes, tb = transpose_b == Transpose::yes;
            if (avx2::available() && alpha == 1.0f && (beta == 0.0f || beta == 1.0f) && !(ta && tb)) {
                using avx2::RightOperand;
                const bool accumulate = beta == 1.0f;
                if (tb && (whole_rows ? whole_rows : M) < avx2::dot_form_rows)
                    avx2::gemm_dot(accumulate, M, N, K, A, lda, B, ldb, C, ldc);
                else if (tb)
                    avx2::gemm_broadcast(accumulate, M, N, K, A, lda, 1, {RightOperand::Kind::transposed, B, ldb}, C, ldc);
                else if (ta)
                    avx2::gemm_broadcast(accumulate, M, N, K, A, 1, lda, {RightOperand::Kind::rows, B, ldb}, C, ldc);
                else
                    avx2::gemm_broadcast(accumulate, M, N, K, A, lda, 1, {RightOperand::Kind::rows, B, ldb}, C, ldc);
                return;
            }
        }
#endif
        eigen_gemm(transpose_a, transpose_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    }

    // ---- a right operand prepared once for many products ---------------------------------
    // A GRU multiplies by the same W_hh at every time step: packing it once per pass into
    // the kernel's panel layout saves repacking it at every step. `packed` holds
    // packed_right_size(K, N) values and represents the K×N matrix op(B):
    //   pack_right_transposed: op(B) = Wᵀ for W [N×K] (ldw ≥ K)     (C = A·Wᵀ)
    //   pack_right:            op(B) = B  for B [K×N] (ldb ≥ N)     (C = A·B)
    // gemm_packed: C[M×N] = A·op(B) + beta·C, A [M×K] (lda ≥ K), beta ∈ {0, 1}.
    template <class T>
    static constexpr std::size_t packed_right_size(std::size_t K, std::size_t N) {
#ifdef STRATA_GEMM_AVX2
        if constexpr (std::is_same_v<T, float>) return avx2::packed_size(K, N);
#endif
        return K * N;
    }
    // Columns [column0, column0 + count) of the packed operand alone (column0 a multiple of
    // 16), so that threads can each pack the columns they use.
    template <class T>
    static void pack_right_transposed(std::size_t K, std::size_t N, const T* W, std::size_t ldw, T* packed,
                                      std::size_t column0 = 0, std::size_t count = npos) {
        pack_columns(true, K, N, W, ldw, packed, column0, std::min(count, N - column0));
    }
    template <class T>
    static void pack_right(std::size_t K, std::size_t N, const T* B, std::size_t ldb, T* packed,
                           std::size_t column0 = 0, std::size_t count = npos) {
        pack_columns(false, K, N, B, ldb, packed, column0, std::min(count, N - column0));
    }
    // Whether a product of M rows gains from a packed right operand (fewer rows: C = A·Wᵀ
    // straight from W's rows, gemm_serial, is faster).
    static constexpr bool packing_pays(std::size_t M) {
#ifdef STRATA_GEMM_AVX2
        return M >= avx2::dot_form_rows;
#else
        return M >= 6;
#endif
    }
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
    template <class T>
    static void gemm_packed(std::size_t M, std::size_t N, std::size_t K, const T* A, std::size_t lda, const T* packed,
                            T beta, T* C, std::size_t ldc) {
        split(M, N, K, [&](bool split_rows, std::size_t begin, std::size_t count) {
            if (split_rows) gemm_packed_serial(count, N, K, A + begin * lda, lda, packed, 0, N, beta, C + begin * ldc, ldc);
            else gemm_packed_serial(M, count, K, A, lda, packed, begin, N, beta, C + begin, ldc);
        });
    }

private:
    // Runs product(split_rows, begin, count) over C: whole on the calling thread, or, when
    // the product is big enough to share and OpenMP has threads, one block of rows (or of
    // columns, whichever extent is larger) per thread. Big enough: 0.4 MFLOP (at batch 1
    // the attention's output projection, 20 × 128 × 128, gains ~8 µs from a second thread).
    // Blocks are multiples of 16, so every block keeps the kernels' vector width and panel
    // boundaries.
    template <class Product>
    static void split(std::size_t M, std::size_t N, std::size_t K, Product&& product) {
#ifdef _OPENMP
        const bool nested = omp_in_parallel();
        if (!nested && Eigen::nbThreads() != 1) Eigen::setNbThreads(1);  // the threads are ours
        const int threads = nested ? 1 : omp_get_max_threads();
        if (threads > 1 && 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K) >= 4e5) {
            const bool split_rows = M >= N;
            const std::size_t extent = split_rows ? M : N;
            const std::size_t block = (extent / static_cast<std::size_t>(threads) + 15) / 16 * 16;
            const auto pieces = static_cast<int>((extent + block - 1) / block);
            // A plain parallel region with the pieces dealt out by thread number, not a
            // worksharing loop: LLVM's OpenMP runtime mallocs in every worksharing loop.
#pragma omp parallel num_threads(threads)
            for (int piece = omp_get_thread_num(); piece < pieces; piece += omp_get_num_threads()) {
                const std::size_t begin = static_cast<std::size_t>(piece) * block;
                product(split_rows, begin, std::min(block, extent - begin));
            }
            return;
        }
#endif
        product(true, std::size_t{0}, M);
    }

    // Packs columns [column0, column0 + count) of op(B): from W [N×K] (transposed) or B [K×N].
    template <class T>
    static void pack_columns(bool transposed, std::size_t K, std::size_t N, const T* B, std::size_t ld, T* packed,
                             std::size_t column0, std::size_t count) {
#ifdef STRATA_GEMM_AVX2
        if constexpr (std::is_same_v<T, float>) {
            if (avx2::available()) {
                if (transposed) avx2::pack_transposed(K, count, B + column0 * ld, ld, packed + column0 * K);
                else avx2::pack_rows(K, count, B + column0, ld, packed + column0 * K);
                return;
            }
        }
#endif
        for (std::size_t k = 0; k < K; ++k)
            for (std::size_t j = column0; j < column0 + count; ++j)
                packed[k * N + j] = transposed ? B[j * ld + k] : B[k * ld + j];
    }

public:
    // gemm_packed on the calling thread alone, over columns [column0, column0 + N) of the
    // packed operand (column0 a multiple of 16) of total width `width`.
    template <class T>
    static void gemm_packed_serial(std::size_t M, std::size_t N, std::size_t K, const T* A, std::size_t lda,
                                   const T* packed, std::size_t column0, std::size_t width, T beta, T* C,
                                   std::size_t ldc) {
        if (M == 0 || N == 0) return;
#ifdef STRATA_GEMM_AVX2
        if constexpr (std::is_same_v<T, float>) {
            if (avx2::available()) {
                const avx2::RightOperand panels{avx2::RightOperand::Kind::packed,
                                                packed + column0 / avx2::panel_width * K * avx2::panel_width, 0};
                avx2::gemm_broadcast(beta == 1.0f, M, N, K, A, lda, 1, panels, C, ldc);
                return;
            }
        }
#endif
        eigen_gemm(Transpose::no, Transpose::no, M, N, K, T(1), A, lda, packed + column0, width, beta, C, ldc);
    }

    // The product on Eigen, on the calling thread: every type, alpha and beta.
    template <class T>
    static void eigen_gemm(Transpose transpose_a, Transpose transpose_b, std::size_t M, std::size_t N,
                           std::size_t K, T alpha, const T* A, std::size_t lda, const T* B, std::size_t ldb,
                           T beta, T* C, std::size_t ldc) {
        using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
        using ConstMap = Eigen::Map<const Matrix, Eigen::Unaligned, Eigen::OuterStride<>>;
        using MutableMap = Eigen::Map<Matrix, Eigen::Unaligned, Eigen::OuterStride<>>;
        if (M == 0 || N == 0) return;
        const auto m = static_cast<Eigen::Index>(M), n = static_cast<Eigen::Index>(N),
                   k = static_cast<Eigen::Index>(K);
        MutableMap c(C, m, n, Eigen::OuterStride<>(static_cast<Eigen::Index>(ldc)));
        if (beta == T(0)) {
            c.setZero();
        } else if (beta != T(1)) {
            c *= beta;
        }
        if (K == 0 || alpha == T(0)) return;
        // alpha = 1 (every call strata makes) keeps the operands plain maps: Eigen would
        // evaluate alpha·A into a heap temporary when the product degenerates to a GEMV.
        auto accumulate = [&](const auto& a, const auto& b) {
            if (alpha == T(1)) c.noalias() += a * b;
            else c.noalias() += alpha * a * b;
        };
        const Eigen::OuterStride<> stride_a(static_cast<Eigen::Index>(lda));
        const Eigen::OuterStride<> stride_b(static_cast<Eigen::Index>(ldb));
        const bool ta = transpose_a == Transpose::yes, tb = transpose_b == Transpose::yes;
        if (!ta && !tb) accumulate(ConstMap(A, m, k, stride_a), ConstMap(B, k, n, stride_b));
        if (!ta && tb) accumulate(ConstMap(A, m, k, stride_a), ConstMap(B, n, k, stride_b).transpose());
        if (ta && !tb) accumulate(ConstMap(A, k, m, stride_a).transpose(), ConstMap(B, k, n, stride_b));
        if (ta && tb)
            accumulate(ConstMap(A, k, m, stride_a).transpose(), ConstMap(B, n, k, stride_b).transpose());
    }
};

}  // namespace strata

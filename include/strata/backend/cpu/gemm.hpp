// strata/backend/cpu/gemm.hpp — the CPU backend's GEMM: Eigen maps over row-major memory.
//
// Eigen runs each product with its own cache blocking, single-threaded. strata owns the
// threads: a product big enough to share is split into one block of rows (or of columns,
// whichever extent is larger) per OpenMP thread, each computed by Eigen on its own. This
// keeps a step allocation-free (Eigen's own parallel GEMM mallocs a shared packing buffer
// on every call) and makes results depend only on the thread count.
#pragma once

#include <algorithm>
#include <cstddef>

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
    // ---- GEMM --------------------------------------------------------------------------
    // C[M×N] = alpha · op(A) · op(B) + beta · C, all row-major with leading dimensions.
    // op(A) is M×K: A is stored M×K (lda ≥ K), or K×M when transposed (lda ≥ M).
    // op(B) is K×N: B is stored K×N (ldb ≥ N), or N×K when transposed (ldb ≥ K).
    // beta == 0 overwrites C without reading it (C may hold NaN).
    template <class T>
    static void gemm(Transpose transpose_a, Transpose transpose_b, std::size_t M, std::size_t N,
                     std::size_t K, T alpha, const T* A, std::size_t lda, const T* B,
                     std::size_t ldb, T beta, T* C, std::size_t ldc) {
#ifdef _OPENMP
        // Below ~1 MFLOP a product is not worth waking a second thread for.
        const bool nested = omp_in_parallel();
        if (!nested && Eigen::nbThreads() != 1) Eigen::setNbThreads(1);  // the threads are ours
        const int threads = nested ? 1 : omp_get_max_threads();
        if (threads > 1 && 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K) >= 1e6) {
            const bool split_rows = M >= N;
            const std::size_t extent = split_rows ? M : N;
            // Blocks of a multiple of 16, so every thread's block keeps Eigen's vector width.
            const std::size_t block = (extent / static_cast<std::size_t>(threads) + 15) / 16 * 16;
            const auto pieces = static_cast<int>((extent + block - 1) / block);
            // A plain parallel region with the pieces dealt out by thread number, not a
            // worksharing loop: LLVM's OpenMP runtime mallocs in every worksharing loop.
#pragma omp parallel num_threads(threads)
            for (int piece = omp_get_thread_num(); piece < pieces; piece += omp_get_num_threads()) {
                const std::size_t begin = static_cast<std::size_t>(piece) * block;
                const std::size_t count = std::min(block, extent - begin);
                if (split_rows) {
                    const T* a = transpose_a == Transpose::yes ? A + begin : A + begin * lda;
                    gemm_serial(transpose_a, transpose_b, count, N, K, alpha, a, lda, B, ldb, beta, C + begin * ldc, ldc);
                } else {
                    const T* b = transpose_b == Transpose::yes ? B + begin * ldb : B + begin;
                    gemm_serial(transpose_a, transpose_b, M, count, K, alpha, A, lda, b, ldb, beta, C + begin, ldc);
                }
            }
            return;
        }
#endif
        gemm_serial(transpose_a, transpose_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    }

    // The same product on the calling thread alone.
    template <class T>
    static void gemm_serial(Transpose transpose_a, Transpose transpose_b, std::size_t M, std::size_t N,
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

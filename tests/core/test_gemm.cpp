// The CPU backend's float GEMM: strata's AVX2 kernels (where the CPU has AVX2 and FMA) and
// Eigen, against a double-precision reference, over the shapes that exercise every edge of
// the kernels: row counts around the 6-row block and the dot-product form, column counts
// around the 16-wide panels, depths around the 8-lane steps and the 256-deep panels, leading
// dimensions above the row length, beta 0 (C not read) and 1, and the packed right operand.
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include <strata/backend/cpu.hpp>
#include <strata/core/rng.hpp>

#ifdef _OPENMP
#include <omp.h>
#endif

using strata::Cpu;
using strata::Transpose;

namespace {

struct Product {
    Transpose ta, tb;
    std::size_t M, N, K, lda, ldb, ldc;
    std::vector<float> A, B;

    Product(Transpose ta_, Transpose tb_, std::size_t m, std::size_t n, std::size_t k, std::size_t pad, strata::Rng& rng)
        : ta(ta_), tb(tb_), M(m), N(n), K(k) {
        lda = (ta == Transpose::yes ? M : K) + pad;
        ldb = (tb == Transpose::yes ? K : N) + pad;
        ldc = N + pad;
        A.resize((ta == Transpose::yes ? K : M) * lda);
        B.resize((tb == Transpose::yes ? N : K) * ldb);
        for (auto& x : A) x = static_cast<float>(rng.uniform(-1.0, 1.0));
        for (auto& x : B) x = static_cast<float>(rng.uniform(-1.0, 1.0));
    }
    double a(std::size_t i, std::size_t k) const { return ta == Transpose::yes ? A[k * lda + i] : A[i * lda + k]; }
    double b(std::size_t k, std::size_t j) const { return tb == Transpose::yes ? B[j * ldb + k] : B[k * ldb + j]; }

    // Checks C (computed with beta, from C0) against the reference, element by element, to
    // a tolerance scaled by Σ|a·b| (float accumulation over K terms); the padding of C's
    // rows must be untouched.
    void check(const std::vector<float>& C, const std::vector<float>& C0, float beta) const {
        std::size_t bad = 0;
        for (std::size_t i = 0; i < M; ++i)
            for (std::size_t j = 0; j < ldc; ++j) {
                const float got = C[i * ldc + j];
                if (j >= N) {
                    if (!(got == C0[i * ldc + j] || (std::isnan(got) && std::isnan(C0[i * ldc + j])))) ++bad;
                    continue;
                }
                double sum = beta == 1.0f ? C0[i * ldc + j] : 0.0, magnitude = std::abs(sum);
                for (std::size_t k = 0; k < K; ++k) {
                    sum += a(i, k) * b(k, j);
                    magnitude += std::abs(a(i, k) * b(k, j));
                }
                if (!(std::abs(got - sum) <= 1e-6 * (magnitude + 1.0) * std::sqrt(static_cast<double>(K) + 1.0))) ++bad;
            }
        CHECK_MESSAGE(bad == 0, "M " << M << " N " << N << " K " << K << " ta " << int(ta == Transpose::yes) << " tb "
                                     << int(tb == Transpose::yes) << " beta " << beta << ": " << bad << " wrong");
    }
};

std::vector<float> output(std::size_t M, std::size_t ldc, float beta, strata::Rng& rng) {
    std::vector<float> C(M * ldc);
    for (auto& x : C)
        x = beta == 0.0f ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(rng.uniform(-1.0, 1.0));
    return C;
}

}  // namespace

TEST_CASE("float gemm matches a double reference over the kernels' edge shapes") {
    MESSAGE("strata's AVX2 kernels " << (strata::CpuGemm::uses_own_kernels() ? "run" : "do not run") << " on this CPU");
    strata::Rng rng(7);
    const std::size_t rows[] = {1, 2, 3, 5, 6, 7, 13, 200};
    const std::size_t columns[] = {1, 4, 5, 16, 17, 33, 384};
    const std::size_t depths[] = {1, 7, 8, 9, 128, 257};
    for (int form = 0; form < 4; ++form) {
        const Transpose ta = form & 1 ? Transpose::yes : Transpose::no, tb = form & 2 ? Transpose::yes : Transpose::no;
        for (std::size_t M : rows)
            for (std::size_t N : columns)
                for (std::size_t K : depths) {
                    if (M * N * K > 200 * 384 * 9 && K != 257) continue;  // keep the reference loop quick
                    const Product p(ta, tb, M, N, K, (M + N + K) % 3, rng);
                    for (float beta : {0.0f, 1.0f}) {
                        const std::vector<float> C0 = output(M, p.ldc, beta, rng);
                        std::vector<float> C = C0;
                        Cpu::gemm(ta, tb, M, N, K, 1.0f, p.A.data(), p.lda, p.B.data(), p.ldb, beta, C.data(), p.ldc);
                        p.check(C, C0, beta);
                    }
                }
    }
}

TEST_CASE("float gemm on Eigen agrees with the reference too (alpha, beta other than 0 and 1)") {
    strata::Rng rng(8);
    const Product p(Transpose::no, Transpose::yes, 9, 20, 33, 1, rng);
    std::vector<float> C0 = output(p.M, p.ldc, 1.0f, rng), C = C0;
    strata::CpuGemm::eigen_gemm(Transpose::no, Transpose::yes, p.M, p.N, p.K, 1.0f, p.A.data(), p.lda, p.B.data(), p.ldb,
                                1.0f, C.data(), p.ldc);
    p.check(C, C0, 1.0f);
    // alpha = 2, beta = 0.5 take Eigen's path from Cpu::gemm as well.
    std::vector<float> D = C0;
    Cpu::gemm(Transpose::no, Transpose::yes, p.M, p.N, p.K, 2.0f, p.A.data(), p.lda, p.B.data(), p.ldb, 0.5f, D.data(),
              p.ldc);
    for (std::size_t i = 0; i < p.M; ++i)
        for (std::size_t j = 0; j < p.N; ++j)
            CHECK(D[i * p.ldc + j] == doctest::Approx(2.0 * (C[i * p.ldc + j] - C0[i * p.ldc + j]) +
                                                      0.5 * C0[i * p.ldc + j]).epsilon(1e-4));
}

TEST_CASE("a right operand packed once gives the product of the unpacked one") {
    strata::Rng rng(9);
    for (std::size_t M : {1, 4, 6, 50, 300}) {
        for (std::size_t N : {3, 16, 40, 384}) {
            const std::size_t K = 130;
            // C = A·Wᵀ from W [N×K] packed, and C = A·B from B [K×N] packed.
            for (Transpose tb : {Transpose::yes, Transpose::no}) {
                const Product p(Transpose::no, tb, M, N, K, 2, rng);
                std::vector<float> packed(strata::CpuGemm::packed_right_size<float>(K, N));
                if (tb == Transpose::yes) strata::CpuGemm::pack_right_transposed(K, N, p.B.data(), p.ldb, packed.data());
                else strata::CpuGemm::pack_right(K, N, p.B.data(), p.ldb, packed.data());
                for (float beta : {0.0f, 1.0f}) {
                    const std::vector<float> C0 = output(M, p.ldc, beta, rng);
                    std::vector<float> C = C0;
                    strata::CpuGemm::gemm_packed(M, N, K, p.A.data(), p.lda, packed.data(), beta, C.data(), p.ldc);
                    p.check(C, C0, beta);
                    // A block of columns starting at a multiple of 16, as a thread's share.
                    if (N > 16) {
                        std::vector<float> D = C0;
                        strata::CpuGemm::gemm_packed_serial(M, N - 16, K, p.A.data(), p.lda, packed.data(), 16, N, beta,
                                                            D.data() + 16, p.ldc);
                        for (std::size_t i = 0; i < M; ++i)
                            for (std::size_t j = 16; j < N; ++j) CHECK(D[i * p.ldc + j] == C[i * p.ldc + j]);
                    }
                }
            }
        }
    }
}

#ifdef _OPENMP
TEST_CASE("a product split across threads gives the same bits as on one thread (strata's kernels)") {
    // Eigen's blocking depends on the block's size, so on Eigen this holds only to rounding.
    const bool own = strata::CpuGemm::uses_own_kernels();
    strata::Rng rng(10);
    for (Transpose tb : {Transpose::yes, Transpose::no}) {
        // Split by columns, by rows, and by rows into a last block of fewer than 6 rows (33 =
        // 16 + 16 + 1 at 2 threads), which must still be computed as the whole product is.
        const Product wide(Transpose::no, tb, 40, 384, 128, 0, rng), tall(Transpose::yes, Transpose::no, 384, 128, 640, 0, rng),
            uneven(Transpose::no, tb, 33, 20, 1000, 0, rng);
        for (const Product* p : {&wide, &tall, &uneven}) {
            std::vector<float> one(p->M * p->ldc), two(p->M * p->ldc);
            const int threads = omp_get_max_threads();
            omp_set_num_threads(1);
            Cpu::gemm(p->ta, p->tb, p->M, p->N, p->K, 1.0f, p->A.data(), p->lda, p->B.data(), p->ldb, 0.0f, one.data(),
                      p->ldc);
            omp_set_num_threads(2);
            Cpu::gemm(p->ta, p->tb, p->M, p->N, p->K, 1.0f, p->A.data(), p->lda, p->B.data(), p->ldb, 0.0f, two.data(),
                      p->ldc);
            omp_set_num_threads(threads);
            if (own) {
                CHECK(one == two);
            } else {
                for (std::size_t i = 0; i < one.size(); ++i) CHECK(two[i] == doctest::Approx(one[i]).epsilon(1e-4));
            }
        }
    }
}
#endif

// Linear forward and backward at three sizes, beside the machine's own Eigen GEMM rate at
// the same shapes, so the layer's overhead over a bare GEMM is visible as a ratio.
//
//   bench_linear --benchmark_counters_tabular=true
//
// Sizes (batch × in → out): 32×128→128 (the classifier's projections per step),
// 256×512→512, 1024×1024→1024. Counters: GFLOP/s (2·B·In·Out per forward; 4·B·In·Out for
// backward: dW and d_in) and samples/s. Threads: OMP_NUM_THREADS (default: all cores).
#include <benchmark/benchmark.h>

#include <vector>

#include "strata/strata.hpp"

namespace {

using namespace strata;

template <std::size_t Batch, std::size_t In, std::size_t Out>
void linear_forward(benchmark::State& state) {
    StandaloneLayer<Linear<In, Out>, float, Shape<In>, Cpu> linear({}, Batch, 1);
    std::vector<float> x(Batch * In, 0.5f), y(Batch * Out);
    const auto ctx = Context::dense(Batch);
    for (auto _ : state) {
        linear.layer().forward(ctx, {x.data(), Batch}, {y.data(), Batch});
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    const double flops = 2.0 * Batch * In * Out;
    state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["samples/s"] = benchmark::Counter(Batch, benchmark::Counter::kIsIterationInvariantRate);
}

template <std::size_t Batch, std::size_t In, std::size_t Out>
void linear_backward(benchmark::State& state) {
    StandaloneLayer<Linear<In, Out>, float, Shape<In>, Cpu> linear({}, Batch, 1);
    std::vector<float> x(Batch * In, 0.5f), y(Batch * Out), dy(Batch * Out, 0.1f), dx(Batch * In);
    const auto ctx = Context::dense(Batch);
    linear.layer().forward(ctx, {x.data(), Batch}, {y.data(), Batch});
    for (auto _ : state) {
        linear.layer().backward(ctx, {x.data(), Batch}, {y.data(), Batch}, {dy.data(), Batch}, {dx.data(), Batch});
        benchmark::DoNotOptimize(dx.data());
        benchmark::ClobberMemory();
    }
    const double flops = 4.0 * Batch * In * Out;
    state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["samples/s"] = benchmark::Counter(Batch, benchmark::Counter::kIsIterationInvariantRate);
}

// The reference: Eigen's own GEMM on matrices it owns, y = x · Wᵀ, at the same shape and
// with Eigen's own threading (as a user of Eigen alone would run it).
template <std::size_t Batch, std::size_t In, std::size_t Out>
void eigen_gemm(benchmark::State& state) {
    using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    Matrix x = Matrix::Constant(Batch, In, 0.5f), w = Matrix::Constant(Out, In, 0.01f), y(Batch, Out);
#ifdef _OPENMP
    Eigen::setNbThreads(omp_get_max_threads());
#endif
    for (auto _ : state) {
        y.noalias() = x * w.transpose();
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    Eigen::setNbThreads(1);
    const double flops = 2.0 * Batch * In * Out;
    state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// strata's own GEMM (Cpu::gemm: its AVX2 kernels where the CPU has them, else Eigen) at the
// same shape, y = x · Wᵀ, on the threads strata splits it across.
template <std::size_t Batch, std::size_t In, std::size_t Out>
void strata_gemm(benchmark::State& state) {
    std::vector<float> x(Batch * In, 0.5f), w(Out * In, 0.01f), y(Batch * Out);
    for (auto _ : state) {
        Cpu::gemm(Transpose::no, Transpose::yes, Batch, Out, In, 1.0f, x.data(), In, w.data(), In, 0.0f, y.data(), Out);
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    const double flops = 2.0 * Batch * In * Out;
    state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

// The classifier's GEMM shapes at batch 32, T = 32 (1,024 token rows): the conv (one
// im2col GEMM, 3·128 → 128), the attention output projection (128 → 128), the GRU and
// attention input projections (128 → 384), and the GRU's recurrent step (32 rows,
// 128 → 384). Layer benchmarks' GFLOP/s read against these give their share of the
// machine's own Eigen GEMM rate, and strata_gemm shows strata's own kernels beside it.
BENCHMARK(eigen_gemm<1024, 384, 128>)->UseRealTime();
BENCHMARK(strata_gemm<1024, 384, 128>)->UseRealTime();
BENCHMARK(eigen_gemm<1024, 128, 128>)->UseRealTime();
BENCHMARK(strata_gemm<1024, 128, 128>)->UseRealTime();
BENCHMARK(eigen_gemm<1024, 128, 384>)->UseRealTime();
BENCHMARK(strata_gemm<1024, 128, 384>)->UseRealTime();
BENCHMARK(eigen_gemm<32, 128, 384>)->UseRealTime();
BENCHMARK(strata_gemm<32, 128, 384>)->UseRealTime();
BENCHMARK(eigen_gemm<32, 128, 128>)->UseRealTime();
BENCHMARK(linear_forward<32, 128, 128>)->UseRealTime();
BENCHMARK(linear_backward<32, 128, 128>)->UseRealTime();
BENCHMARK(eigen_gemm<256, 512, 512>)->UseRealTime();
BENCHMARK(linear_forward<256, 512, 512>)->UseRealTime();
BENCHMARK(linear_backward<256, 512, 512>)->UseRealTime();
BENCHMARK(eigen_gemm<1024, 1024, 1024>)->UseRealTime();
BENCHMARK(linear_forward<1024, 1024, 1024>)->UseRealTime();
BENCHMARK(linear_backward<1024, 1024, 1024>)->UseRealTime();

BENCHMARK_MAIN();

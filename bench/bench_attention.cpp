// MultiHeadAttention<128, 4> at the classifier's sizes (batch 32, float32): forward and
// forward + backward, and the same at T_max = 64 with lengths averaging 16 against all 64
// (work follows the valid tokens: the first should cost about a quarter, or less, since
// the score products shrink with L²).
//
// GFLOP/s counts the real multiply-adds over valid tokens, × 2 (N = Σ L_b, D = 128):
//   forward   4·N·D² (projections) + 2·D·Σ L_b² (scores and context)
//   backward  8·N·D² (dW_out, dC, dW_in, dX)  + 4·D·Σ L_b²
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "strata/layers/attention.hpp"
#include "strata/strata.hpp"

namespace {

constexpr std::size_t D = 128, Heads = 4, Batch = 32;

template <std::size_t T>
struct Setup {
    using Spec = strata::MultiHeadAttention<D, Heads>;
    using In = strata::Shape<T, D>;
    strata::StandaloneLayer<Spec, float, In, strata::Cpu> attention{Spec{}, Batch, 1};
    std::vector<std::int32_t> lengths;
    std::vector<float> x, out, d_out, d_x;
    strata::Context ctx;
    double forward_flops = 0, backward_flops = 0;

    explicit Setup(std::vector<std::int32_t> lengths_) : lengths(std::move(lengths_)) {
        strata::Rng rng(3);
        x.resize(Batch * In::size);
        d_out.resize(Batch * In::size);
        for (auto& v : x) v = static_cast<float>(rng.normal());
        for (auto& v : d_out) v = static_cast<float>(rng.normal());
        out.resize(Batch * In::size);
        d_x.resize(Batch * In::size);
        ctx = strata::Context::sequences(lengths, T);
        double tokens = 0, squares = 0;
        for (auto L : lengths) {
            tokens += L;
            squares += static_cast<double>(L) * L;
        }
        forward_flops = 2.0 * (4.0 * tokens * D * D + 2.0 * D * squares);
        backward_flops = 2.0 * (8.0 * tokens * D * D + 4.0 * D * squares);
    }
    void forward() { attention.layer().forward(ctx, {x.data(), Batch}, {out.data(), Batch}); }
    void backward() {
        attention.layer().backward(ctx, {x.data(), Batch}, {out.data(), Batch}, {d_out.data(), Batch},
                                   {d_x.data(), Batch});
    }
};

void report(benchmark::State& state, double flops_per_iteration) {
    state.counters["GFLOP/s"] =
        benchmark::Counter(flops_per_iteration * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["samples/s"] = benchmark::Counter(static_cast<double>(Batch), benchmark::Counter::kIsIterationInvariantRate);
}

std::vector<std::int32_t> full(std::int32_t length) { return std::vector<std::int32_t>(Batch, length); }

// Lengths spread over [1, 31] (mean 16), a fixed shuffle.
std::vector<std::int32_t> short_lengths() {
    std::vector<std::int32_t> lengths(Batch);
    for (std::size_t b = 0; b < Batch; ++b) lengths[b] = static_cast<std::int32_t>(1 + (b * 30) / (Batch - 1));
    strata::Rng rng(5);
    rng.shuffle(lengths);
    return lengths;
}

template <std::size_t T>
void forward_only(benchmark::State& state, std::vector<std::int32_t> lengths) {
    Setup<T> setup(std::move(lengths));
    for (auto _ : state) {
        setup.forward();
        benchmark::DoNotOptimize(setup.out.data());
    }
    report(state, setup.forward_flops);
}

template <std::size_t T>
void forward_backward(benchmark::State& state, std::vector<std::int32_t> lengths) {
    Setup<T> setup(std::move(lengths));
    for (auto _ : state) {
        setup.forward();
        setup.backward();
        benchmark::DoNotOptimize(setup.d_x.data());
    }
    report(state, setup.forward_flops + setup.backward_flops);
}

void BM_Attention_Forward_B32_T32(benchmark::State& state) { forward_only<32>(state, full(32)); }
void BM_Attention_ForwardBackward_B32_T32(benchmark::State& state) { forward_backward<32>(state, full(32)); }
void BM_Attention_ForwardBackward_Tmax64_all64(benchmark::State& state) { forward_backward<64>(state, full(64)); }
void BM_Attention_ForwardBackward_Tmax64_mean16(benchmark::State& state) {
    forward_backward<64>(state, short_lengths());
}
void BM_Attention_Forward_Tmax64_all64(benchmark::State& state) { forward_only<64>(state, full(64)); }
void BM_Attention_Forward_Tmax64_mean16(benchmark::State& state) { forward_only<64>(state, short_lengths()); }

}  // namespace

BENCHMARK(BM_Attention_Forward_B32_T32)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Attention_ForwardBackward_B32_T32)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Attention_Forward_Tmax64_all64)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Attention_Forward_Tmax64_mean16)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Attention_ForwardBackward_Tmax64_all64)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Attention_ForwardBackward_Tmax64_mean16)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();

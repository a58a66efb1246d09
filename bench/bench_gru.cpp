// GRU benchmarks: the classifier's sizes (batch 32, T = 32, 128 features, float32), and one
// pair showing that the work follows the valid tokens (T_max = 64, lengths averaging 16 vs
// all 64).
//
// GFLOP/s counts the real multiply-adds (×2) over the valid tokens N = Σ lengths: forward
// 3H·(In + H) per token and direction; backward twice that (∂h_{t-1}, dW_hh, dW_ih, d_x).
// Rates are per wall-clock second (UseRealTime), so runs with 2 threads are counted honestly.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <numeric>
#include <vector>

#include "strata/layers/gru.hpp"
#include "strata/strata.hpp"

namespace {

using namespace strata;

template <class Spec, std::size_t TMax, std::size_t In>
void run(benchmark::State& state, const std::vector<std::int32_t>& lengths, bool with_backward) {
    using Input = Shape<TMax, In>;
    using Standalone = StandaloneLayer<Spec, float, Input, Cpu>;
    using L = typename Standalone::LayerType;
    using Out = typename L::OutputShape;
    const std::size_t batch = lengths.size();
    Standalone standalone(Spec{}, batch, 1);
    Rng rng(2);
    std::vector<float> x(batch * Input::size), out(batch * Out::size), d_out(batch * Out::size),
        d_x(batch * Input::size);
    for (auto& v : x) v = static_cast<float>(rng.normal());
    for (auto& v : d_out) v = static_cast<float>(rng.normal());
    const Context ctx = Context::sequences(lengths, TMax);
    auto& layer = standalone.layer();
    for (auto _ : state) {
        layer.forward(ctx, {x.data(), batch}, {out.data(), batch});
        if (with_backward)
            layer.backward(ctx, {x.data(), batch}, {out.data(), batch}, {d_out.data(), batch}, {d_x.data(), batch});
        benchmark::DoNotOptimize(out.data());
        benchmark::DoNotOptimize(d_x.data());
        benchmark::ClobberMemory();
    }
    const double tokens = std::accumulate(lengths.begin(), lengths.end(), 0.0);
    double multiply_adds = 0.0;
    for (std::size_t k = 0; k < L::layers; ++k)
        multiply_adds += static_cast<double>(L::directions) * 3.0 * L::hidden_size *
                         static_cast<double>(L::layer_input_features(k) + L::hidden_size) * tokens;
    if (with_backward) multiply_adds *= 3.0;
    const auto iterations = static_cast<double>(state.iterations());
    state.counters["GFLOP/s"] = benchmark::Counter(2.0 * multiply_adds * iterations * 1e-9, benchmark::Counter::kIsRate);
    state.counters["samples/s"] = benchmark::Counter(static_cast<double>(batch) * iterations, benchmark::Counter::kIsRate);
    state.counters["tokens"] = tokens;
}

std::vector<std::int32_t> full_lengths(std::size_t batch, std::int32_t length) {
    return std::vector<std::int32_t>(batch, length);
}
// 32 lengths spread over [1, 31], mean 16.
std::vector<std::int32_t> short_lengths() {
    std::vector<std::int32_t> lengths(32);
    for (std::size_t b = 0; b < lengths.size(); ++b) lengths[b] = static_cast<std::int32_t>(1 + (b * 17) % 31);
    lengths[31] = 16;
    return lengths;
}

using Classifier = GRU<128, 128>;
using Bidirectional = GRU<128, 64, Direction::bidirectional>;

void BM_GRU_forward(benchmark::State& state) { run<Classifier, 32, 128>(state, full_lengths(32, 32), false); }
void BM_GRU_forward_backward(benchmark::State& state) { run<Classifier, 32, 128>(state, full_lengths(32, 32), true); }
void BM_GRU_bidirectional_forward(benchmark::State& state) {
    run<Bidirectional, 32, 128>(state, full_lengths(32, 32), false);
}
void BM_GRU_bidirectional_forward_backward(benchmark::State& state) {
    run<Bidirectional, 32, 128>(state, full_lengths(32, 32), true);
}
void BM_GRU_Tmax64_all64_forward_backward(benchmark::State& state) {
    run<Classifier, 64, 128>(state, full_lengths(32, 64), true);
}
void BM_GRU_Tmax64_mean16_forward_backward(benchmark::State& state) {
    run<Classifier, 64, 128>(state, short_lengths(), true);
}

}  // namespace

BENCHMARK(BM_GRU_forward)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GRU_forward_backward)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GRU_bidirectional_forward)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GRU_bidirectional_forward_backward)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GRU_Tmax64_all64_forward_backward)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GRU_Tmax64_mean16_forward_backward)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();

// Benchmarks of the sequence layers at the classifier's sizes: batch 32, T = 32, 128
// features, float32: Embedding (V = 20,000), Conv1D<128, 128, 3> + ReLU, LayerNorm<128>,
// MeanPool / MaxPool / LastPool; forward, and forward + backward (with d_in, as inside a
// model). Counters: GFLOP/s (the real multiply-adds ×2 over valid tokens; for the
// memory-bound layers the adds and multiplies they do), samples/s.
//
// BM_*_Lengths: T_max = 64 with every length 64 ("full") vs lengths averaging 16
// ("short", uniform in [1, 31]): work follows the valid tokens, so "short" should cost
// about a quarter of "full".
//
//   OMP_NUM_THREADS=1 ./bench_sequence_layers --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <cstdint>
#include <numeric>
#include <vector>

#include "strata/layers/conv1d.hpp"
#include "strata/layers/embedding.hpp"
#include "strata/layers/layer_norm.hpp"
#include "strata/layers/pooling.hpp"
#include "strata/strata.hpp"

using namespace strata;

namespace {

constexpr std::size_t batch = 32, features = 128, vocabulary = 20000;

std::vector<std::int32_t> make_lengths(std::size_t t_max, bool short_texts) {
    std::vector<std::int32_t> lengths(batch, static_cast<std::int32_t>(t_max));
    if (short_texts) {
        Rng rng(4);
        for (auto& length : lengths) length = 1 + static_cast<std::int32_t>(rng.below(31));  // mean 16
    }
    return lengths;
}

std::vector<float> random_floats(std::size_t count, std::uint64_t seed) {
    Rng rng(seed);
    std::vector<float> values(count);
    for (auto& value : values) value = static_cast<float>(rng.normal());
    return values;
}

void set_counters(benchmark::State& state, double flops_per_iteration) {
    state.counters["GFLOP/s"] = benchmark::Counter(flops_per_iteration * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["samples/s"] = benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
}

double valid_tokens(const std::vector<std::int32_t>& lengths) {
    return static_cast<double>(std::accumulate(lengths.begin(), lengths.end(), std::int64_t{0}));
}

// Runs a float layer (float input) forward, or forward + backward, over one batch.
template <class Spec, std::size_t TMax, std::size_t InFeatures>
void run_float_layer(benchmark::State& state, const Spec& spec, const std::vector<std::int32_t>& lengths,
                     bool with_backward, double forward_flops_per_token, double backward_flops_per_token) {
    using Standalone = StandaloneLayer<Spec, float, Shape<TMax, InFeatures>, Cpu>;
    using L = typename Standalone::LayerType;
    Standalone layer(spec, batch, 1);
    const auto x = random_floats(batch * L::InputShape::size, 2);
    const auto d_out = random_floats(batch * L::OutputShape::size, 3);
    std::vector<float> out(batch * L::OutputShape::size), d_x(batch * L::InputShape::size);
    const Context ctx = Context::sequences(lengths, TMax);
    for (auto _ : state) {
        layer.layer().forward(ctx, {x.data(), batch}, {out.data(), batch});
        if (with_backward)
            layer.layer().backward(ctx, {x.data(), batch}, {out.data(), batch}, {d_out.data(), batch},
                                   {d_x.data(), batch});
        benchmark::DoNotOptimize(out.data());
        benchmark::DoNotOptimize(d_x.data());
        benchmark::ClobberMemory();
    }
    const double tokens = valid_tokens(lengths);
    set_counters(state, tokens * (forward_flops_per_token + (with_backward ? backward_flops_per_token : 0.0)));
}

// Conv1D<128, 128, 3> + ReLU: 2·In·Out·K flops per valid token forward; backward twice that
// (dW and d_in).
constexpr double conv_flops = 2.0 * features * features * 3;

void BM_Conv1D_Forward(benchmark::State& state) {
    run_float_layer<Conv1D<features, features, 3>, 32, features>(
        state, {.activation = Activation::relu}, make_lengths(32, false), false, conv_flops, 0);
}
void BM_Conv1D_ForwardBackward(benchmark::State& state) {
    run_float_layer<Conv1D<features, features, 3>, 32, features>(
        state, {.activation = Activation::relu}, make_lengths(32, false), true, conv_flops, 2 * conv_flops);
}
void BM_Conv1D_Lengths(benchmark::State& state) {
    const bool short_texts = state.range(0) != 0;
    state.SetLabel(short_texts ? "T_max 64, mean length 16" : "T_max 64, all 64");
    run_float_layer<Conv1D<features, features, 3>, 64, features>(
        state, {.activation = Activation::relu}, make_lengths(64, short_texts), true, conv_flops, 2 * conv_flops);
}

// LayerNorm<128>: ~7 flops per element forward (mean, centre, square, scale, affine),
// ~10 backward.
void BM_LayerNorm_Forward(benchmark::State& state) {
    run_float_layer<LayerNorm<features>, 32, features>(state, {}, make_lengths(32, false), false, 7.0 * features, 0);
}
void BM_LayerNorm_ForwardBackward(benchmark::State& state) {
    run_float_layer<LayerNorm<features>, 32, features>(state, {}, make_lengths(32, false), true, 7.0 * features,
                                                       10.0 * features);
}
void BM_LayerNorm_Lengths(benchmark::State& state) {
    const bool short_texts = state.range(0) != 0;
    state.SetLabel(short_texts ? "T_max 64, mean length 16" : "T_max 64, all 64");
    run_float_layer<LayerNorm<features>, 64, features>(state, {}, make_lengths(64, short_texts), true,
                                                       7.0 * features, 10.0 * features);
}

// Pooling: one add (mean) or compare (max) per element forward; last pool copies.
template <class Pool>
void BM_Pool_Forward(benchmark::State& state) {
    run_float_layer<Pool, 32, features>(state, {}, make_lengths(32, false), false, 1.0 * features, 0);
}
template <class Pool>
void BM_Pool_ForwardBackward(benchmark::State& state) {
    run_float_layer<Pool, 32, features>(state, {}, make_lengths(32, false), true, 1.0 * features, 1.0 * features);
}

// Embedding<32, 128>, V = 20,000: a gather forward, a scatter-add backward (Dim adds per
// valid token).
template <std::size_t t_max>
void run_embedding(benchmark::State& state, const std::vector<std::int32_t>& lengths, bool with_backward) {
    StandaloneLayer<Embedding<t_max, features>, float, Shape<t_max>, Cpu> embedding({.vocabulary_size = vocabulary},
                                                                                 batch, 1);
    Rng rng(6);
    std::vector<std::int32_t> ids(batch * t_max, 0);
    for (std::size_t i = 0; i < ids.size(); ++i)
        if (static_cast<std::int32_t>(i % t_max) < lengths[i / t_max]) ids[i] = 1 + static_cast<std::int32_t>(rng.below(vocabulary - 1));
    const auto d_out = random_floats(batch * t_max * features, 3);
    std::vector<float> out(batch * t_max * features);
    const Context ctx = Context::sequences(lengths, t_max);
    for (auto _ : state) {
        embedding.layer().forward(ctx, {ids.data(), batch}, {out.data(), batch});
        if (with_backward)
            embedding.layer().backward(ctx, {ids.data(), batch}, {out.data(), batch}, {d_out.data(), batch}, {});
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    set_counters(state, valid_tokens(lengths) * (with_backward ? 1.0 * features : 0.0));
}
void BM_Embedding_Forward(benchmark::State& state) {
    std::vector<std::int32_t> lengths(batch, 32);
    run_embedding<32>(state, lengths, false);
}
void BM_Embedding_ForwardBackward(benchmark::State& state) {
    std::vector<std::int32_t> lengths(batch, 32);
    run_embedding<32>(state, lengths, true);
}
void BM_Embedding_Lengths(benchmark::State& state) {
    const bool short_texts = state.range(0) != 0;
    state.SetLabel(short_texts ? "T_max 64, mean length 16" : "T_max 64, all 64");
    run_embedding<64>(state, make_lengths(64, short_texts), true);
}

}  // namespace

BENCHMARK(BM_Embedding_Forward);
BENCHMARK(BM_Embedding_ForwardBackward);
BENCHMARK(BM_Conv1D_Forward);
BENCHMARK(BM_Conv1D_ForwardBackward);
BENCHMARK(BM_LayerNorm_Forward);
BENCHMARK(BM_LayerNorm_ForwardBackward);
BENCHMARK(BM_Pool_Forward<MeanPool>);
BENCHMARK(BM_Pool_ForwardBackward<MeanPool>);
BENCHMARK(BM_Pool_Forward<MaxPool>);
BENCHMARK(BM_Pool_ForwardBackward<MaxPool>);
BENCHMARK(BM_Pool_Forward<LastPool>);
BENCHMARK(BM_Pool_ForwardBackward<LastPool>);
BENCHMARK(BM_Embedding_Lengths)->Arg(0)->Arg(1);
BENCHMARK(BM_Conv1D_Lengths)->Arg(0)->Arg(1);
BENCHMARK(BM_LayerNorm_Lengths)->Arg(0)->Arg(1);

BENCHMARK_MAIN();

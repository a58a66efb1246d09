// MultiHeadAttention: forward, attention weights and backward against PyTorch 1.13's
// nn.MultiheadAttention (tests/fixtures/layers/attention.safetensors) in float and double;
// every gradient against central finite differences (with and without dropout); masking
// (padded inputs change nothing, padded outputs and d_in are 0); determinism; batch below
// capacity; PyTorch's initialisation; parameter names in a Sequential.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "strata/io/safetensors.hpp"
#include "strata/layers/attention.hpp"
#include "strata/strata.hpp"
#include "support/fixtures.hpp"
#include "support/gradient_check.hpp"

using namespace strata;
using strata::testing::relative_error;
using strata::testing::check_gradients;
using strata::testing::random_values;

namespace {

constexpr std::size_t fixture_dim = 8, fixture_heads = 2, fixture_time = 7, fixture_batch = 4;
using FixtureSpec = MultiHeadAttention<fixture_dim, fixture_heads>;
using FixtureShape = Shape<fixture_time, fixture_dim>;

const io::SafetensorsFile& fixture() {
    static const io::SafetensorsFile file =
        io::SafetensorsFile::read(STRATA_SOURCE_DIR "/tests/fixtures/layers/attention.safetensors");
    return file;
}

template <class T>
std::vector<T> read_as(const std::string& name) {
    const std::vector<double> values = fixture().read_f64(name);
    return std::vector<T>(values.begin(), values.end());
}

// max |ours - ref| / max(max |ref|, 1e-12)
// Sets every parameter of a layer to random values (biases nonzero), through the walk.
template <class L>
void randomize_parameters(L& layer, std::uint64_t seed, double bound = 0.5) {
    Rng rng(seed);
    using T = typename L::Scalar;
    layer.for_each_parameter([&](const ParameterRef<T>& parameter) {
        for (std::size_t i = 0; i < parameter.size(); ++i) parameter.value[i] = static_cast<T>(rng.uniform(-bound, bound));
    });
}

template <class T>
std::vector<T> masked_random(std::size_t batch, std::size_t time, std::size_t features,
                             const std::vector<std::int32_t>& lengths, std::uint64_t seed, double padded_scale) {
    Rng rng(seed);
    std::vector<T> values(batch * time * features);
    for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t t = 0; t < time; ++t)
            for (std::size_t f = 0; f < features; ++f) {
                const bool padded = t >= static_cast<std::size_t>(lengths[b]);
                values[(b * time + t) * features + f] = static_cast<T>((padded ? padded_scale : 1.0) * rng.normal());
            }
    return values;
}

template <class T>
std::string precision_name() {
    return sizeof(T) == 4 ? "float32" : "float64";
}

template <class T>
void check_against_pytorch(double tolerance) {
    StandaloneLayer<FixtureSpec, T, FixtureShape, Cpu> attention({}, fixture_batch);
    auto& layer = attention.layer();
    std::size_t loaded = 0;
    layer.for_each_parameter([&](const ParameterRef<T>& parameter) {
        const auto& info = fixture().info(parameter.name);
        REQUIRE(std::ranges::equal(info.shape, parameter.shape));
        const std::vector<T> values = read_as<T>(std::string(parameter.name));
        std::copy(values.begin(), values.end(), parameter.value);
        ++loaded;
    });
    CHECK(loaded == 4);

    const std::vector<std::int32_t> lengths = fixture().read_i32("lengths");
    const std::vector<T> x = read_as<T>("x");
    const std::vector<T> d_out = read_as<T>("d_out");
    const Context ctx = Context::sequences(lengths, fixture_time);
    const std::size_t size = fixture_batch * FixtureShape::size;
    std::vector<T> out(size, std::numeric_limits<T>::quiet_NaN());
    std::vector<T> d_x(size, std::numeric_limits<T>::quiet_NaN());

    layer.forward(ctx, {x.data(), fixture_batch}, {out.data(), fixture_batch});
    const double out_error = relative_error(out.data(), fixture().read_f64("out"));
    const std::vector<T> weights = layer.attention_weights();
    const double weights_error = relative_error(weights.data(), fixture().read_f64("attn_weights"));

    attention.zero_grad();
    layer.backward(ctx, {x.data(), fixture_batch}, {out.data(), fixture_batch}, {d_out.data(), fixture_batch},
                   {d_x.data(), fixture_batch});
    const double d_x_error = relative_error(d_x.data(), fixture().read_f64("grad.x"));
    MESSAGE(precision_name<T>() << ": out " << out_error << ", attn_weights " << weights_error << ", grad.x " << d_x_error);
    CHECK(out_error <= tolerance);
    CHECK(weights_error <= tolerance);
    CHECK(d_x_error <= tolerance);
    layer.for_each_parameter([&](const ParameterRef<T>& parameter) {
        const double error =
            relative_error(parameter.gradient, fixture().read_f64("grad." + std::string(parameter.name)));
        MESSAGE(precision_name<T>() << ": grad." << parameter.name << " " << error);
        CHECK(error <= tolerance);
    });
}

}  // namespace

TEST_CASE("MultiHeadAttention forward, weights and backward match PyTorch in float32") {
    check_against_pytorch<float>(1e-5);
}

TEST_CASE("MultiHeadAttention forward, weights and backward match PyTorch in double") {
    check_against_pytorch<double>(1e-9);
}

TEST_CASE("MultiHeadAttention names and shapes its parameters as PyTorch's state_dict") {
    using Net = Sequential<Cpu, float, Input<16, 32>, Named<"attn", MultiHeadAttention<32, 4>>>;
    static_assert(std::is_same_v<Net::OutputShape, Shape<16, 32>>);
    static_assert(Layer<Net::LayerAt<0>>);
    Net net(2);
    std::vector<std::string> names;
    std::vector<std::vector<std::int64_t>> shapes;
    net.for_each_parameter([&](const ParameterRef<float>& p) {
        names.emplace_back(p.name);
        shapes.emplace_back(p.shape.begin(), p.shape.end());
    });
    CHECK(names == std::vector<std::string>{"attn.in_proj_weight", "attn.in_proj_bias", "attn.out_proj.weight",
                                            "attn.out_proj.bias"});
    CHECK(shapes == std::vector<std::vector<std::int64_t>>{{96, 32}, {96}, {32, 32}, {32}});
    CHECK(net.parameter_count() == 96 * 32 + 96 + 32 * 32 + 32);
}

TEST_CASE("MultiHeadAttention initialises as PyTorch: xavier in-projection, Linear out-projection, zero biases") {
    constexpr std::size_t D = 64;
    StandaloneLayer<MultiHeadAttention<D, 4>, double, Shape<8, D>, Cpu> attention({}, 1, 5);
    auto& layer = attention.layer();
    auto range = [](const double* values, std::size_t count) {
        const auto [low, high] = std::minmax_element(values, values + count);
        return std::pair{*low, *high};
    };
    const double xavier = std::sqrt(6.0 / (D + 3 * D));
    const auto [in_low, in_high] = range(layer.in_proj_weight(), 3 * D * D);
    CHECK(in_low >= -xavier);
    CHECK(in_high <= xavier);
    CHECK(in_low < -0.95 * xavier);
    CHECK(in_high > 0.95 * xavier);
    const double linear = 1.0 / std::sqrt(static_cast<double>(D));
    const auto [out_low, out_high] = range(layer.out_proj_weight(), D * D);
    CHECK(out_low >= -linear);
    CHECK(out_high <= linear);
    CHECK(out_low < -0.9 * linear);
    CHECK(out_high > 0.9 * linear);
    CHECK(std::all_of(layer.in_proj_bias(), layer.in_proj_bias() + 3 * D, [](double v) { return v == 0.0; }));
    CHECK(std::all_of(layer.out_proj_bias(), layer.out_proj_bias() + D, [](double v) { return v == 0.0; }));
}

TEST_CASE("MultiHeadAttention gradients match finite differences") {
    using Spec = MultiHeadAttention<8, 2>;
    using In = Shape<5, 8>;
    const std::vector<std::int32_t> lengths{5, 1, 3};  // batch 3 below capacity 4
    SUBCASE("evaluation") {
        StandaloneLayer<Spec, double, In, Cpu> attention({}, 4, 1);
        randomize_parameters(attention.layer(), 2);
        const auto report = check_gradients(attention, random_values(lengths.size() * In::size, 3),
                                            [&] { return Context::sequences(lengths, 5); });
        INFO(report.worst);
        CHECK(report.max_parameter_error <= 1e-6);
        CHECK(report.max_input_error <= 1e-6);
        CHECK(report.input_gradient_written);
        CHECK(report.parameter_gradient_accumulates);
        CHECK(report.parameters_checked == 24 * 8 + 24 + 64 + 8);
        CHECK(report.inputs_checked == lengths.size() * In::size);
    }
    SUBCASE("training with attention dropout") {
        StandaloneLayer<Spec, double, In, Cpu> attention(Spec{.dropout = 0.3}, 4, 1);
        randomize_parameters(attention.layer(), 2);
        Rng rng(0);
        const auto report = check_gradients(attention, random_values(lengths.size() * In::size, 3), [&] {
            rng.reseed(17);
            return Context::sequences(lengths, 5, true, &rng);
        });
        INFO(report.worst);
        CHECK(report.max_parameter_error <= 1e-6);
        CHECK(report.max_input_error <= 1e-6);
        CHECK(report.input_gradient_written);
        CHECK(report.parameter_gradient_accumulates);
    }
    SUBCASE("no lengths: every sample full length") {
        StandaloneLayer<Spec, double, Shape<3, 8>, Cpu> attention({}, 2, 1);
        randomize_parameters(attention.layer(), 4);
        const auto report =
            check_gradients(attention, random_values(2 * 3 * 8, 5), [&] { return Context::dense(2); });
        INFO(report.worst);
        CHECK(report.max_parameter_error <= 1e-6);
        CHECK(report.max_input_error <= 1e-6);
        CHECK(report.input_gradient_written);
    }
}

namespace {

// One forward + backward of a float layer at the fixture's sizes; returns out, d_in and the
// parameter gradients, concatenated.
struct RunResult {
    std::vector<float> out, d_in, gradients, weights;
};

template <class Standalone>
RunResult run_once(Standalone& attention, const Context& ctx, const std::vector<float>& x,
                   const std::vector<float>& d_out) {
    const std::size_t batch = ctx.batch;
    RunResult result;
    result.out.assign(batch * FixtureShape::size, std::numeric_limits<float>::quiet_NaN());
    result.d_in.assign(batch * FixtureShape::size, std::numeric_limits<float>::quiet_NaN());
    attention.zero_grad();
    auto& layer = attention.layer();
    layer.forward(ctx, {x.data(), batch}, {result.out.data(), batch});
    layer.backward(ctx, {x.data(), batch}, {result.out.data(), batch}, {d_out.data(), batch},
                   {result.d_in.data(), batch});
    result.gradients.assign(attention.gradients(), attention.gradients() + attention.parameter_count());
    result.weights = layer.attention_weights();
    return result;
}

}  // namespace

TEST_CASE("MultiHeadAttention ignores padded inputs and zeroes padded outputs and input gradients") {
    StandaloneLayer<FixtureSpec, float, FixtureShape, Cpu> attention({}, fixture_batch, 3);
    randomize_parameters(attention.layer(), 8);
    const std::vector<std::int32_t> lengths{7, 1, 4, 3};
    const Context ctx = Context::sequences(lengths, fixture_time);
    const auto x_clean = masked_random<float>(fixture_batch, fixture_time, fixture_dim, lengths, 21, 0.0);
    const auto x_noisy = masked_random<float>(fixture_batch, fixture_time, fixture_dim, lengths, 21, 1e3);
    // d_out at padded positions is garbage too: a zeroed output has no gradient.
    const auto d_out_clean = masked_random<float>(fixture_batch, fixture_time, fixture_dim, lengths, 22, 0.0);
    const auto d_out_noisy = masked_random<float>(fixture_batch, fixture_time, fixture_dim, lengths, 22, 1e3);
    const RunResult clean = run_once(attention, ctx, x_clean, d_out_clean);
    const RunResult noisy = run_once(attention, ctx, x_noisy, d_out_noisy);
    CHECK(clean.out == noisy.out);
    CHECK(clean.d_in == noisy.d_in);
    CHECK(clean.gradients == noisy.gradients);
    CHECK(clean.weights == noisy.weights);
    for (std::size_t b = 0; b < fixture_batch; ++b)
        for (std::size_t t = 0; t < fixture_time; ++t)
            for (std::size_t f = 0; f < fixture_dim; ++f) {
                const std::size_t i = (b * fixture_time + t) * fixture_dim + f;
                if (t >= static_cast<std::size_t>(lengths[b])) {
                    CHECK(clean.out[i] == 0.0f);
                    CHECK(clean.d_in[i] == 0.0f);
                } else {
                    CHECK(std::isfinite(clean.out[i]));
                }
            }
    // Each valid query's weights form a distribution over the valid keys.
    for (std::size_t b = 0; b < fixture_batch; ++b)
        for (std::size_t h = 0; h < fixture_heads; ++h)
            for (std::size_t q = 0; q < static_cast<std::size_t>(lengths[b]); ++q) {
                double sum = 0;
                for (std::size_t k = 0; k < fixture_time; ++k)
                    sum += clean.weights[((b * fixture_heads + h) * fixture_time + q) * fixture_time + k];
                CHECK(sum == doctest::Approx(1.0).epsilon(1e-6));
            }
}

TEST_CASE("MultiHeadAttention is deterministic and independent of the batch capacity") {
    const std::vector<std::int32_t> lengths{7, 1, 4, 3};
    const Context ctx = Context::sequences(lengths, fixture_time);
    const auto x = masked_random<float>(fixture_batch, fixture_time, fixture_dim, lengths, 31, 0.0);
    const auto d_out = masked_random<float>(fixture_batch, fixture_time, fixture_dim, lengths, 32, 0.0);
    StandaloneLayer<FixtureSpec, float, FixtureShape, Cpu> exact({}, fixture_batch, 3);
    StandaloneLayer<FixtureSpec, float, FixtureShape, Cpu> roomy({}, 16, 3);
    const RunResult first = run_once(exact, ctx, x, d_out);
    const RunResult second = run_once(exact, ctx, x, d_out);
    const RunResult larger = run_once(roomy, ctx, x, d_out);
    CHECK(first.out == second.out);
    CHECK(first.d_in == second.d_in);
    CHECK(first.gradients == second.gradients);
    CHECK(first.out == larger.out);
    CHECK(first.d_in == larger.d_in);
    CHECK(first.gradients == larger.gradients);

    // A smaller batch after a larger one: buffers are reused, results are those of a fresh layer.
    const std::vector<std::int32_t> short_lengths{2, 5};
    const Context small = Context::sequences(short_lengths, fixture_time);
    const auto x_small = masked_random<float>(2, fixture_time, fixture_dim, short_lengths, 33, 0.0);
    const auto d_small = masked_random<float>(2, fixture_time, fixture_dim, short_lengths, 34, 0.0);
    StandaloneLayer<FixtureSpec, float, FixtureShape, Cpu> fresh({}, 2, 3);
    const RunResult reused = run_once(roomy, small, x_small, d_small);
    const RunResult alone = run_once(fresh, small, x_small, d_small);
    CHECK(reused.out == alone.out);
    CHECK(reused.d_in == alone.d_in);
    CHECK(reused.gradients == alone.gradients);

    // Without lengths every text is full length.
    const std::vector<std::int32_t> full(fixture_batch, static_cast<std::int32_t>(fixture_time));
    const auto x_full = masked_random<float>(fixture_batch, fixture_time, fixture_dim, full, 35, 0.0);
    const RunResult with_lengths = run_once(exact, Context::sequences(full, fixture_time), x_full, d_out);
    const RunResult without = run_once(exact, Context::dense(fixture_batch), x_full, d_out);
    CHECK(with_lengths.out == without.out);
    CHECK(with_lengths.d_in == without.d_in);
    CHECK(with_lengths.gradients == without.gradients);
}

TEST_CASE("MultiHeadAttention dropout acts on the attention weights in training only") {
    using Spec = MultiHeadAttention<fixture_dim, fixture_heads>;
    const std::vector<std::int32_t> lengths{7, 1, 4, 3};
    const auto x = masked_random<float>(fixture_batch, fixture_time, fixture_dim, lengths, 41, 0.0);
    const auto d_out = masked_random<float>(fixture_batch, fixture_time, fixture_dim, lengths, 42, 0.0);
    StandaloneLayer<Spec, float, FixtureShape, Cpu> plain({}, fixture_batch, 3);
    StandaloneLayer<Spec, float, FixtureShape, Cpu> dropped(Spec{.dropout = 0.25}, fixture_batch, 3);
    Rng rng(7);
    const RunResult reference = run_once(plain, Context::sequences(lengths, fixture_time), x, d_out);
    // Evaluation: dropout is the identity.
    const RunResult evaluated = run_once(dropped, Context::sequences(lengths, fixture_time, false, &rng), x, d_out);
    CHECK(evaluated.out == reference.out);
    CHECK(evaluated.gradients == reference.gradients);
    // Training: every weight is either dropped (0) or scaled by 1/(1 - p); the same seed
    // gives the same mask.
    rng.reseed(9);
    const RunResult trained = run_once(dropped, Context::sequences(lengths, fixture_time, true, &rng), x, d_out);
    rng.reseed(9);
    const RunResult again = run_once(dropped, Context::sequences(lengths, fixture_time, true, &rng), x, d_out);
    CHECK(trained.out == again.out);
    CHECK(trained.gradients == again.gradients);
    CHECK(trained.out != reference.out);
    std::size_t kept = 0, zeroed = 0;
    for (std::size_t i = 0; i < reference.weights.size(); ++i) {
        if (reference.weights[i] == 0.0f) {
            CHECK(trained.weights[i] == 0.0f);
        } else if (trained.weights[i] == 0.0f) {
            ++zeroed;
        } else {
            ++kept;
            CHECK(trained.weights[i] == doctest::Approx(reference.weights[i] / 0.75f).epsilon(1e-6));
        }
    }
    CHECK(zeroed > 0);
    CHECK(kept > zeroed);
}

TEST_CASE("MultiHeadAttention gradients match finite differences with texts longer than a vector chunk") {
    // Lengths ≥ 8 run the chunked (vectorised) key loops in double as well as the tail.
    using Spec = MultiHeadAttention<8, 2>;
    const std::vector<std::int32_t> lengths{19, 9, 1};
    StandaloneLayer<Spec, double, Shape<19, 8>, Cpu> attention({}, 3, 1);
    randomize_parameters(attention.layer(), 6);
    const auto report = check_gradients(attention, random_values(lengths.size() * 19 * 8, 7),
                                        [&] { return Context::sequences(lengths, 19); });
    INFO(report.worst);
    CHECK(report.max_parameter_error <= 1e-6);
    CHECK(report.max_input_error <= 1e-6);
    CHECK(report.input_gradient_written);
}

TEST_CASE("MultiHeadAttention<128, 4> in float agrees with double and ignores padding at the classifier's sizes") {
    constexpr std::size_t D = 128, T = 40, batch = 4;
    using Spec = MultiHeadAttention<D, 4>;
    using In = Shape<T, D>;
    const std::vector<std::int32_t> lengths{40, 17, 1, 33};
    const Context ctx = Context::sequences(lengths, T);
    StandaloneLayer<Spec, double, In, Cpu> reference({}, batch, 2);
    StandaloneLayer<Spec, float, In, Cpu> single({}, batch, 2);
    randomize_parameters(reference.layer(), 12, 0.15);  // about PyTorch's init scale at D = 128
    for (std::size_t i = 0; i < reference.parameter_count(); ++i) {
        reference.parameters()[i] = static_cast<float>(reference.parameters()[i]);
        single.parameters()[i] = static_cast<float>(reference.parameters()[i]);
    }
    const auto x = masked_random<double>(batch, T, D, lengths, 13, 0.0);
    const auto d_out = masked_random<double>(batch, T, D, lengths, 14, 0.0);
    std::vector<double> out(x.size()), d_x(x.size());
    reference.zero_grad();
    reference.layer().forward(ctx, {x.data(), batch}, {out.data(), batch});
    reference.layer().backward(ctx, {x.data(), batch}, {out.data(), batch}, {d_out.data(), batch},
                               {d_x.data(), batch});

    auto run_float = [&](double padded_scale) {
        auto xf = masked_random<float>(batch, T, D, lengths, 13, 0.0);
        auto df = masked_random<float>(batch, T, D, lengths, 14, 0.0);
        const auto noise = masked_random<float>(batch, T, D, lengths, 15, padded_scale);
        for (std::size_t b = 0; b < batch; ++b)
            for (std::size_t t = static_cast<std::size_t>(lengths[b]); t < T; ++t)
                for (std::size_t f = 0; f < D; ++f) {
                    xf[(b * T + t) * D + f] = noise[(b * T + t) * D + f];
                    df[(b * T + t) * D + f] = noise[(b * T + t) * D + f];
                }
        RunResult result;
        result.out.assign(x.size(), std::numeric_limits<float>::quiet_NaN());
        result.d_in.assign(x.size(), std::numeric_limits<float>::quiet_NaN());
        single.zero_grad();
        single.layer().forward(ctx, {xf.data(), batch}, {result.out.data(), batch});
        single.layer().backward(ctx, {xf.data(), batch}, {result.out.data(), batch}, {df.data(), batch},
                                {result.d_in.data(), batch});
        result.gradients.assign(single.gradients(), single.gradients() + single.parameter_count());
        return result;
    };
    const RunResult clean = run_float(0.0);
    const RunResult noisy = run_float(1e4);
    CHECK(clean.out == noisy.out);
    CHECK(clean.d_in == noisy.d_in);
    CHECK(clean.gradients == noisy.gradients);

    const double out_error = relative_error(clean.out.data(), out);
    const double d_x_error = relative_error(clean.d_in.data(), d_x);
    const std::vector<double> gradients(reference.gradients(), reference.gradients() + reference.parameter_count());
    const double gradient_error = relative_error(clean.gradients.data(), gradients);
    MESSAGE("float32 vs float64 at D = 128, T = 40: out " << out_error << ", d_in " << d_x_error << ", params "
                                                           << gradient_error);
    CHECK(out_error <= 1e-5);
    CHECK(d_x_error <= 1e-5);
    CHECK(gradient_error <= 1e-5);
}

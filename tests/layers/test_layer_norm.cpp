// Tests for strata/layers/layer_norm.hpp: PyTorch fixture (float and double), finite
// differences (sequence and vector inputs), masking, determinism, batch < capacity.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "strata/io/safetensors.hpp"
#include "strata/layers/layer_norm.hpp"
#include "strata/strata.hpp"
#include "support/fixtures.hpp"
#include "support/gradient_check.hpp"

using namespace strata;
using strata::testing::relative_error;

namespace {

constexpr std::size_t B = 4, T = 7, E = 8;

template <class U>
void check_fixture(double tolerance) {
    const auto file = io::SafetensorsFile::read(STRATA_SOURCE_DIR "/tests/fixtures/layers/layer_norm.safetensors");
    const auto lengths = file.read_i32("lengths");
    const auto x64 = file.read_f64("x");
    const auto d64 = file.read_f64("d_out");
    const std::vector<U> x(x64.begin(), x64.end()), d_out(d64.begin(), d64.end());
    StandaloneLayer<LayerNorm<E>, U, Shape<T, E>, Cpu> norm({}, 5);
    int loaded = 0;
    norm.layer().for_each_parameter([&](const ParameterRef<U>& parameter) {
        const auto& info = file.info(parameter.name);
        REQUIRE(std::equal(info.shape.begin(), info.shape.end(), parameter.shape.begin(), parameter.shape.end()));
        const auto values = file.read_f64(parameter.name);
        std::copy(values.begin(), values.end(), parameter.value);
        ++loaded;
    });
    CHECK(loaded == 2);
    norm.zero_grad();
    const Context ctx = Context::sequences(lengths, T);
    std::vector<U> out(B * T * E, U(5)), d_x(B * T * E, U(5));
    norm.layer().forward(ctx, {x.data(), B}, {out.data(), B});
    norm.layer().backward(ctx, {x.data(), B}, {out.data(), B}, {d_out.data(), B}, {d_x.data(), B});
    const double out_error = relative_error(out.data(), file.read_f64("out"));
    const double dx_error = relative_error(d_x.data(), file.read_f64("grad.x"));
    const double dw_error = relative_error(norm.gradients(), file.read_f64("grad.weight"));
    const double db_error = relative_error(norm.gradients() + E, file.read_f64("grad.bias"));
    MESSAGE("layer_norm vs PyTorch (", std::string(sizeof(U) == 4 ? "float" : "double"), "): out ", out_error,
            ", grad.x ", dx_error, ", grad.weight ", dw_error, ", grad.bias ", db_error);
    CHECK(out_error <= tolerance);
    CHECK(dx_error <= tolerance);
    CHECK(dw_error <= tolerance);
    CHECK(db_error <= tolerance);
}

// Random, non-default weight and bias, so their gradients are exercised properly.
template <class Standalone>
void randomize(Standalone& norm, std::uint64_t seed) {
    Rng rng(seed);
    for (std::size_t i = 0; i < norm.parameter_count(); ++i) norm.parameters()[i] = rng.uniform(0.5, 1.5);
}

template <class Standalone>
std::vector<float> run(Standalone& norm, const std::vector<float>& x, const Context& ctx) {
    const std::size_t batch = ctx.batch;
    std::vector<float> out(x.size(), 2.0f), d_out(x.size()), d_x(x.size(), 2.0f);
    Rng rng(8);
    for (auto& value : d_out) value = static_cast<float>(rng.normal());
    norm.zero_grad();
    norm.layer().forward(ctx, {x.data(), batch}, {out.data(), batch});
    norm.layer().backward(ctx, {x.data(), batch}, {out.data(), batch}, {d_out.data(), batch}, {d_x.data(), batch});
    out.insert(out.end(), d_x.begin(), d_x.end());
    out.insert(out.end(), norm.gradients(), norm.gradients() + norm.parameter_count());
    return out;
}

}  // namespace

TEST_CASE("LayerNorm matches PyTorch's nn.LayerNorm on the fixture, in float and double") {
    check_fixture<float>(1e-5);
    check_fixture<double>(1e-9);
}

TEST_CASE("LayerNorm: parameters, names, init") {
    StandaloneLayer<LayerNorm<6>, float, Shape<3, 6>, Cpu> norm({}, 2);
    std::vector<std::string> names;
    norm.layer().for_each_parameter([&](const ParameterRef<float>& p) {
        names.emplace_back(p.name);
        CHECK((p.shape.size() == 1 && p.shape[0] == 6));
    });
    CHECK(names == std::vector<std::string>{"weight", "bias"});
    for (std::size_t i = 0; i < 6; ++i) {
        CHECK(norm.parameters()[i] == 1.0f);
        CHECK(norm.parameters()[6 + i] == 0.0f);
    }
    CHECK_THROWS_AS((StandaloneLayer<LayerNorm<6>, float, Shape<3, 6>, Cpu>({.epsilon = 0.0}, 2)), Error);
}

TEST_CASE("LayerNorm gradients match central finite differences") {
    SUBCASE("sequences with different lengths") {
        const std::vector<std::int32_t> lengths{5, 1, 3, 2};
        StandaloneLayer<LayerNorm<6>, double, Shape<5, 6>, Cpu> norm({}, 4);
        randomize(norm, 4);
        const auto input = testing::random_values(lengths.size() * 5 * 6, 31, 2.0);
        const auto report = testing::check_gradients(norm, input, [&] { return Context::sequences(lengths, 5); });
        INFO(report.worst);
        CHECK(report.max_parameter_error <= 1e-6);
        CHECK(report.max_input_error <= 1e-6);
        CHECK(report.input_gradient_written);
        CHECK(report.parameter_gradient_accumulates);
    }
    SUBCASE("vectors (rank 1: every sample one row, never masked)") {
        StandaloneLayer<LayerNorm<7>, double, Shape<7>, Cpu> norm({.epsilon = 1e-3}, 3);
        randomize(norm, 5);
        const auto input = testing::random_values(3 * 7, 32);
        // Lengths in the context (from a sequence model) must not mask a rank-1 input.
        const std::vector<std::int32_t> lengths{1, 1, 1};
        const auto report = testing::check_gradients(norm, input, [&] { return Context::sequences(lengths, 7); });
        INFO(report.worst);
        CHECK(report.max_parameter_error <= 1e-6);
        CHECK(report.max_input_error <= 1e-6);
        CHECK(report.input_gradient_written);
    }
    SUBCASE("rank 3: the first extent is time") {
        const std::vector<std::int32_t> lengths{3, 1};
        StandaloneLayer<LayerNorm<4>, double, Shape<3, 2, 4>, Cpu> norm({}, 2);
        randomize(norm, 6);
        const auto input = testing::random_values(2 * 3 * 2 * 4, 33);
        const auto report = testing::check_gradients(norm, input, [&] { return Context::sequences(lengths, 3); });
        INFO(report.worst);
        CHECK(report.max_parameter_error <= 1e-6);
        CHECK(report.max_input_error <= 1e-6);
        CHECK(report.input_gradient_written);
    }
}

TEST_CASE("LayerNorm ignores padded inputs, zeroes padded outputs and d_in, and is deterministic") {
    constexpr std::size_t TT = 48, D = 128;  // big enough for the ops to run on threads
    const std::vector<std::int32_t> lengths{48, 1, 4, 2, 48, 30};
    const Context ctx = Context::sequences(lengths, TT);
    StandaloneLayer<LayerNorm<D>, float, Shape<TT, D>, Cpu> norm({}, 8);
    Rng rng(12);
    for (std::size_t i = 0; i < norm.parameter_count(); ++i) norm.parameters()[i] = static_cast<float>(rng.uniform(-1, 1));
    std::vector<float> clean(lengths.size() * TT * D);
    for (auto& value : clean) value = static_cast<float>(rng.normal());
    auto dirty = clean;
    for (std::size_t b = 0; b < lengths.size(); ++b)
        for (std::size_t t = static_cast<std::size_t>(lengths[b]); t < TT; ++t)
            for (std::size_t d = 0; d < D; ++d) {
                clean[(b * TT + t) * D + d] = 0.0f;
                dirty[(b * TT + t) * D + d] = static_cast<float>(1e6 * rng.normal());
            }
    const auto a = run(norm, clean, ctx);
    const auto b = run(norm, dirty, ctx);
    const auto c = run(norm, clean, ctx);
    CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
    CHECK(std::memcmp(a.data(), c.data(), a.size() * sizeof(float)) == 0);
    // Per-sample partial sums added in sample order: the thread count changes nothing.
    const int threads = Cpu::num_threads();
    Cpu::set_num_threads(1);
    const auto single = run(norm, clean, ctx);
    Cpu::set_num_threads(threads);
    CHECK(std::memcmp(a.data(), single.data(), a.size() * sizeof(float)) == 0);
    bool padded_zero = true;
    const std::size_t n = lengths.size() * TT * D;
    for (std::size_t s = 0; s < lengths.size(); ++s)
        for (std::size_t t = static_cast<std::size_t>(lengths[s]); t < TT; ++t)
            for (std::size_t d = 0; d < D; ++d) {
                padded_zero &= a[(s * TT + t) * D + d] == 0.0f;
                padded_zero &= a[n + (s * TT + t) * D + d] == 0.0f;
            }
    CHECK(padded_zero);
}

TEST_CASE("LayerNorm stacks in a Sequential after a pooled vector") {
    using Net = Sequential<Cpu, float, LayerNorm<5>, Linear<5, 2>>;
    Net net(3);
    CHECK(net.parameter_count() == 10 + 12);
}

// Tests for strata/layers/conv1d.hpp: PyTorch fixture (float and double), finite
// differences, masking, determinism, batch < capacity, every activation and kernel size.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "strata/io/safetensors.hpp"
#include "strata/layers/conv1d.hpp"
#include "strata/strata.hpp"
#include "support/fixtures.hpp"
#include "support/gradient_check.hpp"

using namespace strata;
using strata::testing::relative_error;

namespace {

constexpr std::size_t B = 4, T = 7, In = 5, Out = 6;

template <class U>
std::vector<U> cast(const std::vector<double>& values) {
    return std::vector<U>(values.begin(), values.end());
}

// Loads every parameter by its state_dict name, checking the shape against the file's.
template <class Layer>
void load_parameters(Layer& layer, const io::SafetensorsFile& file) {
    using U = typename Layer::Scalar;
    int loaded = 0;
    layer.for_each_parameter([&](const ParameterRef<U>& parameter) {
        const auto& info = file.info(parameter.name);
        REQUIRE(std::equal(info.shape.begin(), info.shape.end(), parameter.shape.begin(), parameter.shape.end()));
        const auto values = file.read_f64(parameter.name);
        std::copy(values.begin(), values.end(), parameter.value);
        ++loaded;
    });
    CHECK(loaded == 2);
}

template <class U>
void check_fixture(double tolerance) {
    const auto file = io::SafetensorsFile::read(STRATA_SOURCE_DIR "/tests/fixtures/layers/conv1d.safetensors");
    const auto lengths = file.read_i32("lengths");
    const auto x = cast<U>(file.read_f64("x"));
    const auto d_out = cast<U>(file.read_f64("d_out"));
    // Capacity 6 > batch 4: also proves batch < capacity works.
    StandaloneLayer<Conv1D<In, Out, 3>, U, Shape<T, In>, Cpu> conv({}, 6);
    load_parameters(conv.layer(), file);
    conv.zero_grad();
    const Context ctx = Context::sequences(lengths, T);
    std::vector<U> out(B * T * Out, U(7)), d_x(B * T * In, U(7));
    conv.layer().forward(ctx, {x.data(), B}, {out.data(), B});
    conv.layer().backward(ctx, {x.data(), B}, {out.data(), B}, {d_out.data(), B}, {d_x.data(), B});

    const double out_error = relative_error(out.data(), file.read_f64("out"));
    const double dx_error = relative_error(d_x.data(), file.read_f64("grad.x"));
    const double dw_error = relative_error(conv.gradients(), file.read_f64("grad.weight"));
    const double db_error = relative_error(conv.gradients() + Out * In * 3, file.read_f64("grad.bias"));
    MESSAGE("conv1d vs PyTorch (", std::string(sizeof(U) == 4 ? "float" : "double"), "): out ", out_error, ", grad.x ",
            dx_error, ", grad.weight ", dw_error, ", grad.bias ", db_error);
    CHECK(out_error <= tolerance);
    CHECK(dx_error <= tolerance);
    CHECK(dw_error <= tolerance);
    CHECK(db_error <= tolerance);
}

template <std::size_t TT, std::size_t I, std::size_t O, std::size_t K>
void check_gradients_for(Activation activation, std::vector<std::int32_t> lengths) {
    using Spec = Conv1D<I, O, K>;
    StandaloneLayer<Spec, double, Shape<TT, I>, Cpu> conv(Spec{.activation = activation}, lengths.size() + 1, 3);
    const auto input = testing::random_values(lengths.size() * TT * I, 5);
    const auto report = testing::check_gradients(
        conv, input, [&] { return Context::sequences(lengths, TT); });
    INFO("activation ", static_cast<int>(activation), " kernel ", K, ": ", report.worst);
    CHECK(report.max_parameter_error <= 1e-6);
    CHECK(report.max_input_error <= 1e-6);
    CHECK(report.input_gradient_written);
    CHECK(report.parameter_gradient_accumulates);
    CHECK(report.parameters_checked == O * I * K + O);
}

// Runs forward + backward; returns out, d_x and the parameter gradients, concatenated.
template <class Standalone>
std::vector<float> run(Standalone& conv, const std::vector<float>& x, const Context& ctx) {
    using L = typename Standalone::LayerType;
    const std::size_t batch = ctx.batch;
    std::vector<float> out(batch * L::OutputShape::size, 3.0f), d_out(out.size()),
        d_x(batch * L::InputShape::size, 3.0f);
    Rng rng(17);
    for (auto& value : d_out) value = static_cast<float>(rng.normal());
    conv.zero_grad();
    conv.layer().forward(ctx, {x.data(), batch}, {out.data(), batch});
    // Upstream gradients at padded positions are zero in a real model; the layer must
    // not depend on them either way, so keep them random here.
    conv.layer().backward(ctx, {x.data(), batch}, {out.data(), batch}, {d_out.data(), batch}, {d_x.data(), batch});
    std::vector<float> all = out;
    all.insert(all.end(), d_x.begin(), d_x.end());
    all.insert(all.end(), conv.gradients(), conv.gradients() + conv.parameter_count());
    return all;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("Conv1D matches PyTorch's Conv1d on the fixture, in float and double") {
    check_fixture<float>(1e-5);
    check_fixture<double>(1e-9);
}

TEST_CASE("Conv1D names and shapes follow PyTorch's state_dict") {
    StandaloneLayer<Conv1D<In, Out, 3>, float, Shape<T, In>, Cpu> conv({}, 2);
    std::vector<std::string> names;
    conv.layer().for_each_parameter([&](const ParameterRef<float>& p) {
        names.emplace_back(p.name);
        if (p.name == "weight") CHECK((p.shape.size() == 3 && p.shape[0] == 6 && p.shape[1] == 5 && p.shape[2] == 3));
        if (p.name == "bias") CHECK((p.shape.size() == 1 && p.shape[0] == 6));
    });
    CHECK(names == std::vector<std::string>{"weight", "bias"});
    CHECK(conv.parameter_count() == 6 * 5 * 3 + 6);
    // PyTorch's default init: uniform in ±1/√(In·K).
    const float bound = 1.0f / std::sqrt(15.0f);
    const float* p = conv.parameters();
    CHECK(std::all_of(p, p + conv.parameter_count(), [&](float v) { return std::abs(v) <= bound; }));
    CHECK(std::any_of(p, p + conv.parameter_count(), [&](float v) { return std::abs(v) > 0.5f * bound; }));
}

TEST_CASE("Conv1D gradients match central finite differences") {
    check_gradients_for<6, 3, 4, 3>(Activation::identity, {6, 1, 3});
    check_gradients_for<6, 3, 4, 3>(Activation::relu, {2, 6, 1});
    check_gradients_for<6, 3, 4, 3>(Activation::tanh, {6, 1, 3});
    check_gradients_for<6, 3, 4, 3>(Activation::sigmoid, {1, 4, 6});
    check_gradients_for<5, 2, 3, 5>(Activation::tanh, {5, 1, 2, 4});  // kernel wider than a text
    check_gradients_for<5, 3, 2, 1>(Activation::identity, {5, 1, 3});  // 1×1 convolution
}

TEST_CASE("Conv1D: padded inputs change nothing; outputs and d_in at padded steps are 0") {
    constexpr std::size_t TT = 9, I = 8, O = 7;
    const std::vector<std::int32_t> lengths{9, 1, 5, 2, 9};
    const Context ctx = Context::sequences(lengths, TT);
    for (Activation activation : {Activation::identity, Activation::relu, Activation::sigmoid}) {
        StandaloneLayer<Conv1D<I, O, 3>, float, Shape<TT, I>, Cpu> conv({.activation = activation}, 8, 4);
        Rng rng(3);
        std::vector<float> clean(lengths.size() * TT * I), dirty;
        for (auto& value : clean) value = static_cast<float>(rng.normal());
        for (std::size_t b = 0; b < lengths.size(); ++b)
            for (std::size_t t = static_cast<std::size_t>(lengths[b]); t < TT; ++t)
                for (std::size_t i = 0; i < I; ++i) clean[(b * TT + t) * I + i] = 0.0f;
        dirty = clean;
        for (std::size_t b = 0; b < lengths.size(); ++b)
            for (std::size_t t = static_cast<std::size_t>(lengths[b]); t < TT; ++t)
                for (std::size_t i = 0; i < I; ++i) dirty[(b * TT + t) * I + i] = static_cast<float>(1e6 * rng.normal());
        const auto a = run(conv, clean, ctx);
        const auto b = run(conv, dirty, ctx);
        CHECK(same_bits(a, b));
        // Outputs and input gradients at padded steps are exactly 0.
        bool padded_zero = true;
        for (std::size_t s = 0; s < lengths.size(); ++s)
            for (std::size_t t = static_cast<std::size_t>(lengths[s]); t < TT; ++t) {
                for (std::size_t o = 0; o < O; ++o) padded_zero &= a[(s * TT + t) * O + o] == 0.0f;
                for (std::size_t i = 0; i < I; ++i)
                    padded_zero &= a[lengths.size() * TT * O + (s * TT + t) * I + i] == 0.0f;
            }
        CHECK(padded_zero);
    }
}

TEST_CASE("Conv1D is deterministic, works below capacity, and without lengths treats every step as valid") {
    constexpr std::size_t TT = 32, I = 128, O = 128;  // big enough for the ops to run on threads
    StandaloneLayer<Conv1D<I, O, 3>, float, Shape<TT, I>, Cpu> conv({.activation = Activation::relu}, 16, 8);
    const std::vector<std::int32_t> lengths{32, 3, 1, 17, 32, 5, 30, 32};
    Rng rng(5);
    std::vector<float> x(lengths.size() * TT * I);
    for (auto& value : x) value = static_cast<float>(rng.normal());
    const Context ctx = Context::sequences(lengths, TT);
    const auto first = run(conv, x, ctx);
    const auto second = run(conv, x, ctx);
    CHECK(same_bits(first, second));

    // The same samples one at a time give the same outputs (batch 1, capacity 16).
    for (std::size_t b = 0; b < lengths.size(); ++b) {
        const std::vector<float> one(x.begin() + static_cast<std::ptrdiff_t>(b * TT * I),
                                     x.begin() + static_cast<std::ptrdiff_t>((b + 1) * TT * I));
        const std::vector<std::int32_t> length{lengths[b]};
        std::vector<float> out(TT * O);
        conv.layer().forward(Context::sequences(length, TT), {one.data(), 1}, {out.data(), 1});
        double worst = 0.0;
        for (std::size_t i = 0; i < TT * O; ++i) worst = std::max(worst, double(std::abs(out[i] - first[b * TT * O + i])));
        CHECK(worst <= 1e-5);
    }

    // A dense context (no lengths) is the same as every length = T.
    const std::vector<std::int32_t> full(lengths.size(), static_cast<std::int32_t>(TT));
    const auto with_full = run(conv, x, Context::sequences(full, TT));
    const auto dense = run(conv, x, Context::dense(lengths.size()));
    CHECK(same_bits(with_full, dense));
}

TEST_CASE("Conv1D stacks in a Sequential and fuses ReLU") {
    using Net = Sequential<Cpu, double, Input<6, 4>, Conv1D<4, 5, 3>, ReLU>;
    using Fused = Sequential<Cpu, double, Input<6, 4>, Conv1D<4, 5, 3>>;
    Net net(3);
    Fused fused(3, Input<6, 4>{}, Conv1D<4, 5, 3>{.activation = Activation::relu});
    std::copy(net.parameters(), net.parameters() + net.parameter_count(), fused.parameters());
    const std::vector<std::int32_t> lengths{6, 2, 4};
    const auto x = testing::random_values(3 * 6 * 4, 9);
    const Context ctx = Context::sequences(lengths, 6);
    const auto a = net.forward(ctx, {x.data(), 3});
    const auto b = fused.forward(ctx, {x.data(), 3});
    for (std::size_t i = 0; i < a.size(); ++i) REQUIRE(a.data[i] == b.data[i]);
}

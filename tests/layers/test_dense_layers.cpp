// Linear, the activations, Dropout and the softmax cross-entropy: forward against values
// computed by hand, backward against central finite differences in double precision.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "strata/strata.hpp"
#include "support/gradient_check.hpp"

using namespace strata;
using strata::testing::check_gradients;
using strata::testing::random_values;

namespace {
template <class Standalone>
void set_parameters(Standalone& standalone, const std::vector<double>& values) {
    REQUIRE(values.size() == standalone.parameter_count());
    std::copy(values.begin(), values.end(), standalone.parameters());
}
}  // namespace

TEST_CASE("Linear forward: y = x·Wᵀ + b, computed by hand") {
    StandaloneLayer<Linear<3, 2>, double, Shape<3>, Cpu> linear({}, 2);
    // W = [[1, 2, 3], [-1, 0, 1]], b = [0.5, -2]
    set_parameters(linear, {1, 2, 3, -1, 0, 1, 0.5, -2});
    const std::vector<double> x{1, 1, 1, 2, 0, -1};
    std::vector<double> y(4);
    linear.layer().forward(Context::dense(2), {x.data(), 2}, {y.data(), 2});
    CHECK(y == std::vector<double>{6.5, -2, -0.5, -5});
}

TEST_CASE("Linear names and shapes its parameters as PyTorch's state_dict") {
    StandaloneLayer<Linear<3, 2>, float, Shape<3>, Cpu> linear({}, 1);
    std::vector<std::string> names;
    std::vector<std::size_t> sizes;
    linear.layer().for_each_parameter([&](const ParameterRef<float>& p) {
        names.emplace_back(p.name);
        sizes.push_back(p.size());
    });
    CHECK(names == std::vector<std::string>{"weight", "bias"});
    CHECK(sizes == std::vector<std::size_t>{6, 2});
}

TEST_CASE("Linear default initialisation is uniform within ±1/√fan_in") {
    StandaloneLayer<Linear<64, 32>, double, Shape<64>, Cpu> linear({}, 1, 3);
    const double bound = 1.0 / 8.0;
    double low = 1, high = -1;
    for (std::size_t i = 0; i < linear.parameter_count(); ++i) {
        low = std::min(low, linear.parameters()[i]);
        high = std::max(high, linear.parameters()[i]);
    }
    CHECK(low >= -bound);
    CHECK(high <= bound);
    CHECK(low < -0.9 * bound);  // the whole range is used
    CHECK(high > 0.9 * bound);
}

TEST_CASE("Linear gradients match finite differences (vectors and sequences of vectors)") {
    SUBCASE("vector input") {
        StandaloneLayer<Linear<5, 4>, double, Shape<5>, Cpu> linear({}, 3, 1);
        const auto report = check_gradients(linear, random_values(15, 2), [] { return Context::dense(3); });
        CHECK(report.max_parameter_error < 1e-7);
        CHECK(report.max_input_error < 1e-7);
        CHECK(report.input_gradient_written);
        CHECK(report.parameters_checked == 24);
        CHECK(report.inputs_checked == 15);
    }
    SUBCASE("sequence input: each row mapped") {
        StandaloneLayer<Linear<3, 2, false>, double, Shape<4, 3>, Cpu> linear({}, 2, 1);
        CHECK(linear.parameter_count() == 6);
        const auto report = check_gradients(linear, random_values(24, 3), [] { return Context::dense(2); });
        CHECK(report.max_parameter_error < 1e-7);
        CHECK(report.max_input_error < 1e-7);
    }
}

TEST_CASE("Activations forward, computed by hand") {
    const std::vector<double> x{-2, -0.5, 0, 0.5, 2};
    std::vector<double> y(5);
    StandaloneLayer<ReLU, double, Shape<5>, Cpu> relu({}, 1);
    relu.layer().forward(Context::dense(1), {x.data(), 1}, {y.data(), 1});
    CHECK(y == std::vector<double>{0, 0, 0, 0.5, 2});
    StandaloneLayer<Tanh, double, Shape<5>, Cpu> tanh_layer({}, 1);
    tanh_layer.layer().forward(Context::dense(1), {x.data(), 1}, {y.data(), 1});
    for (std::size_t i = 0; i < 5; ++i) CHECK(y[i] == doctest::Approx(std::tanh(x[i])).epsilon(1e-15));
    StandaloneLayer<Sigmoid, double, Shape<5>, Cpu> sigmoid({}, 1);
    sigmoid.layer().forward(Context::dense(1), {x.data(), 1}, {y.data(), 1});
    CHECK(y[2] == 0.5);
    CHECK(y[4] == doctest::Approx(1.0 / (1.0 + std::exp(-2.0))).epsilon(1e-15));
    CHECK(y[0] == doctest::Approx(1.0 - y[4]).epsilon(1e-15));
    // No overflow at the extremes.
    const std::vector<double> extreme{-1000, 1000};
    std::vector<double> out(2);
    StandaloneLayer<Sigmoid, double, Shape<2>, Cpu> wide({}, 1);
    wide.layer().forward(Context::dense(1), {extreme.data(), 1}, {out.data(), 1});
    CHECK(out == std::vector<double>{0.0, 1.0});
}

TEST_CASE("Activation gradients match finite differences") {
    // Inputs kept away from ReLU's kink at 0.
    auto input = random_values(12, 5);
    for (auto& v : input)
        if (std::abs(v) < 0.05) v += 0.1;
    StandaloneLayer<ReLU, double, Shape<6>, Cpu> relu({}, 2);
    StandaloneLayer<Tanh, double, Shape<6>, Cpu> tanh_layer({}, 2);
    StandaloneLayer<Sigmoid, double, Shape<6>, Cpu> sigmoid({}, 2);
    for (const auto& report : {check_gradients(relu, input, [] { return Context::dense(2); }),
                               check_gradients(tanh_layer, input, [] { return Context::dense(2); }),
                               check_gradients(sigmoid, input, [] { return Context::dense(2); })}) {
        CHECK(report.max_input_error < 1e-7);
        CHECK(report.input_gradient_written);
    }
}

TEST_CASE("Dropout: identity in evaluation, inverted scaling and the right rate in training") {
    StandaloneLayer<Dropout, double, Shape<1000>, Cpu> dropout(Dropout{0.3}, 4);
    const std::vector<double> x(4000, 2.0);
    std::vector<double> y(4000);
    dropout.layer().forward(Context::dense(4), {x.data(), 4}, {y.data(), 4});
    CHECK(y == x);

    Rng rng(9);
    dropout.layer().forward(Context::dense(4, true, &rng), {x.data(), 4}, {y.data(), 4});
    std::size_t zeros = 0;
    for (double v : y) {
        if (v == 0.0) ++zeros;
        else CHECK(v == doctest::Approx(2.0 / 0.7).epsilon(1e-15));
    }
    CHECK(static_cast<double>(zeros) / 4000.0 == doctest::Approx(0.3).epsilon(0.1));

    // Same seed, same mask; another seed, another mask.
    std::vector<double> again(4000), other(4000);
    Rng same(9), different(10);
    dropout.layer().forward(Context::dense(4, true, &same), {x.data(), 4}, {again.data(), 4});
    dropout.layer().forward(Context::dense(4, true, &different), {x.data(), 4}, {other.data(), 4});
    CHECK(again == y);
    CHECK(other != y);

    CHECK_THROWS_AS((StandaloneLayer<Dropout, float, Shape<3>, Cpu>(Dropout{1.0}, 1)), Error);
    CHECK_THROWS_AS(dropout.layer().forward(Context::dense(4, true, nullptr), {x.data(), 4}, {y.data(), 4}), Error);
}

TEST_CASE("Dropout gradients match finite differences with a fixed mask") {
    StandaloneLayer<Dropout, double, Shape<8>, Cpu> dropout(Dropout{0.4}, 3);
    Rng rng(1);
    const auto report = check_gradients(dropout, random_values(24, 6), [&rng] {
        rng.reseed(77);
        return Context::dense(3, true, &rng);
    });
    CHECK(report.max_input_error < 1e-7);
    CHECK(report.input_gradient_written);
}

TEST_CASE("Softmax cross-entropy: value by hand, gradient by finite differences, label smoothing") {
    SoftmaxCrossEntropy<double, Cpu, 3> loss(2);
    const std::vector<double> logits{1, 2, 3, 0, 0, 0};
    const std::vector<std::int32_t> labels{2, 0};
    std::vector<double> gradient(6);
    const double value = loss({logits.data(), 2}, labels, {gradient.data(), 2});
    const double row0 = -(3 - std::log(std::exp(1) + std::exp(2) + std::exp(3)));
    const double row1 = std::log(3.0);
    CHECK(value == doctest::Approx((row0 + row1) / 2).epsilon(1e-14));
    // Gradient of the mean, by finite differences.
    for (std::size_t i = 0; i < 6; ++i) {
        auto plus = logits, minus = logits;
        plus[i] += 1e-6;
        minus[i] -= 1e-6;
        const double numeric = (loss({plus.data(), 2}, labels, {}) - loss({minus.data(), 2}, labels, {})) / 2e-6;
        CHECK(gradient[i] == doctest::Approx(numeric).epsilon(1e-7));
    }
    // Label smoothing ε: loss = -Σ_c ((1-ε)·onehot_c + ε/C) log p_c
    SoftmaxCrossEntropy<double, Cpu, 3> smoothed(2, 0.1);
    const double smoothed_value = smoothed({logits.data(), 2}, labels, {gradient.data(), 2});
    double expected = 0;
    for (int r = 0; r < 2; ++r) {
        const double* z = logits.data() + 3 * r;
        const double log_sum = std::log(std::exp(z[0]) + std::exp(z[1]) + std::exp(z[2]));
        for (int c = 0; c < 3; ++c)
            expected -= ((c == labels[r] ? 0.9 : 0.0) + 0.1 / 3) * (z[c] - log_sum) / 2;
    }
    CHECK(smoothed_value == doctest::Approx(expected).epsilon(1e-14));

    const std::vector<std::int32_t> bad{3, 0};
    CHECK_THROWS_WITH_AS(loss({logits.data(), 2}, bad, {}),
                         "strata::SoftmaxCrossEntropy: label 3 of sample 0 is outside [0, 3)", Error);
}

TEST_CASE("Sequential names parameters like torch.nn.Sequential and Named") {
    using Net = Sequential<Cpu, float, Linear<2, 4>, ReLU, Named<"fc", Linear<4, 3>>>;
    Net net(2);
    std::vector<std::string> names;
    net.for_each_parameter([&](const ParameterRef<float>& p) { names.emplace_back(p.name); });
    CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "fc.weight", "fc.bias"});
    CHECK(net.parameter_count() == 2 * 4 + 4 + 4 * 3 + 3);
    // The walk visits the flat arena in order, contiguously.
    float* expected = net.parameters();
    net.for_each_parameter([&](const ParameterRef<float>& p) {
        CHECK(p.value == expected);
        expected += p.size();
    });
}

TEST_CASE("Sequential backward equals finite differences through the whole stack") {
    using Net = Sequential<Cpu, double, Linear<3, 5>, Tanh, Linear<5, 4>, Sigmoid, Linear<4, 2>>;
    Net net(3);
    net.reset_parameters(4);
    const auto x = random_values(9, 8);
    const std::vector<std::int32_t> labels{1, 0, 1};
    SoftmaxCrossEntropy<double, Cpu, 2> loss(3);
    const auto ctx = Context::dense(3);
    loss(net.forward(ctx, {x.data(), 3}), labels, net.output_gradient());
    net.zero_grad();
    net.backward(ctx);
    std::vector<double> analytic(net.gradients(), net.gradients() + net.parameter_count());
    for (std::size_t i = 0; i < net.parameter_count(); ++i) {
        const double saved = net.parameters()[i];
        net.parameters()[i] = saved + 1e-6;
        const double plus = loss(net.forward(ctx, {x.data(), 3}), labels, {});
        net.parameters()[i] = saved - 1e-6;
        const double minus = loss(net.forward(ctx, {x.data(), 3}), labels, {});
        net.parameters()[i] = saved;
        CHECK(analytic[i] == doctest::Approx((plus - minus) / 2e-6).epsilon(1e-6).scale(1.0));
    }
}

TEST_CASE("Sequential rejects batches beyond its capacity and mismatched inputs") {
    using Net = Sequential<Cpu, float, Linear<2, 2>>;
    Net net(4);
    std::vector<float> x(10);
    CHECK_THROWS_AS(net.forward(Context::dense(5), {x.data(), 5}), Error);
    CHECK_THROWS_AS(net.forward(Context::dense(3), {x.data(), 2}), Error);
    Net fresh(1);
    CHECK_THROWS_AS(fresh.backward(Context::dense(1)), Error);
}

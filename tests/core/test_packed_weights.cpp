// Inference on packed weights (core/packed_weight.hpp): a Sequential's inference forward
// runs on copies of its weight matrices packed for the GEMM, and every way of changing the
// parameters through the model drops them, so inference never sees stale weights.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <strata/strata.hpp>

#include "support/gradient_check.hpp"

using namespace strata;

namespace {

// Every layer that packs (Conv1D, GRU, MultiHeadAttention, Linear), no dropout: a forward
// with training = true computes the same function on the unpacked weights.
using Net = Sequential<Cpu, float, Input<24, 32>, Named<"conv", Conv1D<32, 32, 3>>, Named<"gru", GRU<32, 32>>,
                       Named<"attn", MultiHeadAttention<32, 4>>, MeanPool, Named<"fc", Linear<32, 5>>>;

struct Batch {
    std::vector<std::int32_t> lengths;
    std::vector<float> x;
};

Batch make_batch(std::size_t batch) {
    Batch b;
    for (std::size_t i = 0; i < batch; ++i) b.lengths.push_back(static_cast<std::int32_t>(1 + (i * 5 + 11) % 24));
    const auto values = testing::random_values(batch * 24 * 32, 3);
    b.x.assign(values.begin(), values.end());
    return b;
}

std::vector<float> run(Net& net, const Batch& b, bool training) {
    const Context ctx = Context::sequences(b.lengths, 24, training);
    const auto out = net.forward(ctx, {b.x.data(), b.lengths.size()});
    return {out.data, out.data + out.size()};
}

double max_difference(const std::vector<float>& a, const std::vector<float>& b) {
    double worst = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, static_cast<double>(std::abs(a[i] - b[i])));
    return worst;
}

}  // namespace

TEST_CASE("inference on packed weights computes the unpacked forward") {
    for (std::size_t batch : {std::size_t{1}, std::size_t{16}}) {
        CAPTURE(batch);
        Net net(16);
        net.reset_parameters(4);
        const Batch b = make_batch(batch);
        const auto unpacked = run(net, b, true);
        const auto packed = run(net, b, false);
        const auto again = run(net, b, false);
        CHECK(max_difference(unpacked, packed) <= 1e-5);
        CHECK(packed == again);
    }
}

TEST_CASE("every change to the parameters through the model reaches the next inference forward") {
    Net net(16);
    net.reset_parameters(5);
    const Batch b = make_batch(7);
    auto reference = [&] { return run(net, b, true); };  // never packed
    std::vector<float> before = run(net, b, false);

    SUBCASE("parameters()") {
        float* p = net.parameters();
        for (std::size_t i = 0; i < net.parameter_count(); ++i) p[i] *= 0.5f;
    }
    SUBCASE("for_each_parameter (as a checkpoint load does)") {
        net.for_each_parameter([](const ParameterRef<float>& parameter) {
            for (std::size_t i = 0; i < parameter.size(); ++i) parameter.value[i] = -parameter.value[i];
        });
    }
    SUBCASE("reset_parameters") { net.reset_parameters(6); }
    SUBCASE("an optimizer step") {
        const Context ctx = Context::sequences(b.lengths, 24, true);
        net.forward(ctx, {b.x.data(), b.lengths.size()});
        std::fill_n(net.output_gradient().data, net.output_gradient().size(), 1.0f);
        net.zero_grad();
        net.backward(ctx);
        Adam<Net> adam(net, {.learning_rate = 0.05});
        adam.step();
    }
    SUBCASE("a pointer kept from parameters(), then parameters_changed()") {
        float* p = net.parameters();
        run(net, b, false);  // packs again
        for (std::size_t i = 0; i < net.parameter_count(); ++i) p[i] += 0.01f;
        net.parameters_changed();
    }
    const auto after = run(net, b, false);
    CHECK(max_difference(before, after) > 1e-3);              // the change is visible
    CHECK(max_difference(reference(), after) <= 1e-5);         // and it is the current weights'
}

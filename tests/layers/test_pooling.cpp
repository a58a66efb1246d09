// Tests for strata/layers/pooling.hpp: MeanPool, MaxPool, LastPool against the PyTorch
// fixture (float and double), finite differences, masking, determinism, batch < capacity.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "strata/io/safetensors.hpp"
#include "strata/layers/pooling.hpp"
#include "strata/strata.hpp"
#include "support/fixtures.hpp"
#include "support/gradient_check.hpp"

using namespace strata;
using strata::testing::relative_error;

namespace {

constexpr std::size_t B = 4, T = 7, F = 5;

template <class Spec, class U>
void check_fixture(const std::string& kind, double tolerance) {
    const auto file = io::SafetensorsFile::read(STRATA_SOURCE_DIR "/tests/fixtures/layers/pooling.safetensors");
    const auto lengths = file.read_i32("lengths");
    const auto x64 = file.read_f64("x");
    const auto d64 = file.read_f64("d_out");
    const std::vector<U> x(x64.begin(), x64.end()), d_out(d64.begin(), d64.end());
    StandaloneLayer<Spec, U, Shape<T, F>, Cpu> pool({}, 6);  // capacity 6 > batch 4
    const Context ctx = Context::sequences(lengths, T);
    std::vector<U> out(B * F, U(9)), d_x(B * T * F, U(9));
    pool.layer().forward(ctx, {x.data(), B}, {out.data(), B});
    pool.layer().backward(ctx, {x.data(), B}, {out.data(), B}, {d_out.data(), B}, {d_x.data(), B});
    const double out_error = relative_error(out, file.read_f64(kind + ".out"));
    const double dx_error = relative_error(d_x, file.read_f64(kind + ".grad.x"));
    MESSAGE(kind, " pool vs PyTorch (", std::string(sizeof(U) == 4 ? "float" : "double"), "): out ", out_error,
            ", grad.x ", dx_error);
    CHECK(out_error <= tolerance);
    CHECK(dx_error <= tolerance);
}

template <class Spec>
void check_gradients_for() {
    constexpr std::size_t TT = 6, FF = 4;
    const std::vector<std::int32_t> lengths{6, 1, 3, 4};
    StandaloneLayer<Spec, double, Shape<TT, FF>, Cpu> pool({}, 5);
    const auto input = testing::random_values(lengths.size() * TT * FF, 21);
    const auto report = testing::check_gradients(pool, input, [&] { return Context::sequences(lengths, TT); });
    INFO(report.worst);
    CHECK(report.max_input_error <= 1e-6);
    CHECK(report.input_gradient_written);
    CHECK(report.inputs_checked == input.size());
}

// forward + backward with garbage-free upstream gradient; returns out then d_x.
template <class Standalone>
std::vector<float> run(Standalone& pool, const std::vector<float>& x, const Context& ctx) {
    using L = typename Standalone::LayerType;
    const std::size_t batch = ctx.batch;
    std::vector<float> out(batch * L::OutputShape::size, 4.0f), d_out(out.size()), d_x(x.size(), 4.0f);
    Rng rng(8);
    for (auto& value : d_out) value = static_cast<float>(rng.normal());
    pool.layer().forward(ctx, {x.data(), batch}, {out.data(), batch});
    pool.layer().backward(ctx, {x.data(), batch}, {out.data(), batch}, {d_out.data(), batch}, {d_x.data(), batch});
    out.insert(out.end(), d_x.begin(), d_x.end());
    return out;
}

template <class Spec>
void check_masking_and_determinism() {
    constexpr std::size_t TT = 64, FF = 128;  // big enough for the ops to run on threads
    const std::vector<std::int32_t> lengths{64, 1, 37, 3, 64};
    const Context ctx = Context::sequences(lengths, TT);
    StandaloneLayer<Spec, float, Shape<TT, FF>, Cpu> pool({}, 8);
    Rng rng(2);
    std::vector<float> clean(lengths.size() * TT * FF);
    for (auto& value : clean) value = static_cast<float>(rng.normal());
    auto dirty = clean;
    for (std::size_t b = 0; b < lengths.size(); ++b)
        for (std::size_t t = static_cast<std::size_t>(lengths[b]); t < TT; ++t)
            for (std::size_t f = 0; f < FF; ++f) {
                clean[(b * TT + t) * FF + f] = 0.0f;
                dirty[(b * TT + t) * FF + f] = static_cast<float>(1e6 * std::abs(rng.normal()));  // would win a max
            }
    const auto a = run(pool, clean, ctx);
    const auto b = run(pool, dirty, ctx);
    CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
    const auto c = run(pool, clean, ctx);
    CHECK(std::memcmp(a.data(), c.data(), a.size() * sizeof(float)) == 0);
    // Samples are independent: the thread count changes nothing.
    const int threads = Cpu::num_threads();
    Cpu::set_num_threads(1);
    const auto single = run(pool, clean, ctx);
    Cpu::set_num_threads(threads);
    CHECK(std::memcmp(a.data(), single.data(), a.size() * sizeof(float)) == 0);
    bool padded_zero = true;
    for (std::size_t s = 0; s < lengths.size(); ++s)
        for (std::size_t t = static_cast<std::size_t>(lengths[s]); t < TT; ++t)
            for (std::size_t f = 0; f < FF; ++f) padded_zero &= a[lengths.size() * FF + (s * TT + t) * FF + f] == 0.0f;
    CHECK(padded_zero);
    // A dense context pools over every step.
    const std::vector<std::int32_t> full(lengths.size(), static_cast<std::int32_t>(TT));
    const auto with_full = run(pool, dirty, Context::sequences(full, TT));
    const auto dense = run(pool, dirty, Context::dense(lengths.size()));
    CHECK(std::memcmp(with_full.data(), dense.data(), dense.size() * sizeof(float)) == 0);
}

}  // namespace

TEST_CASE("MeanPool, MaxPool and LastPool match PyTorch on the fixture, in float and double") {
    check_fixture<MeanPool, float>("mean", 1e-5);
    check_fixture<MeanPool, double>("mean", 1e-9);
    check_fixture<MaxPool, float>("max", 1e-5);
    check_fixture<MaxPool, double>("max", 1e-9);
    check_fixture<LastPool, float>("last", 1e-5);
    check_fixture<LastPool, double>("last", 1e-9);
}

TEST_CASE("Pooling gradients match central finite differences") {
    check_gradients_for<MeanPool>();
    check_gradients_for<MaxPool>();
    check_gradients_for<LastPool>();
}

TEST_CASE("Pooling ignores padded inputs, writes d_in = 0 there, and is deterministic") {
    check_masking_and_determinism<MeanPool>();
    check_masking_and_determinism<MaxPool>();
    check_masking_and_determinism<LastPool>();
}

TEST_CASE("MaxPool breaks ties at the first index") {
    StandaloneLayer<MaxPool, float, Shape<4, 2>, Cpu> pool({}, 1);
    const std::vector<float> x{1, 5, 3, 5, 3, 2, 0, 5};  // feature 0: 3 at t = 1, 2; feature 1: 5 at t = 0, 1, 3
    const std::vector<std::int32_t> lengths{4};
    std::vector<float> out(2), d_out{1, 1}, d_x(8, 7);
    const Context ctx = Context::sequences(lengths, 4);
    pool.layer().forward(ctx, {x.data(), 1}, {out.data(), 1});
    pool.layer().backward(ctx, {x.data(), 1}, {out.data(), 1}, {d_out.data(), 1}, {d_x.data(), 1});
    CHECK(out == std::vector<float>{3, 5});
    CHECK(d_x == std::vector<float>{0, 1, 1, 0, 0, 0, 0, 0});
}

TEST_CASE("Pooling accepts only sequences, and binds Shape<T, F> to Shape<F>") {
    static_assert(MeanPool::accepts<Shape<7, 5>>);
    static_assert(!MaxPool::accepts<Shape<5>>);
    static_assert(std::is_same_v<MaxPool::bind<float, Cpu, Shape<7, 5>>::OutputShape, Shape<5>>);
    using Net = Sequential<Cpu, float, Input<7, 5>, MeanPool, Linear<5, 3>>;
    Net net(4);
    CHECK(net.parameter_count() == 18);
}

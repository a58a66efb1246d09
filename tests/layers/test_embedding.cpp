// Tests for strata/layers/embedding.hpp: PyTorch fixture (float and double), finite
// differences, padding id, repeated ids, invalid ids, masking, determinism, batch <
// capacity, and an Embedding-led Sequential.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "strata/io/safetensors.hpp"
#include "strata/layers/conv1d.hpp"
#include "strata/layers/embedding.hpp"
#include "strata/layers/layer_norm.hpp"
#include "strata/layers/pooling.hpp"
#include "strata/strata.hpp"
#include "support/fixtures.hpp"
#include "support/gradient_check.hpp"

using namespace strata;
using strata::testing::relative_error;

namespace {

constexpr std::size_t B = 4, T = 7, V = 11, D = 5;

template <class U>
void check_fixture(double tolerance) {
    const auto file = io::SafetensorsFile::read(STRATA_SOURCE_DIR "/tests/fixtures/layers/embedding.safetensors");
    const auto lengths = file.read_i32("lengths");
    const auto ids = file.read_i32("ids");
    const auto d64 = file.read_f64("d_out");
    const std::vector<U> d_out(d64.begin(), d64.end());
    StandaloneLayer<Embedding<T, D>, U, Shape<T>, Cpu> embedding({.vocabulary_size = V}, 6);  // capacity 6 > 4
    int loaded = 0;
    embedding.layer().for_each_parameter([&](const ParameterRef<U>& parameter) {
        const auto& info = file.info(parameter.name);
        REQUIRE(std::equal(info.shape.begin(), info.shape.end(), parameter.shape.begin(), parameter.shape.end()));
        const auto values = file.read_f64(parameter.name);
        std::copy(values.begin(), values.end(), parameter.value);
        ++loaded;
    });
    CHECK(loaded == 1);
    embedding.zero_grad();
    const Context ctx = Context::sequences(lengths, T);
    std::vector<U> out(B * T * D, U(3));
    embedding.layer().forward(ctx, {ids.data(), B}, {out.data(), B});
    embedding.layer().backward(ctx, {ids.data(), B}, {out.data(), B}, {d_out.data(), B}, {});
    const double out_error = relative_error(out.data(), file.read_f64("out"));
    const double dw_error = relative_error(embedding.gradients(), file.read_f64("grad.weight"));
    MESSAGE("embedding vs PyTorch (", std::string(sizeof(U) == 4 ? "float" : "double"), "): out ", out_error,
            ", grad.weight ", dw_error);
    CHECK(out_error <= tolerance);
    CHECK(dw_error <= tolerance);
}

}  // namespace

TEST_CASE("Embedding matches PyTorch's nn.Embedding(padding_idx=0) on the fixture, in float and double") {
    check_fixture<float>(1e-5);
    check_fixture<double>(1e-9);
}

TEST_CASE("Embedding: spec validation, names, init") {
    using Layer = StandaloneLayer<Embedding<4, 3>, float, Shape<4>, Cpu>;
    CHECK_THROWS_WITH_AS(Layer({}, 2), doctest::Contains("vocabulary_size must be at least 1"), Error);
    CHECK_THROWS_AS(Layer({.vocabulary_size = 5, .padding_id = 5}, 2), Error);
    CHECK_THROWS_AS(Layer({.vocabulary_size = 5, .padding_id = -2}, 2), Error);
    CHECK_NOTHROW(Layer({.vocabulary_size = 5, .padding_id = -1}, 2));

    StandaloneLayer<Embedding<4, 64>, double, Shape<4>, Cpu> big({.vocabulary_size = 300, .padding_id = 2}, 2, 7);
    std::vector<std::string> names;
    big.layer().for_each_parameter([&](const ParameterRef<double>& p) {
        names.emplace_back(p.name);
        CHECK((p.shape.size() == 2 && p.shape[0] == 300 && p.shape[1] == 64));
    });
    CHECK(names == std::vector<std::string>{"weight"});
    // N(0, 1) with the padding row zeroed.
    const double* w = big.parameters();
    double sum = 0, squares = 0;
    for (std::size_t i = 0; i < 300 * 64; ++i) {
        sum += w[i];
        squares += w[i] * w[i];
    }
    CHECK(std::all_of(w + 2 * 64, w + 3 * 64, [](double v) { return v == 0.0; }));
    CHECK(std::abs(sum / (299 * 64)) < 0.03);
    CHECK(std::abs(squares / (299 * 64) - 1.0) < 0.05);
}

TEST_CASE("Embedding gradient matches central finite differences, with repeated ids and the padding id") {
    constexpr std::size_t TT = 6, DD = 3, VV = 7;
    const std::vector<std::int32_t> lengths{6, 1, 3};
    const std::vector<std::int32_t> ids{3, 3, 0, 5, 3, 6, /**/ 3, 99, -4, 0, 0, 0, /**/ 5, 0, 1, 2, 2, 2};
    for (std::int32_t padding : {0, -1}) {
        StandaloneLayer<Embedding<TT, DD>, double, Shape<TT>, Cpu> embedding(
            {.vocabulary_size = VV, .padding_id = padding}, 4, 2);
        const Context ctx = Context::sequences(lengths, TT);
        std::vector<double> out(lengths.size() * TT * DD), upstream(out.size());
        Rng rng(3);
        for (auto& value : upstream) value = rng.normal();
        for (std::size_t i = 0; i < embedding.parameter_count(); ++i) embedding.gradients()[i] = 1.5;
        embedding.layer().forward(ctx, {ids.data(), 3}, {out.data(), 3});
        embedding.layer().backward(ctx, {ids.data(), 3}, {out.data(), 3}, {upstream.data(), 3}, {});
        auto loss = [&] {
            embedding.layer().forward(ctx, {ids.data(), 3}, {out.data(), 3});
            double total = 0;
            for (std::size_t i = 0; i < out.size(); ++i) total += out[i] * upstream[i];
            return total;
        };
        double worst = 0;
        for (std::size_t i = 0; i < embedding.parameter_count(); ++i) {
            const double saved = embedding.parameters()[i];
            embedding.parameters()[i] = saved + 1e-6;
            const double plus = loss();
            embedding.parameters()[i] = saved - 1e-6;
            const double minus = loss();
            embedding.parameters()[i] = saved;
            double numeric = (plus - minus) / 2e-6;
            // The padding row gets no gradient (PyTorch), though it does feed the output.
            if (padding >= 0 && i / DD == static_cast<std::size_t>(padding)) numeric = 0.0;
            worst = std::max(worst, std::abs((embedding.gradients()[i] - 1.5) - numeric));
        }
        INFO("padding id ", padding);
        CHECK(worst <= 1e-6);
        // Touched rows: the distinct valid ids other than the padding id, ascending.
        const auto touched = embedding.layer().touched_rows();
        const std::vector<std::int32_t> expected =
            padding == 0 ? std::vector<std::int32_t>{1, 3, 5, 6} : std::vector<std::int32_t>{0, 1, 3, 5, 6};
        CHECK(std::vector<std::int32_t>(touched.begin(), touched.end()) == expected);
    }
}

TEST_CASE("Embedding rejects ids outside the vocabulary at valid positions only") {
    StandaloneLayer<Embedding<5, 4>, float, Shape<5>, Cpu> embedding({.vocabulary_size = 10}, 3);
    const std::vector<std::int32_t> lengths{5, 2};
    std::vector<std::int32_t> ids{1, 2, 3, 4, 9, /**/ 1, 2, -7, 1000, 10};  // padded garbage is fine
    std::vector<float> out(2 * 5 * 4);
    const Context ctx = Context::sequences(lengths, 5);
    CHECK_NOTHROW(embedding.layer().forward(ctx, {ids.data(), 2}, {out.data(), 2}));
    ids[6] = 10;
    CHECK_THROWS_WITH_AS(embedding.layer().forward(ctx, {ids.data(), 2}, {out.data(), 2}),
                         "strata::Embedding: token id 10 at sample 1, position 1 is outside the vocabulary [0, 10)",
                         Error);
    ids[6] = -1;
    CHECK_THROWS_WITH_AS(embedding.layer().forward(ctx, {ids.data(), 2}, {out.data(), 2}),
                         doctest::Contains("token id -1 at sample 1, position 1"), Error);
}

TEST_CASE("Embedding: padded ids change nothing, padded outputs are 0, runs are deterministic") {
    // Big enough (5 × 64 × 128 elements) for the ops to run on threads.
    constexpr std::size_t TT = 64, DD = 128, VV = 50;
    StandaloneLayer<Embedding<TT, DD>, float, Shape<TT>, Cpu> embedding({.vocabulary_size = VV}, 8, 4);
    const std::vector<std::int32_t> lengths{64, 1, 37, 3, 64};
    const Context ctx = Context::sequences(lengths, TT);
    Rng rng(9);
    std::vector<std::int32_t> clean(lengths.size() * TT), dirty;
    for (auto& id : clean) id = static_cast<std::int32_t>(rng.below(VV));
    for (std::size_t b = 0; b < lengths.size(); ++b)
        for (std::size_t t = static_cast<std::size_t>(lengths[b]); t < TT; ++t) clean[b * TT + t] = 0;
    dirty = clean;
    for (std::size_t b = 0; b < lengths.size(); ++b)
        for (std::size_t t = static_cast<std::size_t>(lengths[b]); t < TT; ++t)
            dirty[b * TT + t] = static_cast<std::int32_t>(rng.below(1000)) - 500;
    std::vector<float> d_out(lengths.size() * TT * DD);
    for (auto& value : d_out) value = static_cast<float>(rng.normal());
    auto run = [&](const std::vector<std::int32_t>& ids) {
        std::vector<float> out(lengths.size() * TT * DD, 5.0f);
        embedding.zero_grad();
        embedding.layer().forward(ctx, {ids.data(), lengths.size()}, {out.data(), lengths.size()});
        embedding.layer().backward(ctx, {ids.data(), lengths.size()}, {out.data(), lengths.size()},
                                   {d_out.data(), lengths.size()}, {});
        out.insert(out.end(), embedding.gradients(), embedding.gradients() + embedding.parameter_count());
        return out;
    };
    const auto a = run(clean), b = run(dirty), c = run(clean);
    CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
    CHECK(std::memcmp(a.data(), c.data(), a.size() * sizeof(float)) == 0);
    bool padded_zero = true;
    for (std::size_t s = 0; s < lengths.size(); ++s)
        for (std::size_t t = static_cast<std::size_t>(lengths[s]); t < TT; ++t)
            for (std::size_t d = 0; d < DD; ++d) padded_zero &= a[(s * TT + t) * DD + d] == 0.0f;
    CHECK(padded_zero);
    // The gradient is the same whatever the thread count (columns split between threads,
    // each summed in token order).
    const int threads = Cpu::num_threads();
    Cpu::set_num_threads(1);
    const auto single = run(clean);
    Cpu::set_num_threads(threads);
    CHECK(std::memcmp(a.data(), single.data(), a.size() * sizeof(float)) == 0);
}

TEST_CASE("An Embedding-led Sequential: Embedding → Conv1D+ReLU → LayerNorm → MaxPool → Linear") {
    using Net = Sequential<Cpu, double, Embedding<7, 5>, Conv1D<5, 6, 3>, LayerNorm<6>, MaxPool, Linear<6, 3>>;
    static_assert(std::is_same_v<Net::InputShape, Shape<7>>);
    static_assert(std::is_same_v<Net::InputScalar, std::int32_t>);
    Net net(4, Embedding<7, 5>{.vocabulary_size = 11}, Conv1D<5, 6, 3>{.activation = Activation::relu},
            LayerNorm<6>{}, MaxPool{}, Linear<6, 3>{});
    std::vector<std::string> names;
    net.for_each_parameter([&](const ParameterRef<double>& p) { names.emplace_back(p.name); });
    CHECK(names == std::vector<std::string>{"0.weight", "1.weight", "1.bias", "2.weight", "2.bias", "4.weight",
                                            "4.bias"});
    CHECK(net.parameter_count() == 11 * 5 + 6 * 5 * 3 + 6 + 12 + 18 + 3);
    const std::vector<std::int32_t> lengths{7, 1, 4};
    const std::vector<std::int32_t> ids{1, 2, 3, 4, 5, 6, 7, /**/ 8, 0, 0, 0, 0, 0, 0, /**/ 9, 10, 1, 1, 0, 0, 0};
    const Context ctx = Context::sequences(lengths, 7);
    net.zero_grad();
    const auto logits = net.forward(ctx, {ids.data(), 3});
    CHECK(Cpu::all_finite(logits.size(), logits.data));
    auto d_logits = net.output_gradient();
    for (std::size_t i = 0; i < d_logits.size(); ++i) d_logits.data[i] = 1.0;
    net.backward(ctx);
    CHECK(Cpu::all_finite(net.parameter_count(), net.gradients()));
}

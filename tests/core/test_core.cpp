// Shapes, tensors, views, the context and the RNG.
#include <doctest/doctest.h>

#include <set>
#include <vector>

#include "strata/strata.hpp"

using namespace strata;

// Static inputs give static results.
static_assert(Shape<4>::rank == 1 && Shape<4>::size == 4 && Shape<4>::last == 4 && Shape<4>::rows == 1);
static_assert(Shape<64, 128>::rank == 2 && Shape<64, 128>::size == 8192 && Shape<64, 128>::rows == 64);
static_assert(std::is_same_v<replace_last_t<Shape<64, 128>, 3>, Shape<64, 3>>);
static_assert(std::is_same_v<replace_last_t<Shape<7>, 3>, Shape<3>>);
static_assert(ShapeType<Shape<1, 2, 3>> && !ShapeType<int>);
static_assert(Layer<Linear<4, 3>::bind<float, Cpu, Shape<4>>>);
static_assert(Layer<ReLU::bind<double, Cpu, Shape<7, 5>>>);
static_assert(Layer<Dropout::bind<float, Cpu, Shape<9>>>);

TEST_CASE("Shape prints its extents") {
    CHECK(Shape<64, 128>::to_string() == "[64, 128]");
    CHECK(Shape<3>::to_string() == "[3]");
}

TEST_CASE("Tensor: capacity, views and errors") {
    Tensor<float, Shape<2, 3>, Cpu> tensor(5);
    CHECK(tensor.capacity() == 5);
    auto view = tensor.view(4);
    CHECK(view.batch == 4);
    CHECK(view.size() == 24);
    CHECK(view.rows() == 8);
    CHECK(view.sample(1) == tensor.data() + 6);
    for (std::size_t i = 0; i < 30; ++i) CHECK(tensor.data()[i] == 0.0f);  // zero-initialised
    CHECK_THROWS_WITH_AS(tensor.view(6), "strata::Tensor: batch 6 exceeds the capacity 5", Error);
    TensorView<const float, Shape<2, 3>, Cpu> read_only = view;
    CHECK(read_only.data == view.data);
    CHECK(TensorView<float, Shape<1>, Cpu>{}.empty());
}

TEST_CASE("Buffer is move-only and releases its memory") {
    Buffer<double, Cpu> first(10);
    double* data = first.data();
    Buffer<double, Cpu> second(std::move(first));
    CHECK(second.data() == data);
    CHECK(first.data() == nullptr);
    CHECK(second.size() == 10);
    CHECK(reinterpret_cast<std::uintptr_t>(data) % Cpu::alignment == 0);
}

TEST_CASE("Context validates sequence lengths") {
    const std::vector<std::int32_t> lengths{3, 1, 7};
    const auto ctx = Context::sequences(lengths, 7);
    CHECK(ctx.batch == 3);
    CHECK(ctx.max_length == 7);
    CHECK(ctx.length(1, 7) == 1);
    CHECK(ctx.time_steps(7) == 7);
    const std::vector<std::int32_t> too_long{3, 8};
    CHECK_THROWS_WITH_AS(Context::sequences(too_long, 7), "strata::Context: length 8 of sample 1 is outside [1, 7]",
                         Error);
    const std::vector<std::int32_t> empty_text{0};
    CHECK_THROWS_AS(Context::sequences(empty_text, 7), Error);
    const auto dense = Context::dense(4);
    CHECK(dense.length(2, 9) == 9);
    CHECK(dense.time_steps(9) == 9);
}

TEST_CASE("Rng: same seed, same stream; different seeds differ; uniform and normal are sane") {
    Rng a(42), b(42), c(43);
    bool differs = false;
    for (int i = 0; i < 100; ++i) {
        const auto x = a.next_u64();
        CHECK(x == b.next_u64());
        differs |= x != c.next_u64();
    }
    CHECK(differs);

    Rng rng(7);
    double sum = 0, sum_squares = 0;
    const int n = 200000;
    for (int i = 0; i < n; ++i) {
        const double u = rng.uniform();
        CHECK_UNARY(u >= 0.0);
        CHECK_UNARY(u < 1.0);
        const double z = rng.normal();
        sum += z;
        sum_squares += z * z;
    }
    CHECK(sum / n == doctest::Approx(0.0).epsilon(0.02).scale(1.0));
    CHECK(sum_squares / n == doctest::Approx(1.0).epsilon(0.02));

    std::vector<int> counts(7, 0);
    for (int i = 0; i < 70000; ++i) ++counts[rng.below(7)];
    for (int count : counts) CHECK(count == doctest::Approx(10000).epsilon(0.05));
}

TEST_CASE("Rng::shuffle is a permutation and reproducible") {
    std::vector<int> first(100), second(100);
    for (int i = 0; i < 100; ++i) first[i] = second[i] = i;
    Rng a(5), b(5);
    a.shuffle(first);
    b.shuffle(second);
    CHECK(first == second);
    CHECK(std::set<int>(first.begin(), first.end()).size() == 100);
    bool moved = false;
    for (int i = 0; i < 100; ++i) moved |= first[i] != i;
    CHECK(moved);
}

TEST_CASE("Cpu::gemm handles every transpose combination, strides and beta") {
    // A: 2×3, B: 3×2 (row-major), C = A·B = [[4, 5], [10, 11]] for the values below.
    const std::vector<double> A{1, 2, 3, 4, 5, 6};   // [[1,2,3],[4,5,6]]
    const std::vector<double> B{1, 0, 0, 1, 1, 1};   // [[1,0],[0,1],[1,1]]
    const std::vector<double> At{1, 4, 2, 5, 3, 6};  // Aᵀ stored 3×2
    const std::vector<double> Bt{1, 0, 1, 0, 1, 1};  // Bᵀ stored 2×3
    const std::vector<double> expected{4, 5, 10, 11};
    for (int ta = 0; ta < 2; ++ta)
        for (int tb = 0; tb < 2; ++tb) {
            std::vector<double> C(4, 1e300);  // beta = 0 must not read C
            Cpu::gemm(ta ? Transpose::yes : Transpose::no, tb ? Transpose::yes : Transpose::no, 2, 2, 3, 1.0,
                      ta ? At.data() : A.data(), ta ? 2 : 3, tb ? Bt.data() : B.data(), tb ? 3 : 2, 0.0, C.data(), 2);
            CHECK(C == expected);
        }
    // beta = 2, alpha = 0.5, and an output with leading dimension 3.
    std::vector<double> C{1, 1, -7, 1, 1, -7};
    Cpu::gemm(Transpose::no, Transpose::no, 2, 2, 3, 0.5, A.data(), 3, B.data(), 2, 2.0, C.data(), 3);
    CHECK(C == std::vector<double>{4, 4.5, -7, 7, 7.5, -7});
}

// A training step after the first performs no heap allocation: every global operator new
// and malloc in this executable is counted, and the count must not move during steps 2..5.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "sentiment/classifier.hpp"
#include "strata/strata.hpp"

namespace {
std::atomic<long> allocations{0};
}

// The replacements below pair malloc/aligned_alloc with free, which is correct; g++ cannot
// see that through the replaced operators.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

void* operator new(std::size_t size) {
    ++allocations;
    if (void* p = std::malloc(size ? size : 1)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return ::operator new(size); }
void* operator new(std::size_t size, std::align_val_t alignment) {
    ++allocations;
    const auto align = static_cast<std::size_t>(alignment);
    if (void* p = std::aligned_alloc(align, (size + align - 1) / align * align)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t alignment) { return ::operator new(size, alignment); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

// Eigen's GEMM may take blocking workspace from malloc directly: count that too.
extern "C" void* __libc_malloc(std::size_t);
extern "C" void* malloc(std::size_t size) {
    ++allocations;
    return __libc_malloc(size);
}

using namespace strata;

TEST_CASE("A dense training step after the first allocates nothing") {
    using Net = Sequential<Cpu, float, Linear<64, 256>, ReLU, Linear<256, 256>, Tanh, Dropout, Linear<256, 3>>;
    Net net(64, {}, {}, {}, {}, Dropout{0.2}, {});
    Adam<Net> adam(net, {});
    SoftmaxCrossEntropy<float, Cpu, 3> loss(64);
    std::vector<float> x(64 * 64, 0.5f);
    std::vector<std::int32_t> labels(64, 1);
    Rng rng(1);
    auto step = [&] {
        const auto ctx = Context::dense(64, true, &rng);
        loss(net.forward(ctx, {x.data(), 64}), labels, net.output_gradient());
        net.zero_grad();
        net.backward(ctx);
        clip_gradient_norm(net, 1.0);
        adam.step();
    };
    step();
    const long before = allocations.load();
    for (int i = 0; i < 4; ++i) step();
    CHECK(allocations.load() - before == 0);
    // The counter does count: building a model allocates.
    const long at_build = allocations.load();
    { Net another(2); }
    CHECK(allocations.load() > at_build);
}

TEST_CASE("A training step of the sentiment classifier after the first allocates nothing") {
    constexpr std::size_t batch = 32, time = sentiment::max_length;
    auto model = sentiment::make_model(500, batch);
    model->reset_parameters(2);
    Adam<sentiment::Model> adam(*model, {});
    ParameterAverage<sentiment::Model> average(*model, 0.99);
    SoftmaxCrossEntropy<float, Cpu, 3> loss(batch, 0.1);
    Rng rng(3);
    std::vector<std::int32_t> ids(batch * time, 0), lengths(batch), labels(batch);
    for (std::size_t b = 0; b < batch; ++b) {
        lengths[b] = static_cast<std::int32_t>(1 + rng.below(time));
        labels[b] = static_cast<std::int32_t>(rng.below(3));
        for (std::int32_t t = 0; t < lengths[b]; ++t) ids[b * time + static_cast<std::size_t>(t)] = static_cast<std::int32_t>(rng.below(500));
    }
    auto step = [&](std::size_t size) {
        const auto ctx = Context::sequences({lengths.data(), size}, time, true, &rng);
        loss(model->forward(ctx, {ids.data(), size}), {labels.data(), size}, model->output_gradient());
        model->zero_grad();
        model->backward(ctx);
        clip_gradient_norm(*model, 1.0);
        adam.step();
        average.update();
    };
    step(batch);
    const long before = allocations.load();
    step(batch);
    step(batch / 2);  // a smaller last batch, as at the end of an epoch
    step(batch);
    CHECK(allocations.load() - before == 0);
}

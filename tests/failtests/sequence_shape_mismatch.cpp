// Stacking Embedding<16, 64> → Conv1D<128, 128, 3>: the convolution (index 1) expects a
// sequence of 128 features (SequenceOf<128>: Shape<T, 128> for any T) but receives
// Shape<16, 64>. The diagnostic must name the index, what Conv1D expects and the shape it got.
// expect: LAYER_INPUT_SHAPE_MISMATCH
// expect: LayerInputMismatch<1
// expect: SequenceOf<128[^0-9]
// expect: Shape<16, 64>
#include <strata/layers/conv1d.hpp>
#include <strata/layers/embedding.hpp>
#include <strata/layers/pooling.hpp>
#include <strata/strata.hpp>

#ifdef STRATA_FAILTEST_BROKEN
constexpr std::size_t embedding_size = 64;
#else
constexpr std::size_t embedding_size = 128;
#endif

using Net = strata::Sequential<strata::Cpu, float, strata::Embedding<16, embedding_size>,
                               strata::Conv1D<128, 128, 3>, strata::MeanPool>;

int main() {
    Net net(2, strata::Embedding<16, embedding_size>{.vocabulary_size = 100}, strata::Conv1D<128, 128, 3>{},
            strata::MeanPool{});
    return static_cast<int>(net.parameter_count() == 0);
}

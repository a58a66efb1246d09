// Stacking Linear<64, 32> → MultiHeadAttention<64, 4> on sequences of 16 positions: the
// attention layer (index 1) expects a sequence of 64 features but receives Shape<16, 32>.
// The diagnostic must name the index, the layer, what it expects and the shape it got.
// expect: LAYER_INPUT_SHAPE_MISMATCH
// expect: LayerInputMismatch<1
// expect: MultiHeadAttention<64(UL)?, 4
// expect: SequenceOf<64(UL)?>
// expect: Shape<16(UL)?, 32(UL)?>
#include <strata/strata.hpp>
#include <strata/layers/attention.hpp>

#ifdef STRATA_FAILTEST_BROKEN
constexpr std::size_t projected = 32;
#else
constexpr std::size_t projected = 64;
#endif

using Net = strata::Sequential<strata::Cpu, float, strata::Input<16, 64>, strata::Linear<64, projected>,
                               strata::MultiHeadAttention<64, 4>>;

int main() {
    Net net(2);
    return static_cast<int>(net.parameter_count() == 0);
}

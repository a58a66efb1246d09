// strata/backend/cpu/attention_ops.hpp — the CPU backend's operations for masked softmax and the attention-specific batched products.
#pragma once

#include <cstddef>
#include <cstdint>

#include "strata/backend/cpu/gemm.hpp"

namespace strata {

struct CpuAttentionOps {};

}  // namespace strata

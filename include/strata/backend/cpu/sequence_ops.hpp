// strata/backend/cpu/sequence_ops.hpp — the CPU backend's operations for embedding gathers and scatter-adds, conv1d, pooling, layer norm.
#pragma once

#include <cstddef>
#include <cstdint>

#include "strata/backend/cpu/gemm.hpp"

namespace strata {

struct CpuSequenceOps {};

}  // namespace strata

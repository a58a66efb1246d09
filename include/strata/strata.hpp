// strata/strata.hpp — one include for everything but CUDA.
#pragma once

#include "strata/core/activation.hpp"
#include "strata/core/context.hpp"
#include "strata/core/error.hpp"
#include "strata/core/init.hpp"
#include "strata/core/layer.hpp"
#include "strata/core/rng.hpp"
#include "strata/core/shape.hpp"
#include "strata/core/tensor.hpp"

#include "strata/backend/cpu.hpp"

#include "strata/layers/activation.hpp"
#include "strata/layers/attention.hpp"
#include "strata/layers/conv1d.hpp"
#include "strata/layers/dropout.hpp"
#include "strata/layers/embedding.hpp"
#include "strata/layers/gru.hpp"
#include "strata/layers/layer_norm.hpp"
#include "strata/layers/linear.hpp"
#include "strata/layers/pooling.hpp"

#include "strata/model/sequential.hpp"
#include "strata/model/standalone.hpp"

#include "strata/train/clipping.hpp"
#include "strata/train/loss.hpp"
#include "strata/train/optimizers.hpp"
#include "strata/train/averaging.hpp"
#include "strata/train/batches.hpp"
#include "strata/train/metrics.hpp"
#include "strata/train/progress.hpp"

// examples/sentiment/recipes.hpp — the training recipes.
//
// spec:  SEED_MODEL.md's default recipe exactly: Adam (lr 1e-3, β 0.9/0.999, ε 1e-8),
//        batch 32, 5 epochs, gradient-norm clipping at 1.0, dropout 0.3, a constant
//        learning rate, plain shuffling.
// tuned: the best recipe found for this architecture with the library's own features,
//        chosen on validation data only: scripts/sweep_recipe.sh over seeds 1-3 of the
//        seed protocol (the held-out 20% of test.csv's shuffle is the validation split;
//        no test score was read). What it adds to spec, each measured by its mean
//        validation accuracy over seeds 1-3 (spec: 0.58):
//          AdamW (weight decay 0.2), lr 2e-3 with 5% warm-up and a cosine decay over
//          5 epochs, label smoothing 0.1, length-bucketed shuffling  → 0.59
//          + word dropout 0.1 (a training token becomes <unk>)        → 0.61
//          + embeddings initialised at 0.05 × N(0, 1)                → 0.62-0.64
//          + an exponential moving average of the weights (0.995)     → 0.65
//        The kept checkpoint is still the epoch with the lowest validation loss.
#pragma once

#include <cmath>
#include <string>

#include "options.hpp"

namespace sentiment {


enum class Schedule { constant, warmup_cosine };

struct Recipe {
    std::string name;
    double learning_rate = 1e-3;
    std::size_t batch = 32;
    int epochs = 5;
    double clip_norm = 1.0;
    double weight_decay = 0.0;
    bool decoupled_weight_decay = false;
    double label_smoothing = 0.0;
    double dropout = 0.3;
    double attention_dropout = 0.0;
    std::size_t bucket_size = 0;  // sort by length within buckets of this many texts (0: off)
    Schedule schedule = Schedule::constant;
    double warmup_fraction = 0.0;
    int patience = 0;  // stop after this many epochs without a better validation loss (0: never)
    double word_dropout = 0.0;  // each training token becomes <unk> with this probability
    double average_decay = 0.0;  // evaluate and keep an exponential moving average of the weights (0: off)
    double embedding_scale = 1.0;  // the N(0, 1) embedding initialisation scaled by this

    // The learning rate for optimizer step `step` of `total` (0-based).
    double learning_rate_at(std::size_t step, std::size_t total) const {
        if (schedule == Schedule::constant || total == 0) return learning_rate;
        const double progress = static_cast<double>(step) / static_cast<double>(total);
        if (progress < warmup_fraction) return learning_rate * (progress + 1.0 / static_cast<double>(total)) / warmup_fraction;
        const double decay = (progress - warmup_fraction) / (1.0 - warmup_fraction);
        return learning_rate * 0.5 * (1.0 + std::cos(3.14159265358979323846 * decay));
    }
};

// --weight-decay, --label-smoothing, ... override single ingredients of a recipe.
inline void apply_overrides(Recipe& recipe, const Options& options) {
    recipe.epochs = static_cast<int>(options.integer("--epochs", recipe.epochs, 1, 1000));
    recipe.batch = static_cast<std::size_t>(options.integer("--batch", static_cast<long>(recipe.batch), 1, 4096));
    recipe.learning_rate = options.number("--lr", recipe.learning_rate, 1e-7, 10.0);
    recipe.weight_decay = options.number("--weight-decay", recipe.weight_decay, 0.0, 10.0);
    if (options.has("--weight-decay")) recipe.decoupled_weight_decay = true;
    recipe.label_smoothing = options.number("--label-smoothing", recipe.label_smoothing, 0.0, 0.99);
    recipe.dropout = options.number("--dropout", recipe.dropout, 0.0, 0.99);
    recipe.word_dropout = options.number("--word-dropout", recipe.word_dropout, 0.0, 0.99);
    recipe.patience = static_cast<int>(options.integer("--patience", recipe.patience, 0, 1000));
    recipe.bucket_size = static_cast<std::size_t>(options.integer("--bucket", static_cast<long>(recipe.bucket_size), 0, 1 << 30));
    if (options.has("--schedule"))
        recipe.schedule = options.choice("--schedule", {"constant", "cosine"}) == "cosine" ? Schedule::warmup_cosine
                                                                                          : Schedule::constant;
    recipe.warmup_fraction = options.number("--warmup", recipe.warmup_fraction, 0.0, 0.99);
    recipe.average_decay = options.number("--average", recipe.average_decay, 0.0, 0.99999);
    recipe.embedding_scale = options.number("--embedding-scale", recipe.embedding_scale, 1e-6, 100.0);
}

inline Recipe recipe_named(const std::string& name, const std::string& protocol) {
    Recipe recipe;
    recipe.name = name;
    if (name == "spec") return recipe;
    (void)protocol;
    recipe.learning_rate = 2e-3;
    recipe.epochs = 5;
    recipe.weight_decay = 0.2;
    recipe.decoupled_weight_decay = true;
    recipe.label_smoothing = 0.1;
    recipe.schedule = Schedule::warmup_cosine;
    recipe.warmup_fraction = 0.05;
    recipe.bucket_size = 32 * 20;
    recipe.word_dropout = 0.1;
    recipe.average_decay = 0.995;
    recipe.embedding_scale = 0.05;
    return recipe;
}

}  // namespace sentiment

// sentiment — train, evaluate and use the CNN → GRU → attention tweet classifier.
//
//   sentiment train   --data DIR [--protocol seed|full] [--recipe tuned|spec] [--seed N]
//                     [--epochs N] [--batch N] [--lr X] [--threads N] --out FILE
//   sentiment eval    --model FILE --data FILE.csv [--threads N] [--json]
//   sentiment predict --model FILE [--json] [TEXT ...]   (no TEXT: one text per stdin line)
//
// Errors go to stderr as one line "sentiment: ..." with exit status 2 for a command-line
// mistake and 1 for anything else (a missing file, a bad checkpoint, a diverging run).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "classifier.hpp"
#include "options.hpp"
#include "recipes.hpp"

namespace {

using namespace sentiment;
using strata::io::Json;
namespace fs = std::filesystem;

constexpr const char* main_help =
    "usage: sentiment <command> [options]\n"
    "\n"
    "commands:\n"
    "  train    train the classifier on tweets and write a checkpoint\n"
    "  eval     measure a checkpoint on a labelled CSV file\n"
    "  predict  label texts with a checkpoint\n"
    "  bench    time inference (latency at batch 1, throughput at batch 256)\n"
    "\n"
    "'sentiment <command> --help' describes each command.\n";

constexpr const char* train_help =
    "usage: sentiment train --data DIR --out FILE [options]\n"
    "\n"
    "Trains the CNN -> GRU -> attention classifier and writes the epoch with the lowest\n"
    "validation loss to FILE (a safetensors checkpoint PyTorch can load).\n"
    "\n"
    "  --data DIR            folder with train.csv and test.csv (columns text, sentiment)\n"
    "  --out FILE            the checkpoint to write (written atomically)\n"
    "  --protocol seed|full  seed: test.csv split 80/20 into train/validation (default);\n"
    "                        full: train.csv (10% held out for validation), reported on test.csv\n"
    "  --recipe tuned|spec   tuned: the best recipe found (default); spec: the reference\n"
    "                        recipe exactly (Adam 1e-3, batch 32, 5 epochs, clip 1.0)\n"
    "  --seed N              seed of the split, initialisation, shuffling and dropout (default 1)\n"
    "  --epochs N            override the recipe's epochs\n"
    "  --batch N             override the recipe's batch size\n"
    "  --lr X                override the recipe's learning rate\n"
    "  --threads N           CPU threads (default 2)\n"
    "  --quiet               no progress display\n"
    "\n"
    "recipe ingredients (each overrides the chosen recipe's):\n"
    "  --weight-decay X      decoupled (AdamW) weight decay\n"
    "  --label-smoothing X   label smoothing of the training loss\n"
    "  --dropout X           dropout before the output layer\n"
    "  --word-dropout X      probability that a training token is replaced by <unk>\n"
    "  --schedule constant|cosine, --warmup X   learning-rate schedule, warm-up fraction\n"
    "  --bucket N            sort by length within shuffled buckets of N texts (0: off)\n"
    "  --patience N          stop after N epochs without a better validation loss (0: never)\n"
    "  --average D           evaluate and keep an exponential moving average of the weights\n"
    "                        with decay D per step (0: off)\n"
    "  --embedding-scale X   scale the N(0, 1) initial embeddings by X"
    "\n"
    "\n"
    "Prints each epoch's figures, the confusion matrix of the kept epoch, and last one JSON\n"
    "line with val_acc, val_loss, val_macro_f1 (and test_acc, test_macro_f1 for full).\n";

constexpr const char* eval_help =
    "usage: sentiment eval --model FILE --data FILE.csv [--threads N] [--json]\n"
    "\n"
    "Measures a checkpoint on a CSV file with columns text and sentiment: loss, accuracy,\n"
    "macro-F1 and the confusion matrix (--json: one JSON object).\n";

constexpr const char* predict_help =
    "usage: sentiment predict --model FILE [--json] [--threads N] [TEXT ...]\n"
    "\n"
    "Labels each TEXT (or, with none, each line of standard input) as negative, neutral or\n"
    "positive. Prints 'label  p_negative p_neutral p_positive  text' per text, or with --json\n"
    "one object per line: {\"text\": ..., \"label\": ..., \"probabilities\": {...}}.\n";

constexpr const char* bench_help =
    "usage: sentiment bench latency    --model FILE --data FILE.csv [--threads N] [--calls N]\n"
    "       sentiment bench throughput --model FILE --data FILE.csv [--threads N] [--batch N] [--repeat N]\n"
    "\n"
    "latency: median time of one prediction at batch 1 for the first 20-token text of FILE.csv,\n"
    "after warm-up, without and with tokenizing (JSON: median_us, median_us_with_tokenize).\n"
    "throughput: texts per second predicting all of FILE.csv in file order at batch N (default\n"
    "256), tokenized beforehand; the median of --repeat passes after one warm-up pass.\n";

bool stderr_is_terminal() { return isatty(STDERR_FILENO) == 1; }

std::string fixed(double value, int digits = 4) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);
    return buffer;
}

std::string confusion_text(const strata::ConfusionMatrix<class_count>& confusion) {
    std::string text = "confusion (rows: truth, columns: predicted)\n              negative   neutral  positive\n";
    for (std::size_t t = 0; t < class_count; ++t) {
        char line[128];
        std::snprintf(line, sizeof line, "  %-9s %9zu %9zu %9zu\n", class_names[t].c_str(), confusion.counts[t][0],
                      confusion.counts[t][1], confusion.counts[t][2]);
        text += line;
    }
    return text;
}

Json confusion_json(const strata::ConfusionMatrix<class_count>& confusion) {
    Json rows = Json::array();
    for (const auto& row : confusion.counts) {
        Json values = Json::array();
        for (std::size_t value : row) values.push_back(value);
        rows.push_back(values);
    }
    return rows;
}

struct Evaluation {
    double loss = 0;
    strata::ConfusionMatrix<class_count> confusion;
};

// Mean cross-entropy (no smoothing), accuracy and the confusion matrix, in eval mode.
Evaluation evaluate(Model& model, const strata::text::EncodedTexts& encoded, const std::vector<std::int32_t>& labels) {
    Evaluation result;
    strata::SoftmaxCrossEntropy<float, strata::Cpu, class_count> loss(model.batch_capacity());
    const std::size_t capacity = model.batch_capacity();
    double total = 0;
    for (std::size_t start = 0; start < encoded.size(); start += capacity) {
        const std::size_t batch = std::min(capacity, encoded.size() - start);
        const auto ctx = strata::Context::sequences({encoded.lengths.data() + start, batch}, max_length);
        const auto logits = model.forward(ctx, {encoded.row(start), batch});
        total += loss(logits, {labels.data() + start, batch}, {}) * static_cast<double>(batch);
        for (std::size_t b = 0; b < batch; ++b)
            result.confusion.add(labels[start + b], strata::argmax(logits.sample(b), class_count));
    }
    result.loss = total / static_cast<double>(encoded.size());
    return result;
}

fs::path data_file(const fs::path& folder, const char* name) {
    if (!fs::is_directory(folder))
        throw strata::Error(
            "--data " + folder.string() + (fs::exists(folder) ? ": not a folder" : ": no such folder") +
            "; it must hold train.csv and test.csv of the public \"Tweet Sentiment Extraction\" "
            "data set (Figure Eight's Data for Everyone, on Kaggle)");
    const fs::path path = folder / name;
    if (!fs::exists(path))
        throw strata::Error(path.string() + ": no such file (--data must hold train.csv and test.csv of the "
                            "\"Tweet Sentiment Extraction\" data set)");
    return path;
}

// Splits a shuffled index set: the first `first_count` and the rest.
template <class T>
std::vector<T> pick(const std::vector<T>& values, const std::vector<std::size_t>& indices, std::size_t begin,
                    std::size_t end) {
    std::vector<T> result;
    result.reserve(end - begin);
    for (std::size_t i = begin; i < end; ++i) result.push_back(values[indices[i]]);
    return result;
}

void check_writable_destination(const fs::path& out) {
    const fs::path folder = out.has_parent_path() ? out.parent_path() : fs::path(".");
    if (!fs::is_directory(folder)) throw strata::Error("--out " + out.string() + ": the folder " + folder.string() + " does not exist");
    if (fs::is_directory(out)) throw strata::Error("--out " + out.string() + ": is a folder, expected a file name");
}

int run_train(const std::vector<std::string>& arguments) {
    const Options options(arguments,
                          {"--data", "--out", "--protocol", "--recipe", "--seed", "--epochs", "--batch", "--lr", "--threads",
                           "--weight-decay", "--label-smoothing", "--dropout", "--word-dropout", "--patience", "--bucket",
                           "--schedule", "--warmup", "--average", "--embedding-scale"},
                          {"--help", "--quiet"}, false);
    if (options.has("--help")) {
        std::fputs(train_help, stdout);
        return 0;
    }
    const fs::path folder = options.required("--data");
    const fs::path out = options.required("--out");
    const std::string protocol = options.choice("--protocol", {"seed", "full"});
    Recipe recipe = recipe_named(options.choice("--recipe", {"tuned", "spec"}), protocol);
    const auto seed = static_cast<std::uint64_t>(options.integer("--seed", 1, 0, 1L << 53));
    apply_overrides(recipe, options);
    const int threads = static_cast<int>(options.integer("--threads", 2, 1, 256));
    const bool show_progress = !options.has("--quiet") && stderr_is_terminal();
    check_writable_destination(out);
    strata::Cpu::set_num_threads(threads);

    // ---- data -------------------------------------------------------------------------
    const auto started = std::chrono::steady_clock::now();
    strata::text::LabelledTexts train_set, validation_set, test_set;
    strata::Rng split_rng(seed);
    {
        const auto source = strata::text::read_labelled_csv(data_file(folder, protocol == "seed" ? "test.csv" : "train.csv"), class_names);
        std::vector<std::size_t> order(source.size());
        std::iota(order.begin(), order.end(), std::size_t{0});
        split_rng.shuffle(order);
        const std::size_t train_count = protocol == "seed" ? source.size() * 8 / 10 : source.size() - source.size() / 10;
        train_set = {pick(source.texts, order, 0, train_count), pick(source.labels, order, 0, train_count)};
        validation_set = {pick(source.texts, order, train_count, source.size()),
                          pick(source.labels, order, train_count, source.size())};
        if (protocol == "full") test_set = strata::text::read_labelled_csv(data_file(folder, "test.csv"), class_names);
        else data_file(folder, "train.csv");  // both files must be there, as --help says
    }
    std::vector<std::vector<std::string>> tokenized;
    tokenized.reserve(train_set.size());
    for (const auto& text : train_set.texts) tokenized.push_back(strata::text::tokenize(text));
    const auto vocabulary = strata::text::Vocabulary::build(tokenized);
    strata::text::EncodedTexts train_encoded;
    train_encoded.max_length = max_length;
    train_encoded.ids.assign(tokenized.size() * max_length, 0);
    for (std::size_t i = 0; i < tokenized.size(); ++i) {
        const auto ids = vocabulary.encode(tokenized[i], max_length);
        std::copy(ids.begin(), ids.end(), train_encoded.ids.begin() + static_cast<std::ptrdiff_t>(i * max_length));
        train_encoded.lengths.push_back(static_cast<std::int32_t>(ids.size()));
    }
    const auto validation_encoded = strata::text::encode_texts(vocabulary, validation_set.texts, max_length);
    const auto test_encoded = strata::text::encode_texts(vocabulary, test_set.texts, max_length);
    std::printf("data: %zu train, %zu validation%s texts; vocabulary %zu tokens; recipe %s; seed %llu; threads %d\n",
                train_set.size(), validation_set.size(),
                protocol == "full" ? (", " + std::to_string(test_set.size()) + " test").c_str() : "", vocabulary.size(),
                recipe.name.c_str(), static_cast<unsigned long long>(seed), threads);
    std::fflush(stdout);

    // ---- model and training ---------------------------------------------------------------
    Hyperparameters hyper{.dropout = recipe.dropout, .attention_dropout = recipe.attention_dropout};
    auto model = make_model(vocabulary.size(), recipe.batch, hyper);
    model->reset_parameters(seed);
    if (recipe.embedding_scale != 1.0)
        model->for_each_parameter([&](const strata::ParameterRef<float>& parameter) {
            if (parameter.name == "embedding.weight")
                strata::Cpu::scale(parameter.size(), static_cast<float>(recipe.embedding_scale), parameter.value);
        });
    strata::Adam<Model> optimizer(*model, {.learning_rate = recipe.learning_rate,
                                           .weight_decay = recipe.weight_decay,
                                           .decoupled_weight_decay = recipe.decoupled_weight_decay});
    strata::SoftmaxCrossEntropy<float, strata::Cpu, class_count> loss(recipe.batch, recipe.label_smoothing);
    strata::SequenceBatches batches(train_encoded, train_set.labels, recipe.batch);
    strata::Rng shuffle_rng(seed * 0x9e3779b97f4a7c15ULL + 1), dropout_rng(seed * 0x9e3779b97f4a7c15ULL + 2),
        word_rng(seed * 0x9e3779b97f4a7c15ULL + 3);
    std::vector<std::int32_t> noisy_ids(recipe.batch * max_length);
    const std::size_t total_steps = batches.batch_count() * static_cast<std::size_t>(recipe.epochs);
    std::optional<strata::ParameterAverage<Model>> average;
    if (recipe.average_decay > 0) average.emplace(*model, recipe.average_decay);

    Json training = Json::object();
    training.set("recipe", recipe.name);
    training.set("protocol", protocol);
    training.set("seed", static_cast<std::int64_t>(seed));

    double best_loss = std::numeric_limits<double>::infinity();
    int best_epoch = 0, epochs_without_improvement = 0;
    std::vector<float> best_parameters;
    Evaluation best_validation;
    double seconds_training = 0;
    std::size_t step = 0;
    for (int epoch = 1; epoch <= recipe.epochs; ++epoch) {
        const auto epoch_start = std::chrono::steady_clock::now();
        batches.shuffle(shuffle_rng, recipe.bucket_size);
        strata::Progress progress("epoch " + std::to_string(epoch) + "/" + std::to_string(recipe.epochs),
                                  batches.size(), "tweets");
        double epoch_loss = 0;
        for (std::size_t index = 0; index < batches.batch_count(); ++index) {
            const std::size_t batch = batches.gather(index);
            const auto ctx = strata::Context::sequences(batches.lengths(), max_length, true, &dropout_rng);
            const std::int32_t* ids = batches.ids();
            if (recipe.word_dropout > 0) {
                std::copy_n(ids, batch * max_length, noisy_ids.data());
                for (std::size_t b = 0; b < batch; ++b)
                    for (std::int32_t t = 0; t < batches.lengths()[b]; ++t)
                        if (word_rng.uniform() < recipe.word_dropout)
                            noisy_ids[b * max_length + static_cast<std::size_t>(t)] = strata::text::Vocabulary::kUnkId;
                ids = noisy_ids.data();
            }
            const auto logits = model->forward(ctx, {ids, batch});
            const double value = loss(logits, batches.labels(), model->output_gradient());
            if (!std::isfinite(value))
                throw strata::Error("training diverged: the loss is " + std::to_string(value) + " at epoch " +
                                    std::to_string(epoch) + ", step " + std::to_string(index + 1) +
                                    (best_epoch ? "; " + out.string() + " keeps epoch " + std::to_string(best_epoch)
                                                : "; no checkpoint was written"));
            epoch_loss += value * static_cast<double>(batch);
            model->zero_grad();
            model->backward(ctx);
            strata::clip_gradient_norm(*model, recipe.clip_norm);
            optimizer.set_learning_rate(recipe.learning_rate_at(step, total_steps));
            optimizer.step();
            if (average) average->update();
            ++step;
            progress.advance(batch);
            if (show_progress && progress.should_draw())
                std::fprintf(stderr, "\r%s\033[K", progress.line("loss " + fixed(epoch_loss / static_cast<double>(progress.done()))).c_str());
        }
        if (show_progress) std::fprintf(stderr, "\r\033[K");
        const double train_seconds = progress.seconds();
        seconds_training += train_seconds;
        if (average) average->swap();  // evaluate (and keep) the averaged weights
        const Evaluation validation = evaluate(*model, validation_encoded, validation_set.labels);
        const double epoch_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
        const bool improved = validation.loss < best_loss;
        std::printf("epoch %d/%d  train loss %.4f  val loss %.4f  val acc %.4f  val macro-F1 %.4f  %.2f s  %.0f tweets/s%s\n",
                    epoch, recipe.epochs, epoch_loss / static_cast<double>(batches.size()), validation.loss,
                    validation.confusion.accuracy(), validation.confusion.macro_f1(), epoch_seconds,
                    static_cast<double>(batches.size()) / train_seconds, improved ? "  (kept)" : "");
        std::fflush(stdout);
        if (improved) {
            best_loss = validation.loss;
            best_epoch = epoch;
            best_validation = validation;
            best_parameters.assign(model->parameters(), model->parameters() + model->parameter_count());
            training.set("epoch", epoch);
            save(out, *model, vocabulary, hyper, training);
            epochs_without_improvement = 0;
        } else if (recipe.patience > 0 && ++epochs_without_improvement >= recipe.patience) {
            std::printf("stopping early: no better validation loss for %d epochs\n", recipe.patience);
            break;
        }
        if (average) average->swap();  // back to the trained weights
    }
    std::copy(best_parameters.begin(), best_parameters.end(), model->parameters());

    std::printf("kept epoch %d\n%s", best_epoch, confusion_text(best_validation.confusion).c_str());
    Json summary = Json::object();
    summary.set("protocol", protocol);
    summary.set("recipe", recipe.name);
    summary.set("seed", static_cast<std::int64_t>(seed));
    summary.set("kept_epoch", best_epoch);
    summary.set("val_acc", best_validation.confusion.accuracy());
    summary.set("val_loss", best_validation.loss);
    summary.set("val_macro_f1", best_validation.confusion.macro_f1());
    if (protocol == "full") {
        const Evaluation test = evaluate(*model, test_encoded, test_set.labels);
        std::printf("test: loss %.4f  acc %.4f  macro-F1 %.4f\n%s", test.loss, test.confusion.accuracy(),
                    test.confusion.macro_f1(), confusion_text(test.confusion).c_str());
        summary.set("test_acc", test.confusion.accuracy());
        summary.set("test_loss", test.loss);
        summary.set("test_macro_f1", test.confusion.macro_f1());
    }
    summary.set("train_seconds", seconds_training);
    summary.set("wall_seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    summary.set("checkpoint", out.string());
    std::printf("%s\n", summary.dump().c_str());
    return 0;
}

int run_eval(const std::vector<std::string>& arguments) {
    const Options options(arguments, {"--model", "--data", "--threads"}, {"--help", "--json"}, false);
    if (options.has("--help")) {
        std::fputs(eval_help, stdout);
        return 0;
    }
    const fs::path model_path = options.required("--model");
    const fs::path data_path = options.required("--data");
    strata::Cpu::set_num_threads(static_cast<int>(options.integer("--threads", 2, 1, 256)));
    auto classifier = load(model_path, 256);
    const auto data = strata::text::read_labelled_csv(data_path, class_names);
    const auto encoded = strata::text::encode_texts(classifier.vocabulary, data.texts, max_length);
    const Evaluation result = evaluate(*classifier.model, encoded, data.labels);
    if (options.has("--json")) {
        Json json = Json::object();
        json.set("texts", data.size());
        json.set("loss", result.loss);
        json.set("accuracy", result.confusion.accuracy());
        json.set("macro_f1", result.confusion.macro_f1());
        json.set("confusion", confusion_json(result.confusion));
        std::printf("%s\n", json.dump().c_str());
    } else {
        std::printf("%zu texts  loss %.4f  accuracy %.4f  macro-F1 %.4f\n%s", data.size(), result.loss,
                    result.confusion.accuracy(), result.confusion.macro_f1(), confusion_text(result.confusion).c_str());
    }
    return 0;
}

int run_predict(const std::vector<std::string>& arguments) {
    const Options options(arguments, {"--model", "--threads"}, {"--help", "--json"}, true);
    if (options.has("--help")) {
        std::fputs(predict_help, stdout);
        return 0;
    }
    const fs::path model_path = options.required("--model");
    strata::Cpu::set_num_threads(static_cast<int>(options.integer("--threads", 1, 1, 256)));
    const bool json = options.has("--json");
    auto classifier = load(model_path, 64);

    auto emit = [&](const std::vector<std::string>& texts) {
        const auto encoded = strata::text::encode_texts(classifier.vocabulary, texts, max_length);
        const auto probabilities = predict_probabilities(*classifier.model, encoded);
        for (std::size_t i = 0; i < texts.size(); ++i) {
            const float* p = probabilities.data() + i * class_count;
            const std::string& label = class_names[static_cast<std::size_t>(strata::argmax(p, class_count))];
            if (json) {
                // Probabilities with 9 significant digits: float32 values round-trip.
                char line[160];
                std::snprintf(line, sizeof line,
                              ", \"label\": \"%s\", \"probabilities\": {\"negative\": %.9g, \"neutral\": %.9g, \"positive\": %.9g}}\n",
                              label.c_str(), static_cast<double>(p[0]), static_cast<double>(p[1]), static_cast<double>(p[2]));
                std::fputs(("{\"text\": " + strata::io::json_escape(texts[i]) + line).c_str(), stdout);
            } else {
                std::printf("%-8s  %.4f %.4f %.4f  %s\n", label.c_str(), static_cast<double>(p[0]),
                            static_cast<double>(p[1]), static_cast<double>(p[2]),
                            strata::text::sanitize_utf8(texts[i]).c_str());
            }
        }
        std::fflush(stdout);
    };

    if (!options.positional().empty()) {
        emit(options.positional());
        return 0;
    }
    std::vector<std::string> pending;
    std::string line;
    while (std::getline(std::cin, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        pending.push_back(std::move(line));
        line.clear();
        if (pending.size() == 64) {
            emit(pending);
            pending.clear();
        }
    }
    if (!pending.empty()) emit(pending);
    return 0;
}

// sentiment bench latency|throughput: the inference figures the comparison harness reads.
int run_bench(const std::vector<std::string>& arguments) {
    const std::string mode = arguments.empty() ? "" : arguments[0];
    if (mode == "--help" || (mode != "latency" && mode != "throughput")) {
        std::fputs(bench_help, mode == "--help" ? stdout : stderr);
        if (mode == "--help") return 0;
        throw UsageError("bench: expected 'latency' or 'throughput'");
    }
    const Options options({arguments.begin() + 1, arguments.end()}, {"--model", "--data", "--threads", "--calls", "--batch", "--repeat"},
                          {"--help"}, false);
    if (options.has("--help")) {
        std::fputs(bench_help, stdout);
        return 0;
    }
    const int threads = static_cast<int>(options.integer("--threads", 1, 1, 256));
    strata::Cpu::set_num_threads(threads);
    const fs::path data_path = options.required("--data");
    using Clock = std::chrono::steady_clock;
    auto median = [](std::vector<double> values) {
        std::sort(values.begin(), values.end());
        return values[values.size() / 2];
    };
    if (mode == "latency") {
        auto classifier = load(options.required("--model"), 1);
        const auto data = strata::text::read_labelled_csv(data_path, class_names);
        std::string text;
        for (const auto& candidate : data.texts)
            if (strata::text::tokenize(candidate).size() == 20) {
                text = candidate;
                break;
            }
        strata::require(!text.empty(), data_path.string(), ": no text of exactly 20 tokens");
        const auto calls = static_cast<std::size_t>(options.integer("--calls", 2000, 10, 10000000));
        const auto encoded = strata::text::encode_texts(classifier.vocabulary, {text}, max_length);
        std::vector<double> times, with_tokenize;
        volatile float sink = 0;
        for (std::size_t i = 0; i < calls / 10; ++i) sink = sink + predict_probabilities(*classifier.model, encoded)[0];
        for (std::size_t i = 0; i < calls; ++i) {
            const auto start = Clock::now();
            sink = sink + predict_probabilities(*classifier.model, encoded)[0];
            times.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
        }
        for (std::size_t i = 0; i < calls / 4; ++i) {
            const auto start = Clock::now();
            const auto fresh = strata::text::encode_texts(classifier.vocabulary, {text}, max_length);
            sink = sink + predict_probabilities(*classifier.model, fresh)[0];
            with_tokenize.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
        }
        Json json = Json::object();
        json.set("median_us", median(times));
        json.set("median_us_with_tokenize", median(with_tokenize));
        json.set("calls", calls);
        json.set("tokens", encoded.lengths[0]);
        json.set("threads", threads);
        std::printf("%s\n", json.dump().c_str());
        return 0;
    }
    const auto batch = static_cast<std::size_t>(options.integer("--batch", 256, 1, 65536));
    const auto repeat = static_cast<int>(options.integer("--repeat", 3, 1, 1000));
    auto classifier = load(options.required("--model"), batch);
    const auto data = strata::text::read_labelled_csv(data_path, class_names);
    const auto encoded = strata::text::encode_texts(classifier.vocabulary, data.texts, max_length);
    std::vector<double> rates;
    for (int r = 0; r < repeat + 1; ++r) {
        const auto start = Clock::now();
        const auto probabilities = predict_probabilities(*classifier.model, encoded);
        const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        if (r > 0) rates.push_back(static_cast<double>(encoded.size()) / seconds);  // the first pass warms up
        strata::require(std::isfinite(probabilities[0]), "non-finite probabilities");
    }
    Json json = Json::object();
    json.set("tweets_per_second", median(rates));
    json.set("texts", encoded.size());
    json.set("batch", batch);
    json.set("threads", threads);
    std::printf("%s\n", json.dump().c_str());
    return 0;
}

int run(int argc, char** argv) {
    const std::vector<std::string> all(argv + 1, argv + argc);
    if (all.empty()) throw UsageError("missing command: train, eval or predict");
    if (all[0] == "--help" || all[0] == "-h" || all[0] == "help") {
        std::fputs(main_help, stdout);
        return 0;
    }
    const std::vector<std::string> arguments(all.begin() + 1, all.end());
    if (all[0] == "train") return run_train(arguments);
    if (all[0] == "eval") return run_eval(arguments);
    if (all[0] == "predict") return run_predict(arguments);
    if (all[0] == "bench") return run_bench(arguments);
    throw UsageError("unknown command '" + all[0] + "'");
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const UsageError& error) {
        std::fprintf(stderr, "sentiment: %s (see 'sentiment --help')\n", error.what());
        return 2;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "sentiment: %s\n", error.what());
        return 1;
    }
}

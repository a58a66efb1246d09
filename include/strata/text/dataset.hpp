// strata/text/dataset.hpp — labelled texts from a CSV file, and their token ids.
//
// read_labelled_csv(path, classes) reads a CSV with a header, takes the text and label
// columns by name, and maps each label to its index in `classes`. Errors (strata::Error,
// "file:line: what"): the CSV reader's own (missing file, unclosed quote, invalid UTF-8,
// ...), a missing column, an unknown label, and a file with a header but no rows.
//
// encode_texts(vocabulary, texts, max_length) turns texts into a padded id matrix
// [count × max_length] (padding id 0 beyond each text's length) and the valid lengths
// (≥ 1: a text with no tokens becomes <unk>), the form Embedding and Context take.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "strata/core/error.hpp"
#include "strata/text/csv.hpp"
#include "strata/text/vocabulary.hpp"

namespace strata::text {

struct LabelledTexts {
    std::vector<std::string> texts;
    std::vector<std::int32_t> labels;
    std::size_t size() const { return texts.size(); }
};

struct LabelledCsvOptions {
    std::string text_column = "text";
    std::string label_column = "sentiment";
    CsvOptions csv{};
};

inline LabelledTexts read_labelled_csv(const std::filesystem::path& path, const std::vector<std::string>& classes,
                                       const LabelledCsvOptions& options = {}) {
    const CsvTable table = read_csv(path, options.csv);
    const std::size_t text_column = table.column(options.text_column);
    const std::size_t label_column = table.column(options.label_column);
    require(!table.rows.empty(), table.source_name, ": has a header but no rows");
    LabelledTexts result;
    result.texts.reserve(table.rows.size());
    result.labels.reserve(table.rows.size());
    for (const CsvRow& row : table.rows) {
        const std::string& label = row.fields[label_column];
        std::int32_t index = -1;
        for (std::size_t c = 0; c < classes.size(); ++c)
            if (classes[c] == label) index = static_cast<std::int32_t>(c);
        if (index < 0) {
            std::string known;
            for (const auto& name : classes) known += (known.empty() ? "" : ", ") + name;
            throw Error(table.location(row) + ": unknown label '" + label + "' (expected one of: " + known + ")");
        }
        result.texts.push_back(row.fields[text_column]);
        result.labels.push_back(index);
    }
    return result;
}

struct EncodedTexts {
    std::size_t max_length = 0;
    std::vector<std::int32_t> ids;      // count × max_length, row-major, 0 beyond each length
    std::vector<std::int32_t> lengths;  // count, each in [1, max_length]
    std::size_t size() const { return lengths.size(); }
    const std::int32_t* row(std::size_t index) const { return ids.data() + index * max_length; }
};

inline EncodedTexts encode_texts(const Vocabulary& vocabulary, const std::vector<std::string>& texts,
                                 std::size_t max_length) {
    EncodedTexts encoded;
    encoded.max_length = max_length;
    encoded.ids.assign(texts.size() * max_length, 0);
    encoded.lengths.resize(texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
        const std::vector<std::int32_t> ids = vocabulary.encode(texts[i], max_length);
        std::copy(ids.begin(), ids.end(), encoded.ids.begin() + static_cast<std::ptrdiff_t>(i * max_length));
        encoded.lengths[i] = static_cast<std::int32_t>(ids.size());
    }
    return encoded;
}

}  // namespace strata::text

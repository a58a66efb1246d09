// strata/text/csv.hpp — a strict reader for comma-separated files with a header row.
//
// Accepts (RFC 4180, plus what real files carry):
//   - a UTF-8 byte-order mark at the very start (skipped); the content must be valid UTF-8;
//   - records ending in LF or CRLF; the last record may lack its line end; empty lines at
//     the very end are ignored (an empty line anywhere else is a record of one empty field);
//   - fields quoted with '"', holding delimiters, line ends and doubled quotes "" (one '"').
//     Quoted content is kept byte for byte, CRLF included; unquoted content is kept as it
//     is, white space and a CR not followed by LF included.
// Rejects, throwing strata::Error with "source:line: what is wrong" (1-based physical line
// numbers; the header is line 1):
//   - a '"' inside an unquoted field, or anything but a delimiter or line end after a
//     closing quote (strict: such a file is usually broken, and guessing hides it);
//   - a quoted field never closed (names the line where it opened);
//   - a record whose field count differs from the header's;
//   - invalid UTF-8 (names the line of the first bad byte);
//   - a record longer than CsvOptions::max_record_bytes (names the line where it started);
//   - an empty file (no header); a missing or unreadable file (names the path).
// A header with no rows after it is not an error: the table's rows are then empty.
//
// Every row keeps the line it started on, so callers can report "train.csv:123: ...";
// CsvTable::location(row) formats that prefix.
#pragma once

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "strata/core/error.hpp"
#include "strata/text/utf8.hpp"

namespace strata::text {

struct CsvOptions {
    // Any byte but '"', '\n' and '\r'.
    char delimiter = ',';
    // The longest record accepted, line ends excluded (1 MiB by default).
    std::size_t max_record_bytes = std::size_t{1} << 20;
};

struct CsvRow {
    std::size_t line = 0;  // 1-based line where the record starts
    std::vector<std::string> fields;
};

struct CsvTable {
    std::string source_name;          // the name errors use: the path as given, for files
    std::vector<std::string> header;  // column names, in file order
    std::vector<CsvRow> rows;         // every record after the header, in file order

    // The index of the first column named `name`; throws strata::Error naming the source,
    // the missing column and the columns present.
    std::size_t column(std::string_view name) const {
        for (std::size_t index = 0; index < header.size(); ++index) {
            if (header[index] == name) return index;
        }
        std::string present;
        for (const auto& column_name : header) {
            present += (present.empty() ? "\"" : ", \"") + column_name + "\"";
        }
        throw Error(source_name + ": no column named \"" + std::string(name) +
                    "\"; the columns are " + present);
    }

    // "source:line", the prefix for a message about one row.
    std::string location(const CsvRow& row) const {
        return source_name + ":" + std::to_string(row.line);
    }
};

namespace detail {

class CsvParser {
public:
    CsvParser(std::string_view content, std::string_view source_name, const CsvOptions& options)
        : content_(content), source_name_(source_name), options_(options) {}

    CsvTable parse() {
        const char delimiter = options_.delimiter;
        require(delimiter != '"' && delimiter != '\n' && delimiter != '\r',
                source_name_ + ": CsvOptions::delimiter cannot be a quote or a line-end byte");
        constexpr std::string_view byte_order_mark = "\xEF\xBB\xBF";
        if (content_.starts_with(byte_order_mark)) {
            content_.remove_prefix(byte_order_mark.size());
            skipped_prefix_bytes_ = byte_order_mark.size();
        }
        check_utf8();

        // Empty lines at the very end are not records.
        while (content_.ends_with('\n')) {
            const std::size_t ending = content_.ends_with("\r\n") ? 2 : 1;
            const std::size_t before = content_.size() - ending;
            if (before != 0 && content_[before - 1] != '\n') break;  // ends the last record
            content_.remove_suffix(ending);
        }
        require(!content_.empty(), source_name_ + ": the file is empty; expected a header row");

        CsvTable table;
        table.source_name = source_name_;
        CsvRow header = read_record();
        table.header = std::move(header.fields);
        while (!at_end()) {
            const bool empty_line = line_end_size() != 0;
            CsvRow row = read_record();
            if (row.fields.size() != table.header.size()) {
                fail(row.line, (empty_line ? std::string("the line is empty")
                                           : "the record has " + count_fields(row.fields.size())) +
                                   "; the header has " + count_fields(table.header.size()));
            }
            table.rows.push_back(std::move(row));
        }
        return table;
    }

private:
    [[noreturn]] void fail(std::size_t line, const std::string& message) const {
        throw Error(source_name_ + ":" + std::to_string(line) + ": " + message);
    }

    void check_utf8() const {
        const std::size_t invalid = first_invalid_utf8(content_);
        if (invalid == std::string_view::npos) return;
        const std::size_t line = 1 + static_cast<std::size_t>(std::count(
                                         content_.begin(), content_.begin() + invalid, '\n'));
        fail(line,
             "invalid UTF-8 at byte offset " + std::to_string(skipped_prefix_bytes_ + invalid));
    }

    static std::string count_fields(std::size_t count) {
        return std::to_string(count) + (count == 1 ? " field" : " fields");
    }

    bool at_end() const noexcept { return position_ >= content_.size(); }
    char peek() const noexcept { return content_[position_]; }

    // The size of the line end (LF or CRLF) starting at the current position, or 0.
    std::size_t line_end_size() const noexcept {
        if (at_end()) return 0;
        if (peek() == '\n') return 1;
        const bool crlf =
            peek() == '\r' && position_ + 1 < content_.size() && content_[position_ + 1] == '\n';
        return crlf ? 2 : 0;
    }

    bool at_field_end() const noexcept {
        return at_end() || peek() == options_.delimiter || line_end_size() != 0;
    }

    // True, consuming it, when a line end starts at the current position.
    bool consume_line_end() noexcept {
        const std::size_t size = line_end_size();
        if (size == 0) return false;
        position_ += size;
        ++line_;
        return true;
    }

    void check_record_size(std::size_t record_start, std::size_t start_line, bool in_quotes) const {
        if (position_ - record_start <= options_.max_record_bytes) return;
        fail(start_line, "the record is longer than " + std::to_string(options_.max_record_bytes) +
                             " bytes (CsvOptions::max_record_bytes)" +
                             (in_quotes ? "; is a quoted field left unclosed?" : ""));
    }

    // Reads one record and its line end; requires !at_end().
    CsvRow read_record() {
        CsvRow row;
        row.line = line_;
        const std::size_t record_start = position_;
        std::string field;
        while (true) {
            field.clear();
            if (!at_end() && peek() == '"') {
                read_quoted_field(field, record_start, row.line);
            } else {
                while (!at_field_end()) {
                    if (peek() == '"') {
                        fail(line_,
                             "a '\"' inside an unquoted field (quote the whole field and "
                             "double the quote)");
                    }
                    field.push_back(peek());
                    ++position_;
                    check_record_size(record_start, row.line, false);
                }
            }
            row.fields.push_back(std::move(field));
            if (at_end() || consume_line_end()) return row;
            ++position_;  // the delimiter
        }
    }

    void read_quoted_field(std::string& field, std::size_t record_start, std::size_t record_line) {
        const std::size_t opening_line = line_;
        ++position_;  // the opening quote
        while (true) {
            if (at_end()) fail(opening_line, "a quoted field opened on this line is never closed");
            const char byte = peek();
            ++position_;
            check_record_size(record_start, record_line, true);
            if (byte == '"') {
                if (!at_end() && peek() == '"') {
                    field.push_back('"');
                    ++position_;
                    continue;
                }
                break;
            }
            if (byte == '\n') ++line_;
            field.push_back(byte);
        }
        if (!at_field_end()) {
            fail(line_,
                 "unexpected character after a closing quote (a '\"' inside a quoted "
                 "field must be doubled)");
        }
    }

    std::string_view content_;
    std::string source_name_;
    CsvOptions options_;
    std::size_t skipped_prefix_bytes_ = 0;  // the byte-order mark, if any
    std::size_t position_ = 0;
    std::size_t line_ = 1;
};

}  // namespace detail

inline CsvTable parse_csv(std::string_view content, std::string_view source_name,
                          const CsvOptions& options = {}) {
    return detail::CsvParser(content, source_name, options).parse();
}

inline CsvTable read_csv(const std::filesystem::path& path, const CsvOptions& options = {}) {
    const std::string name = path.string();
    std::error_code error;
    const auto status = std::filesystem::status(path, error);
    if (!std::filesystem::exists(status)) {
        const bool missing = !error || error == std::errc::no_such_file_or_directory;
        throw Error(name + (missing ? ": no such file"
                                    : ": cannot access the file (" + error.message() + ")"));
    }
    require(!std::filesystem::is_directory(status), name + ": is a directory, not a CSV file");

    std::ifstream file(path, std::ios::binary);
    require(file.is_open(), name + ": cannot open the file for reading");
    const std::string content{std::istreambuf_iterator<char>(file),
                              std::istreambuf_iterator<char>()};
    require(!file.bad(), name + ": reading the file failed");
    return parse_csv(content, name, options);
}

}  // namespace strata::text

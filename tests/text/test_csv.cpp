// Tests for strata/text/csv.hpp: the accepted forms, every rejected form with the line it
// names, and the two real data files.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "strata/text/csv.hpp"

namespace {

using strata::text::CsvOptions;
using strata::text::parse_csv;
using strata::text::read_csv;
using Fields = std::vector<std::string>;

const std::string byte_order_mark = "\xEF\xBB\xBF";

// The message parse_csv throws for content, or "" when it throws nothing.
std::string parse_error(std::string_view content, const CsvOptions& options = {}) {
    try {
        (void)parse_csv(content, "in.csv", options);
    } catch (const strata::Error& error) {
        return error.what();
    }
    return "";
}

// A file under the temporary directory, with a name no other test run shares; removed
// when it goes out of scope.
class TemporaryFile {
public:
    explicit TemporaryFile(std::string_view content) {
        static std::atomic<int> counter{0};
        const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
        path_ =
            std::filesystem::temp_directory_path() /
            ("strata_test_csv_" + std::to_string(stamp) + "_" + std::to_string(counter++) + ".csv");
        std::ofstream file(path_, std::ios::binary);
        file.write(content.data(), static_cast<std::streamsize>(content.size()));
    }
    TemporaryFile(const TemporaryFile&) = delete;
    TemporaryFile& operator=(const TemporaryFile&) = delete;
    ~TemporaryFile() {
        std::error_code ignored;
        std::filesystem::remove(path_, ignored);
    }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

}  // namespace

TEST_CASE("a plain table: header, rows, line numbers, columns by name") {
    const auto table = parse_csv("id,text,label\n1,hello,positive\n2,bye,negative\n", "in.csv");
    CHECK(table.source_name == "in.csv");
    CHECK(table.header == Fields{"id", "text", "label"});
    REQUIRE(table.rows.size() == 2);
    CHECK(table.rows[0].fields == Fields{"1", "hello", "positive"});
    CHECK(table.rows[1].fields == Fields{"2", "bye", "negative"});
    CHECK(table.rows[0].line == 2);
    CHECK(table.rows[1].line == 3);
    CHECK(table.column("id") == 0);
    CHECK(table.column("label") == 2);
    CHECK(table.location(table.rows[1]) == "in.csv:3");
}

TEST_CASE("a missing column names the source, the column and the columns present") {
    const auto table = parse_csv("textID,text,sentiment\n", "train.csv");
    CHECK_THROWS_WITH_AS((void)table.column("label"),
                         "train.csv: no column named \"label\"; the columns are \"textID\", "
                         "\"text\", \"sentiment\"",
                         strata::Error);
}

TEST_CASE("quoted fields hold delimiters, line ends and doubled quotes") {
    const auto table = parse_csv(
        "a,b,c\n"
        "\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\n"
        "\"\",plain,\"\"\"\"\n"
        "after,the,\"crlf\r\ninside\"\n"
        "last,row,here\n",
        "in.csv");
    REQUIRE(table.rows.size() == 4);
    CHECK(table.rows[0].fields == Fields{"x, y", "say \"hi\"", "two\nlines"});
    CHECK(table.rows[1].fields == Fields{"", "plain", "\""});
    CHECK(table.rows[2].fields == Fields{"after", "the", "crlf\r\ninside"});
    CHECK(table.rows[3].fields == Fields{"last", "row", "here"});
    // Line numbers follow the line ends inside quoted fields.
    CHECK(table.rows[0].line == 2);
    CHECK(table.rows[1].line == 4);
    CHECK(table.rows[2].line == 5);
    CHECK(table.rows[3].line == 7);
}

TEST_CASE("quoted header fields, empty fields and leading spaces") {
    const auto table = parse_csv("\"a\",\"b,c\",d\n,, x \n", "in.csv");
    CHECK(table.header == Fields{"a", "b,c", "d"});
    REQUIRE(table.rows.size() == 1);
    CHECK(table.rows[0].fields == Fields{"", "", " x "});
    CHECK(table.column("b,c") == 1);
}

TEST_CASE("CRLF line ends, a byte-order mark, a last line without its line end") {
    const auto table = parse_csv("\xEF\xBB\xBFid,text\r\n1,\"a\r\nb\"\r\n2,c", "in.csv");
    CHECK(table.header == Fields{"id", "text"});
    REQUIRE(table.rows.size() == 2);
    CHECK(table.rows[0].fields == Fields{"1", "a\r\nb"});
    CHECK(table.rows[1].fields == Fields{"2", "c"});
    CHECK(table.rows[1].line == 4);
    CHECK(table.column("id") == 0);  // the BOM is not part of the first name
}

TEST_CASE("a lone CR outside quotes is content, not a line end") {
    const auto table = parse_csv("a,b\nx\ry,z\n", "in.csv");
    REQUIRE(table.rows.size() == 1);
    CHECK(table.rows[0].fields == Fields{"x\ry", "z"});
}

TEST_CASE("empty lines at the end are ignored; one in the middle is an error for many columns") {
    const auto table = parse_csv("a,b\n1,2\n\n\r\n\n", "in.csv");
    CHECK(table.rows.size() == 1);
    CHECK(parse_error("a,b\n1,2\n\n3,4\n") ==
          "in.csv:3: the line is empty; the header has 2 fields");
    CHECK(parse_error("a,b\n1,2\n\"\"\n3,4\n") ==
          "in.csv:3: the record has 1 field; the header has 2 fields");
    const auto single_column = parse_csv("a\n1\n\n2\n", "in.csv");
    CHECK(single_column.rows.size() == 3);
    CHECK(single_column.rows[1].fields == Fields{""});
}

TEST_CASE("a header with no rows is a table with no rows") {
    CHECK(parse_csv("a,b,c\n", "in.csv").rows.empty());
    CHECK(parse_csv("a,b,c", "in.csv").rows.empty());
    CHECK(parse_csv(byte_order_mark + "a,b,c\r\n\r\n", "in.csv").rows.empty());
}

TEST_CASE("an empty file is an error") {
    const std::string expected = "in.csv: the file is empty; expected a header row";
    CHECK(parse_error("") == expected);
    CHECK(parse_error("\xEF\xBB\xBF") == expected);
    CHECK(parse_error("\n\n") == expected);
    CHECK(parse_error("\r\n") == expected);
}

TEST_CASE("an unclosed quote names the line where the field opened") {
    CHECK(parse_error("a,b\n1,2\n3,\"never\nclosed\n4,5\n") ==
          "in.csv:3: a quoted field opened on this line is never closed");
    CHECK(parse_error("\"a") == "in.csv:1: a quoted field opened on this line is never closed");
}

TEST_CASE("a record with the wrong number of fields names its line") {
    CHECK(parse_error("a,b,c\n1,2,3\n1,2\n") ==
          "in.csv:3: the record has 2 fields; the header has 3 fields");
    CHECK(parse_error("a,b\n1,2\n\"x\ny\",2,3\n") ==
          "in.csv:3: the record has 3 fields; the header has 2 fields");
    CHECK(parse_error("a,b\n1\n") == "in.csv:2: the record has 1 field; the header has 2 fields");
    CHECK(parse_error("a,b\n1,2,\n") ==
          "in.csv:2: the record has 3 fields; the header has 2 fields");
}

TEST_CASE("stray quotes are rejected: inside an unquoted field, or after a closing quote") {
    CHECK(parse_error("a,b\n1,say \"hi\"\n") ==
          "in.csv:2: a '\"' inside an unquoted field (quote the whole field and double the quote)");
    CHECK(parse_error("a,b\n1,\"x\"y\n") ==
          "in.csv:2: unexpected character after a closing quote (a '\"' inside a quoted field "
          "must be doubled)");
    CHECK(parse_error("a,b\n1, \"x\"\n").starts_with("in.csv:2: a '\"' inside an unquoted field"));
}

TEST_CASE("invalid UTF-8 names the line of the first bad byte") {
    CHECK(parse_error("a,b\n1,ok\n2,caf\xE9\n3,\xFF\n") ==
          "in.csv:3: invalid UTF-8 at byte offset 14");
    CHECK(parse_error(byte_order_mark + "a,b\n1,\x80\n") ==
          "in.csv:2: invalid UTF-8 at byte offset 9");  // counted from the file's first byte
    CHECK(parse_error("a,b\n1,\"multi\nline \xC0\xAF\"\n").starts_with("in.csv:3: invalid UTF-8"));
    CHECK(parse_error("a,\xED\xA0\x80\n").starts_with("in.csv:1: invalid UTF-8"));
}

TEST_CASE("a record longer than max_record_bytes names the line where it started") {
    CsvOptions options;
    options.max_record_bytes = 16;
    CHECK(parse_csv("a,b\n123456,789012345\n", "in.csv", options).rows.size() == 1);  // 16 bytes
    CHECK(parse_error("a,b\n1,2\n123456,78901234567\n", options) ==
          "in.csv:3: the record is longer than 16 bytes (CsvOptions::max_record_bytes)");
    CHECK(parse_error("a,b\n1,2\n3,\"4\n5678901234567890\"\n", options) ==
          "in.csv:3: the record is longer than 16 bytes (CsvOptions::max_record_bytes); is a "
          "quoted field left unclosed?");

    // The default limit is 1 MiB.
    CHECK(CsvOptions{}.max_record_bytes == 1024 * 1024);
    const std::string huge = "a,b\n1," + std::string(1024 * 1024, 'x') + "\n";
    CHECK(parse_error(huge).starts_with("in.csv:2: the record is longer than 1048576 bytes"));
}

TEST_CASE("another delimiter") {
    CsvOptions options;
    options.delimiter = '\t';
    const auto table = parse_csv("a\tb\n\"x\ty\"\tz,w\n", "in.tsv", options);
    REQUIRE(table.rows.size() == 1);
    CHECK(table.rows[0].fields == Fields{"x\ty", "z,w"});
    options.delimiter = '"';
    CHECK(parse_error("a\n", options) ==
          "in.csv: CsvOptions::delimiter cannot be a quote or a line-end byte");
}

TEST_CASE("read_csv reads a file and names the path in its errors") {
    {
        const TemporaryFile file("\xEF\xBB\xBFid,text\r\n7,\"a, b\"\r\n");
        const auto table = read_csv(file.path());
        CHECK(table.source_name == file.path().string());
        REQUIRE(table.rows.size() == 1);
        CHECK(table.rows[0].fields == Fields{"7", "a, b"});
    }
    {
        const TemporaryFile file("id,text\n1,2\n3\n");
        CHECK_THROWS_WITH_AS(
            read_csv(file.path()),
            (file.path().string() + ":3: the record has 1 field; the header has 2 fields").c_str(),
            strata::Error);
    }
    {
        const TemporaryFile file("id,text\n");
        CHECK(read_csv(file.path()).rows.empty());
    }
    {
        const TemporaryFile file("");
        CHECK_THROWS_WITH_AS(
            read_csv(file.path()),
            (file.path().string() + ": the file is empty; expected a header row").c_str(),
            strata::Error);
    }
    const auto missing =
        std::filesystem::temp_directory_path() / "strata_test_csv_no_such_file.csv";
    CHECK_THROWS_WITH_AS(read_csv(missing), (missing.string() + ": no such file").c_str(),
                         strata::Error);
    const auto directory = std::filesystem::temp_directory_path();
    CHECK_THROWS_WITH_AS(read_csv(directory),
                         (directory.string() + ": is a directory, not a CSV file").c_str(),
                         strata::Error);
}

TEST_CASE("the real tweet data: train.csv and test.csv") {
    const std::filesystem::path folder = STRATA_SHARED_DIR "/data/tweet_sentiment";
    struct Expected {
        const char* file;
        std::size_t rows;
        std::map<std::string, std::size_t> per_label;
    };
    const Expected expected_files[] = {
        {"train.csv", 27480, {{"negative", 7781}, {"neutral", 11117}, {"positive", 8582}}},
        {"test.csv", 3534, {{"negative", 1001}, {"neutral", 1430}, {"positive", 1103}}},
    };
    for (const auto& expected : expected_files) {
        INFO(expected.file);
        const auto table = read_csv(folder / expected.file);
        CHECK(table.header == Fields{"textID", "text", "sentiment"});
        CHECK(table.rows.size() == expected.rows);
        const std::size_t sentiment = table.column("sentiment");
        std::map<std::string, std::size_t> per_label;
        for (const auto& row : table.rows) ++per_label[row.fields[sentiment]];
        CHECK(per_label == expected.per_label);
        CHECK(table.rows.front().line == 2);
        CHECK(table.rows.back().line == expected.rows + 1);  // no multi-line records
    }
}

// Records the answers the black-box tests get, for the OpenAPI conformance check (tests/openapi/conformance.py):
// with $FLASHTIX_TEST_RECORD_DIR set, one JSON line per answer in <dir>/<test binary>-<pid>.jsonl.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flashtix::test {

// Answers of one kind (method, path shape, status, problem code) recorded at most: the first few of a kind
// say what the kind looks like, so a load test's hundred thousand sold-out answers cost a few lines.
inline constexpr int kMaxRecordsPerKind = 20;
// Lines one test process writes at most, and bytes: past either, recording stops and a last line says so.
inline constexpr std::size_t kMaxRecords = 20'000;
inline constexpr std::size_t kMaxRecordBytes = 64ull * 1024 * 1024;
// A larger body is recorded by its size only, and is not checked.
inline constexpr std::size_t kMaxRecordedBodyBytes = 1024 * 1024;

// Records one answer (a request that failed in transport has none) when recording is on; otherwise it only
// reads a flag. Safe to call from several threads at once.
void record_answer(std::string_view method, std::string_view target, int status,
                   const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body);

}  // namespace flashtix::test

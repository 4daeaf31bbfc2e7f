// Hand-written loops doing a Nexmark query's work over the generator's events, without the
// engine: the same-run baseline bench/nexmark.sh compares the queries with.
#pragma once

#include <cstdint>
#include <string>

namespace lightflus::nexmark {

/// Generates events 0 .. n-1 in one thread and runs `query` (q0, q1, q2, q3, q5) on them with
/// plain loops and hash maps; returns the number of result rows. Throws ConfigError for a
/// query without a baseline.
std::uint64_t runBaseline(const std::string& query, std::uint64_t n);

}  // namespace lightflus::nexmark

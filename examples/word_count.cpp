// Word count: reads text lines from FILE (or stdin) and, at the end of the input, prints each
// distinct word and its count as "word count", one per line.
//
//     build/bin/word_count book.txt [--parallelism N]
//     cat book.txt | build/bin/word_count
#include <cctype>
#include <cstdlib>
#include <iostream>
#include <string>

#include "lightflus/lightflus.hpp"

using namespace lightflus;

int main(int argc, char** argv) {
  std::string path = "-";
  int parallelism = 1;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if ((arg == "--parallelism" || arg == "-p") && i + 1 < argc) {
      parallelism = std::atoi(argv[++i]);
    } else if (arg == "--help" || arg == "-h") {
      std::cout << "usage: word_count [FILE] [--parallelism N]\n"
                   "Counts the words of FILE (or stdin) and prints 'word count' lines.\n";
      return 0;
    } else {
      path = arg;
    }
  }
  try {
    ExecutionContext ctx("word-count");
    ctx.parallelism(parallelism);
    auto lines = path == "-" ? readStdin(ctx) : readTextFile(ctx, path);
    lines
        .flatMap<std::string>([](const std::string& line, Collector<std::string>& out) {
          std::size_t i = 0, n = line.size();
          while (i < n) {
            while (i < n && !std::isalnum(static_cast<unsigned char>(line[i]))) ++i;
            std::size_t start = i;
            while (i < n && std::isalnum(static_cast<unsigned char>(line[i]))) ++i;
            if (i > start) {
              std::string word = line.substr(start, i - start);
              for (auto& c : word)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
              out.collect(std::move(word));
            }
          }
        })
        .name("split")
        .keyBy([](const std::string& word) -> const std::string& { return word; })
        .window(GlobalWindows::create())
        .aggregate(Count{},
                   [](const std::string& word, const GlobalWindow&, std::int64_t n) {
                     return std::pair<std::string, std::int64_t>(word, n);
                   })
        .name("count")
        .print([](std::string& out, const std::pair<std::string, std::int64_t>& wc) {
          out += wc.first;
          out += ' ';
          out += std::to_string(wc.second);
        })
        .parallelism(1);
    ctx.execute();
  } catch (const Error& e) {
    std::cerr << "word_count: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

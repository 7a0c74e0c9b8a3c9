// tailor: the command-line tool. `tailor <command> [options]`; `tailor <command> --help`.
//
// Exit codes: 0 success, 1 data or I/O error (the message names file:line and column), 2 usage
// error (unknown command or option, bad option value).
#include <cstring>
#include <exception>
#include <iostream>
#include <string>

#include "cli.hpp"
#include "commands.hpp"
#include "tailor/core/error.hpp"
#include "tailor/version.hpp"

namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(int, char**);
};

const Command kCommands[] = {
    {"stats", "interaction matrix statistics and rejected-row report of an events file",
     tailor::cli::cmd_stats},
    {"fit", "train the Recommender on an events file and save it as a model file (--out)",
     tailor::cli::cmd_fit},
    {"recommend", "top-k recommendations for every user (or a list of users) as CSV",
     tailor::cli::cmd_recommend},
    {"similar", "items similar to one item, for its product page", tailor::cli::cmd_similar},
    {"bought-together", "items most often bought in the same basket as one item",
     tailor::cli::cmd_bought_together},
    {"trending", "items trending now, optionally within a category", tailor::cli::cmd_trending},
    {"inspect", "check a model file and print its sections, counts and options",
     tailor::cli::cmd_inspect},
    {"config", "print every Recommender option as JSON (defaults, or a checked --config file)",
     tailor::cli::cmd_config},
    {"split", "split an events file into train and test files (stratified, temporal, leave-last-k)",
     tailor::cli::cmd_split},
    {"evaluate", "compare the Recommender, ALS, item-kNN and popularity on a train/test pair",
     tailor::cli::cmd_evaluate},
    {"tune", "hyperparameter search (grid, random, bayes) on a validation split of --train",
     tailor::cli::cmd_tune},
    {"serve", "the Recommender behind an HTTP/JSON API with metrics and a dashboard",
     tailor::cli::cmd_serve},
    {"experiment", "A/B test report (won/lost/inconclusive and why) from exposures and events",
     tailor::cli::cmd_experiment},
};

void print_usage(std::ostream& out) {
  out << "usage: tailor <command> [options]\n\ncommands:\n";
  for (const auto& c : kCommands) {
    std::string name = c.name;
    name.resize(16, ' ');
    out << "  " << name << c.summary << "\n";
  }
  out << "\n`tailor <command> --help` lists a command's options. Exit codes: 0 ok, 1 data error,\n"
         "2 usage error.\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "tailor: error: no command given (see 'tailor --help')\n";
    return 2;
  }
  const std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    print_usage(std::cout);
    return 0;
  }
  if (command == "--version") {
    std::cout << "tailor " << TAILOR_VERSION_MAJOR << "." << TAILOR_VERSION_MINOR << "."
              << TAILOR_VERSION_PATCH << "\n";
    return 0;
  }
  for (const auto& c : kCommands) {
    if (command != c.name) continue;
    try {
      return c.run(argc, argv);
    } catch (const tailor::cli::HelpShown&) {
      return 0;
    } catch (const tailor::cli::UsageError& e) {
      std::cerr << "tailor: error: " << e.what() << " (see 'tailor " << c.name << " --help')\n";
      return 2;
    } catch (const tailor::Error& e) {
      std::cerr << "tailor: error: " << e.what() << "\n";
      return 1;
    } catch (const std::exception& e) {
      std::cerr << "tailor: error: " << e.what() << "\n";
      return 1;
    }
  }
  std::cerr << "tailor: error: unknown command '" << command << "' (see 'tailor --help')\n";
  return 2;
}

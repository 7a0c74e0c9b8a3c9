// tailor CLI: the small argument parser, data loading and output helpers shared by the subcommands.
//
// Not part of libtailor: compiled only into the `tailor` executable. Every piece here is
// single-threaded (not thread-safe) and meant for one command run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tailor/models/als.hpp"
#include "tailor/data/catalog.hpp"
#include "tailor/data/event.hpp"
#include "tailor/data/interaction_matrix.hpp"
#include "tailor/io/input.hpp"
#include "tailor/serving/recommender.hpp"

namespace tailor::cli {

/// A command-line mistake: printed as one line, exit code 2.
class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& message) : std::runtime_error(message) {}
};

/// Thrown by Args::parse when --help was given; the help text has been printed.
struct HelpShown {};

/// One option of a subcommand. An empty value_name makes it a flag (no value).
struct OptionSpec {
  std::string name;        ///< without the leading "--"
  std::string value_name;  ///< e.g. "FILE"; empty for flags
  std::string help;
  std::string default_value;  ///< shown in help; get() returns it when the option is absent
  bool required = false;
};

/// A subcommand's name, one-line summary and options (used for parsing and for --help).
struct CommandSpec {
  std::string name;
  std::string summary;
  std::string details;  ///< extra paragraph printed by --help
  std::vector<OptionSpec> options;
};

/// Parsed options of one subcommand. Not thread-safe.
class Args {
 public:
  /// Parses argv[first..argc) against `spec`: "--name value", "--name=value", flags "--name".
  /// Throws UsageError for unknown options, missing values, positional arguments, a repeated
  /// option or a missing required option; prints help and throws HelpShown for --help / -h.
  static Args parse(const CommandSpec& spec, int argc, char** argv, int first);

  bool has(const std::string& name) const { return values_.count(name) != 0; }
  bool flag(const std::string& name) const { return has(name); }
  /// The value, else the spec's default (empty when none).
  std::string get(const std::string& name) const;
  /// Typed getters; throw UsageError naming the option and the bad text.
  double get_double(const std::string& name) const;
  std::int64_t get_int(const std::string& name) const;
  std::size_t get_size(const std::string& name) const;  ///< >= 0
  std::uint64_t get_u64(const std::string& name) const;

 private:
  const CommandSpec* spec_ = nullptr;
  std::map<std::string, std::string> values_;
};

/// Prints the --help text of `spec`.
void print_help(const CommandSpec& spec, std::ostream& out);

// ---- options shared by several commands ----------------------------------------------------------

/// --format, --lenient, --default-type, --delimiter, --user-col, --item-col...
std::vector<OptionSpec> input_options();
/// --factors, --iterations, --regularization, --alpha, --transform, --threads, --seed...
std::vector<OptionSpec> model_options();
/// --quiet
OptionSpec quiet_option();

/// Appends groups of options to a spec.
void add_options(CommandSpec& spec, const std::vector<OptionSpec>& options);

// ---- loading --------------------------------------------------------------------------------------

/// Events of one input file plus how they were read.
struct LoadedEvents {
  std::vector<Event> events;
  ReadReport report;
  std::vector<std::string> columns;  ///< header columns (CSV) or keys of the first record (JSONL)
};

/// Reads an events file with the input options of `args` (CSV or JSON Lines by extension, or
/// --format; gzip transparent). Timestamp, event type and value columns are used when present.
LoadedEvents load_events(const std::string& path, const Args& args);

/// The interaction-matrix options of the model options (--transform, --alpha, --half-life...).
InteractionMatrixOptions matrix_options(const Args& args, const std::vector<Event>& events);

/// ALS options from the model options (defaults documented in model_options()).
ALSOptions als_options(const Args& args);

/// Reads a catalog file (CSV or JSON Lines by extension) with the input policy of `args`.
Catalog load_catalog(const std::string& path, const Args& args, ReadReport* report = nullptr);

/// A matrix over the events of `events`, built with the index spaces of `reference` (events of
/// unknown users or items are dropped; their (user, item) pairs are counted in *dropped_pairs).
InteractionMatrix matrix_in_index_space(const std::vector<Event>& events,
                                        const InteractionMatrix& reference,
                                        std::size_t* dropped_pairs);

// ---- output ---------------------------------------------------------------------------------------

/// `value` quoted per RFC 4180 when it contains a comma, quote, CR or LF (else unchanged).
std::string csv_field(const std::string& value);

/// A score printed compactly ("%.6g").
std::string format_score(double score);

/// An output file stream ("-" = stdout). Throws Error(io_error) when it cannot be opened.
class Output {
 public:
  explicit Output(const std::string& path);
  std::ostream& stream();
  /// Flushes and throws Error(io_error) if any write failed.
  void close();

 private:
  std::string path_;
  std::unique_ptr<std::ostream> file_;
};

/// Progress of a long step on stderr: a redrawn bar when stderr is a terminal, plain lines
/// otherwise, nothing with --quiet.
class Progress {
 public:
  explicit Progress(bool quiet);
  /// A one-line note ("reading events.csv...").
  void note(const std::string& text) const;
  /// Step `done` of `total` of the task `label`, with an optional suffix ("loss 1.2e5").
  void step(const std::string& label, std::size_t done, std::size_t total,
            const std::string& suffix = "") const;
  bool quiet() const { return quiet_; }

 private:
  bool quiet_;
  bool tty_;
};

/// Trains ALS on `confidences` showing one progress step per iteration; appends every
/// iteration's progress to *log when given.
ALSFactorizer train_als(const SparseMatrix& confidences, const ALSOptions& options,
                        const Progress& progress, std::vector<ALSProgress>* log = nullptr);

/// load_events() with a progress note, and a note on the rows --lenient skipped.
LoadedEvents read_events_noted(const std::string& path, const Args& args, const Progress& progress);

/// Loads --train and builds its matrix with the model options, with progress notes.
struct TrainingData {
  LoadedEvents loaded;
  InteractionMatrix matrix;
};
TrainingData load_training(const std::string& path, const Args& args, const Progress& progress);

// ---- the Recommender (recommender_commands.cpp) ---------------------------------------------------

/// --model, --train, --catalog, --config: where a command's Recommender comes from.
std::vector<OptionSpec> recommender_source_options();

/// Applies the model options given on the command line (--factors, --alpha, --half-life...; not
/// their defaults) to `options`, then validates them (UsageError naming the problem). --half-life
/// takes the newest of `events` as its reference time.
void apply_model_flags(const Args& args, const std::vector<Event>& events, RecommenderOptions& options);

/// The Recommender of --model (loaded with the options stored in the file) or of --train (events,
/// --catalog, options from --config, then the model options given on the command line; trained
/// once). Exactly one of --model and --train must be given. `prepare`, when given, runs on the
/// Recommender before any event enters it (after load(), or before the --train events are
/// ingested): `tailor serve` opens its event log there.
std::unique_ptr<Recommender> open_recommender(
    const Args& args, const Progress& progress,
    const std::function<void(Recommender&)>& prepare = {});

/// The hybrid paths of fit, recommend and similar (their specs are in commands.cpp).
int hybrid_fit(const Args& args);
int hybrid_recommend(const Args& args);
int hybrid_similar(const Args& args);

/// Seconds since an arbitrary start (steady clock).
double now_seconds();

/// "events.csv" -> true for .jsonl / .ndjson / .json (also with .gz) or --format jsonl.
bool is_jsonl(const std::string& path, const std::string& format_option);

}  // namespace tailor::cli
